/**
 * Where a link hands what arrives: messages (which it acknowledges once `deliver` returns, so
 * `deliver` must have stored them) and the peer's receipts.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer } from "effect"
import type { Contact } from "../domain/Contact.js"
import type { MessageReceived, RuntimeEvent } from "../domain/Events.js"
import type { MessageId, Uid } from "../domain/Ids.js"
import type { Deliverable } from "../domain/Messages.js"
import { Events } from "./Events.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface InboxShape {
  /** Stores and announces messages; returns the ids to acknowledge (duplicates included). */
  readonly deliver: (
    contact: Contact,
    messages: ReadonlyArray<Deliverable>,
    receivedAt: number
  ) => Effect.Effect<ReadonlyArray<MessageId>>
  readonly receipt: (
    contact: Contact,
    kind: "delivered" | "read",
    ids: ReadonlyArray<MessageId>,
    at: number
  ) => Effect.Effect<void>
  /**
   * `deliver` as a plain call, where delivering completes synchronously (in memory). A link calls
   * it instead of running `deliver`, so a wrapper that changes `deliver` must drop or wrap it.
   */
  readonly unsafeDeliver?:
    | ((contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) => ReadonlyArray<MessageId>)
    | undefined
}

/**
 * @since 2.0.0
 * @category services
 */
export class Inbox extends Context.Tag("jarvis/Inbox")<Inbox, InboxShape>() {}

/**
 * The event announcing a received message.
 *
 * @since 2.0.0
 * @category constructors
 */
export const receivedEvent = (contact: Uid, message: Deliverable, receivedAt: number): MessageReceived => ({
  _tag: "MessageReceived",
  contact,
  id: message.id,
  body: message.body,
  sentAt: message.sentAt,
  receivedAt,
  ...(message._tag === "GroupText" ? { groupId: message.groupId } : {})
})

const RECENT_IDS = 10_000

/**
 * Publishes events only, deduplicating the last 10,000 ids per contact (no storage).
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = Effect.gen(function*() {
  const events = yield* Events
  const recent = new Map<Uid, { readonly ids: Set<MessageId>; readonly order: Array<MessageId>; next: number }>()
  const seen = (contact: Uid, id: MessageId) => {
    let window = recent.get(contact)
    if (window === undefined) recent.set(contact, window = { ids: new Set(), order: [], next: 0 })
    if (window.ids.has(id)) return true
    if (window.order.length < RECENT_IDS) {
      window.order.push(id)
    } else {
      window.ids.delete(window.order[window.next]!)
      window.order[window.next] = id
      window.next = (window.next + 1) % RECENT_IDS
    }
    window.ids.add(id)
    return false
  }
  const fresh = (contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) => {
    const events: Array<RuntimeEvent> = []
    for (const m of messages) if (!seen(contact.uid, m.id)) events.push(receivedEvent(contact.uid, m, receivedAt))
    return events
  }
  const ids = (messages: ReadonlyArray<Deliverable>) => messages.map((m) => m.id)
  const publishNow = events.unsafePublishAll
  return Inbox.of({
    deliver: (contact, messages, receivedAt) =>
      Effect.suspend(() => Effect.as(events.publishAll(fresh(contact, messages, receivedAt)), ids(messages))),
    unsafeDeliver: publishNow === undefined ? undefined : (contact, messages, receivedAt) => {
      publishNow(fresh(contact, messages, receivedAt))
      return ids(messages)
    },
    receipt: (contact, kind, ids, at) =>
      ids.length === 0 ? Effect.void : events.publish({ _tag: "ReceiptReceived", contact: contact.uid, kind, ids, at })
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Inbox, never, Events> = Layer.effect(Inbox, makeMemory)
