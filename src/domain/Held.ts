/**
 * Constructors for the values the runtime's queues hold in bulk: outgoing texts waiting in the
 * outbox for their ack, and the message and receipt events waiting in subscribers' windows. They
 * are values of the Schemas' types (`Text`, `MessageReceived`, `ReceiptReceived`), made by class
 * constructors instead of object literals on purpose.
 *
 * V8 watches each object-literal site and, once most objects from it outlive a few young-generation
 * collections (a burst of pipelined messages makes that true for these), allocates every later
 * object from that site directly in the old generation. The young strings such an object points
 * to then survive each scavenge with it and are promoted, although the object itself dies soon
 * after: after the benchmark's throughput phases that tripled the bytes promoted per scavenge and
 * cost 1-1.5 µs per round trip, for as long as the process lived. Constructed objects are not
 * pretenured.
 *
 * @since 2.0.0
 */
import type { MessageReceived, ReceiptReceived } from "./Events.js"
import type { MessageId, Uid } from "./Ids.js"
import type { Text } from "./Messages.js"

// Fields are declared in the literals' order (a parameter property would come after `_tag`), so
// the objects have the same key order (JSON) and hidden class as the literals.

class HeldText implements Text {
  readonly _tag = "Text" as const
  readonly id: MessageId
  readonly body: string
  readonly sentAt: number
  constructor(id: MessageId, body: string, sentAt: number) {
    this.id = id
    this.body = body
    this.sentAt = sentAt
  }
}

class HeldMessageReceived implements MessageReceived {
  readonly _tag = "MessageReceived" as const
  readonly contact: Uid
  readonly id: MessageId
  readonly body: string
  readonly sentAt: number
  readonly receivedAt: number
  constructor(contact: Uid, id: MessageId, body: string, sentAt: number, receivedAt: number) {
    this.contact = contact
    this.id = id
    this.body = body
    this.sentAt = sentAt
    this.receivedAt = receivedAt
  }
}

class HeldReceipt implements ReceiptReceived {
  readonly _tag = "ReceiptReceived" as const
  readonly contact: Uid
  readonly kind: ReceiptReceived["kind"]
  readonly ids: ReadonlyArray<MessageId>
  readonly at: number
  constructor(contact: Uid, kind: ReceiptReceived["kind"], ids: ReadonlyArray<MessageId>, at: number) {
    this.contact = contact
    this.kind = kind
    this.ids = ids
    this.at = at
  }
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const text = (id: MessageId, body: string, sentAt: number): Text => new HeldText(id, body, sentAt)

/**
 * A direct message's event (a group message's carries its `groupId` and is made as a literal).
 *
 * @since 2.0.0
 * @category constructors
 */
export const messageReceived = (
  contact: Uid,
  id: MessageId,
  body: string,
  sentAt: number,
  receivedAt: number
): MessageReceived => new HeldMessageReceived(contact, id, body, sentAt, receivedAt)

/**
 * @since 2.0.0
 * @category constructors
 */
export const receiptReceived = (
  contact: Uid,
  kind: ReceiptReceived["kind"],
  ids: ReadonlyArray<MessageId>,
  at: number
): ReceiptReceived => new HeldReceipt(contact, kind, ids, at)
