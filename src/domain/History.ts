/**
 * Messages as the history, the outbox and the IPC API show them.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { GroupId, MessageId, Uid } from "./Ids.js"

/**
 * Outgoing: queued (in the outbox), delivered (the peer stored it), read (the peer read it),
 * cancelled, expired. Incoming: received, read.
 *
 * @since 2.0.0
 * @category models
 */
export const MessageStatus = Schema.Literal("queued", "delivered", "read", "cancelled", "expired", "received")
export type MessageStatus = typeof MessageStatus.Type

/**
 * @since 2.0.0
 * @category models
 */
export const HistoryEntry = Schema.Struct({
  cursor: Schema.Number.annotations({ description: "position in the history; page with `before`" }),
  id: MessageId,
  contact: Uid,
  direction: Schema.Literal("in", "out"),
  body: Schema.String,
  sentAt: Schema.Number,
  receivedAt: Schema.optional(Schema.Number),
  deliveredAt: Schema.optional(Schema.Number),
  readAt: Schema.optional(Schema.Number),
  status: MessageStatus,
  groupId: Schema.optional(GroupId)
})
export type HistoryEntry = typeof HistoryEntry.Type

/**
 * A message waiting in the outbox.
 *
 * @since 2.0.0
 * @category models
 */
export const PendingMessage = Schema.Struct({
  id: MessageId,
  contact: Uid,
  state: Schema.Literal("queued", "in-flight"),
  attempts: Schema.Number.annotations({ description: "links it was sent on so far" }),
  queuedAt: Schema.Number,
  expiresAt: Schema.optional(Schema.Number),
  nextRetryAt: Schema.optional(
    Schema.Number.annotations({ description: "when the link will next be tried, if it is down" })
  )
})
export type PendingMessage = typeof PendingMessage.Type

/**
 * @since 2.0.0
 * @category models
 */
export const UnreadCounts = Schema.Struct({
  total: Schema.Number,
  byContact: Schema.Record({ key: Schema.String, value: Schema.Number })
})
export type UnreadCounts = typeof UnreadCounts.Type
