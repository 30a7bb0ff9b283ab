/**
 * Application messages carried inside the v2 secure channel (and mapped onto the v1 codec for
 * legacy peers). One closed union; each member has a stable numeric wire id so the encoding
 * stays compact and new members can be added without breaking older peers, who skip ids they
 * do not know.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { GroupId, MessageId, Port, Uid, Username } from "./Ids.js"
import { PublicKeyBytes } from "./Keys.js"

const Seq = Schema.Int.pipe(Schema.nonNegative())
const EpochMillis = Schema.Int.pipe(
  Schema.nonNegative(),
  Schema.annotations({ description: "milliseconds since the Unix epoch" })
)

/**
 * Longest text body, in UTF-16 code units.
 *
 * @since 2.0.0
 * @category constants
 */
export const MAX_BODY_LENGTH = 64 * 1024

const Body = Schema.String.pipe(Schema.maxLength(MAX_BODY_LENGTH))
/**
 * Most message ids one Ack or Read carries.
 *
 * @since 2.0.0
 * @category constants
 */
export const MAX_IDS = 1024

const Ids = Schema.Array(MessageId).pipe(Schema.maxItems(MAX_IDS))

/**
 * First message on every link, in each direction.
 *
 * @since 2.0.0
 * @category messages
 */
export const Hello = Schema.TaggedStruct("Hello", {
  uid: Uid,
  username: Username,
  listenPort: Port,
  agent: Schema.String.pipe(Schema.maxLength(64)),
  features: Schema.Array(Schema.String.pipe(Schema.maxLength(32))).pipe(Schema.maxItems(32))
})
export type Hello = typeof Hello.Type

/**
 * @since 2.0.0
 * @category messages
 */
export const Ping = Schema.TaggedStruct("Ping", { seq: Seq })
export type Ping = typeof Ping.Type

/**
 * @since 2.0.0
 * @category messages
 */
export const Pong = Schema.TaggedStruct("Pong", { seq: Seq })
export type Pong = typeof Pong.Type

/**
 * A direct text message.
 *
 * @since 2.0.0
 * @category messages
 */
export const Text = Schema.TaggedStruct("Text", {
  id: MessageId,
  body: Body,
  sentAt: EpochMillis
})
export type Text = typeof Text.Type

/**
 * Delivery receipt: the receiver stored these messages.
 *
 * @since 2.0.0
 * @category messages
 */
export const Ack = Schema.TaggedStruct("Ack", { ids: Ids })
export type Ack = typeof Ack.Type

/**
 * Read receipt (sent only if the reader enabled them).
 *
 * @since 2.0.0
 * @category messages
 */
export const Read = Schema.TaggedStruct("Read", { ids: Ids })
export type Read = typeof Read.Type

/**
 * @since 2.0.0
 * @category messages
 */
export const Typing = Schema.TaggedStruct("Typing", { active: Schema.Boolean })
export type Typing = typeof Typing.Type

/**
 * A member of a group as one peer describes it to another.
 *
 * @since 2.0.0
 * @category messages
 */
export const GroupMember = Schema.Struct({
  uid: Uid,
  username: Username,
  publicKey: PublicKeyBytes
})

/**
 * @since 2.0.0
 * @category messages
 */
export const GroupInvite = Schema.TaggedStruct("GroupInvite", {
  groupId: GroupId,
  name: Schema.String.pipe(Schema.maxLength(128)),
  members: Schema.Array(GroupMember).pipe(Schema.maxItems(256))
})
export type GroupInvite = typeof GroupInvite.Type

/**
 * A group message, sent pairwise to every member over their direct links.
 *
 * @since 2.0.0
 * @category messages
 */
export const GroupText = Schema.TaggedStruct("GroupText", {
  groupId: GroupId,
  id: MessageId,
  body: Body,
  sentAt: EpochMillis
})
export type GroupText = typeof GroupText.Type

/**
 * @since 2.0.0
 * @category messages
 */
export const GroupLeave = Schema.TaggedStruct("GroupLeave", { groupId: GroupId })
export type GroupLeave = typeof GroupLeave.Type

/**
 * The sender is closing this link on purpose.
 *
 * @since 2.0.0
 * @category messages
 */
export const Bye = Schema.TaggedStruct("Bye", {
  reason: Schema.Literal("shutdown", "duplicate", "removed", "locked")
})
export type Bye = typeof Bye.Type

/**
 * @since 2.0.0
 * @category messages
 */
export const WireMessage = Schema.Union(
  Hello,
  Ping,
  Pong,
  Text,
  Ack,
  Read,
  Typing,
  GroupInvite,
  GroupText,
  GroupLeave,
  Bye
)
export type WireMessage = typeof WireMessage.Type

/**
 * Stable wire ids. Never renumber; append.
 *
 * @since 2.0.0
 * @category constants
 */
export const wireIds = {
  Hello: 1,
  Ping: 2,
  Pong: 3,
  Text: 4,
  Ack: 5,
  Read: 6,
  Typing: 7,
  GroupInvite: 8,
  GroupText: 9,
  GroupLeave: 10,
  Bye: 11
} as const satisfies Record<WireMessage["_tag"], number>

/**
 * Messages that wait in the outbox until the peer acknowledges them.
 *
 * @since 2.0.0
 * @category messages
 */
export type Deliverable = Text | GroupText
