/**
 * What the runtime publishes: link state changes, received messages and receipts, errors.
 * The same schemas feed the event log and the IPC event stream.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { GroupId, MessageId, Uid } from "./Ids.js"

/**
 * @since 2.0.0
 * @category models
 */
export const LinkState = Schema.Literal("idle", "dialing", "handshaking", "connected", "backoff")
export type LinkState = typeof LinkState.Type

/**
 * Everything worth knowing about one contact's link, in one value.
 *
 * @since 2.0.0
 * @category models
 */
export class LinkHealth extends Schema.Class<LinkHealth>("LinkHealth")({
  contact: Uid,
  state: LinkState,
  protocol: Schema.optional(Schema.Literal("v2", "v1")),
  direction: Schema.optional(Schema.Literal("outbound", "inbound")),
  remoteAddress: Schema.optional(Schema.String),
  connectedSince: Schema.optional(Schema.Number),
  lastSeen: Schema.optional(Schema.Number),
  rttMs: Schema.optional(Schema.Number),
  lastError: Schema.optional(Schema.String),
  retryCount: Schema.Number,
  nextRetryAt: Schema.optional(Schema.Number),
  queueDepth: Schema.Number,
  restarts: Schema.Number
}) {}

/**
 * @since 2.0.0
 * @category events
 */
export const LinkStateChanged = Schema.TaggedStruct("LinkStateChanged", {
  contact: Uid,
  state: LinkState,
  previous: LinkState,
  at: Schema.Number,
  detail: Schema.optional(Schema.String)
})
export type LinkStateChanged = typeof LinkStateChanged.Type

/**
 * @since 2.0.0
 * @category events
 */
export const MessageReceived = Schema.TaggedStruct("MessageReceived", {
  contact: Uid,
  id: MessageId,
  body: Schema.String,
  sentAt: Schema.Number,
  receivedAt: Schema.Number,
  groupId: Schema.optional(GroupId)
})
export type MessageReceived = typeof MessageReceived.Type

/**
 * The peer stored (delivered) or read these messages.
 *
 * @since 2.0.0
 * @category events
 */
export const ReceiptReceived = Schema.TaggedStruct("ReceiptReceived", {
  contact: Uid,
  kind: Schema.Literal("delivered", "read"),
  ids: Schema.Array(MessageId),
  at: Schema.Number
})
export type ReceiptReceived = typeof ReceiptReceived.Type

/**
 * @since 2.0.0
 * @category events
 */
export const TypingChanged = Schema.TaggedStruct("TypingChanged", {
  contact: Uid,
  active: Schema.Boolean,
  at: Schema.Number
})
export type TypingChanged = typeof TypingChanged.Type

/**
 * A connection that failed before it belonged to a contact, or an error on a contact's link.
 *
 * @since 2.0.0
 * @category events
 */
export const LinkError = Schema.TaggedStruct("LinkError", {
  contact: Schema.optional(Uid),
  remoteAddress: Schema.optional(Schema.String),
  error: Schema.String,
  at: Schema.Number
})
export type LinkError = typeof LinkError.Type

/**
 * @since 2.0.0
 * @category events
 */
/**
 * Queued messages whose expiry passed before they went on the wire; they will not be sent.
 *
 * @since 2.0.0
 * @category events
 */
export const MessageExpired = Schema.TaggedStruct("MessageExpired", {
  contact: Uid,
  ids: Schema.Array(MessageId),
  at: Schema.Number
})
export type MessageExpired = typeof MessageExpired.Type

export const RuntimeEvent = Schema.Union(
  LinkStateChanged,
  MessageReceived,
  ReceiptReceived,
  MessageExpired,
  TypingChanged,
  LinkError
)
export type RuntimeEvent = typeof RuntimeEvent.Type

/**
 * An event as the log keeps it: its cursor (strictly increasing) and when it was recorded.
 *
 * @since 2.0.0
 * @category events
 */
export const EventEnvelope = Schema.Struct({
  cursor: Schema.Number,
  at: Schema.Number,
  event: RuntimeEvent
})
export type EventEnvelope = typeof EventEnvelope.Type
