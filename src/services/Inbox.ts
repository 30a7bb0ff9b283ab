/**
 * Where a link hands what arrives: messages (which it acknowledges once `deliver` returns, so
 * `deliver` must have stored them) and the peer's receipts.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer } from "effect"
import type { Contact } from "../domain/Contact.js"
import type { MessageReceived, RuntimeEvent } from "../domain/Events.js"
import * as Held from "../domain/Held.js"
import type { MessageId, Uid } from "../domain/Ids.js"
import type { Deliverable } from "../domain/Messages.js"
import { Events } from "./Events.js"
import type { WithUnsafe } from "./internal/unsafe.js"
import { withUnsafe } from "./internal/unsafe.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface InboxShape {
  /**
   * Stores and announces messages; returns the ids to acknowledge (duplicates included). In memory
   * it also runs synchronously (`deliver.unsafe`).
   */
  readonly deliver: WithUnsafe<
    (
      contact: Contact,
      messages: ReadonlyArray<Deliverable>,
      receivedAt: number
    ) => Effect.Effect<ReadonlyArray<MessageId>>,
    (contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) => ReadonlyArray<MessageId>
  >
  readonly receipt: (
    contact: Contact,
    kind: "delivered" | "read",
    ids: ReadonlyArray<MessageId>,
    at: number
  ) => Effect.Effect<void>
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
export const receivedEvent = (contact: Uid, message: Deliverable, receivedAt: number): MessageReceived =>
  message._tag === "GroupText"
    ? {
      _tag: "MessageReceived",
      contact,
      id: message.id,
      body: message.body,
      sentAt: message.sentAt,
      receivedAt,
      groupId: message.groupId
    }
    : Held.messageReceived(contact, message.id, message.body, message.sentAt, receivedAt)

const RECENT_IDS = 10_000

/**
 * The ids seen recently from one contact: at least the last `window` (10,000 by default). Ids that arrive in
 * increasing order (Jarvis makes them from the send time, so almost all do) only join a ring in
 * arrival order, which stays sorted and is binary-searched when an id at or below the highest
 * comes in; the others go to a set of two generations (the older dropped whole when the newer
 * fills up). A new id therefore costs one comparison and one store, and nothing is deleted from
 * a set one by one.
 *
 * @since 2.0.0
 * @category internals
 */
export class RecentIds {
  private readonly ring: Array<MessageId> = []
  private next = 0
  private highest: MessageId | undefined = undefined
  private current = new Set<MessageId>()
  private previous = new Set<MessageId>()

  constructor(private readonly window: number = RECENT_IDS) {}

  /** Records `id`; true if it was already there. */
  seen(id: MessageId): boolean {
    if (this.highest === undefined || id > this.highest) {
      this.highest = id
      if (this.ring.length < this.window) this.ring.push(id)
      else {
        this.ring[this.next] = id
        this.next = (this.next + 1) % this.window
      }
      return false
    }
    if (this.inRing(id) || this.current.has(id) || this.previous.has(id)) return true
    if (this.current.size >= this.window) {
      this.previous = this.current
      this.current = new Set()
    }
    this.current.add(id)
    return false
  }

  /** Binary search of the ring, read from its oldest entry (`next` once it is full). */
  private inRing(id: MessageId): boolean {
    const ring = this.ring
    const n = ring.length
    const start = n < this.window ? 0 : this.next
    let lo = 0
    let hi = n - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const at = ring[(start + mid) % n]!
      if (at === id) return true
      if (at < id) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }
}

/**
 * Publishes events only, deduplicating at least the last 10,000 ids per contact (no storage).
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = Effect.gen(function*() {
  const events = yield* Events
  const recent = new Map<Uid, RecentIds>()
  const seen = (contact: Uid, id: MessageId) => {
    let window = recent.get(contact)
    if (window === undefined) recent.set(contact, window = new RecentIds())
    return window.seen(id)
  }
  const fresh = (contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) => {
    const events: Array<RuntimeEvent> = []
    for (const m of messages) if (!seen(contact.uid, m.id)) events.push(receivedEvent(contact.uid, m, receivedAt))
    return events
  }
  const ids = (messages: ReadonlyArray<Deliverable>) => messages.map((m) => m.id)
  const publishNow = events.publishAll.unsafe
  return Inbox.of({
    deliver: withUnsafe(
      (contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) =>
        Effect.suspend(() => Effect.as(events.publishAll(fresh(contact, messages, receivedAt)), ids(messages))),
      publishNow &&
        ((contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) => {
          publishNow(fresh(contact, messages, receivedAt))
          return ids(messages)
        })
    ),
    receipt: (contact, kind, ids, at) =>
      ids.length === 0 ? Effect.void : events.publish({ _tag: "ReceiptReceived", contact: contact.uid, kind, ids, at })
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Inbox, never, Events> = Layer.effect(Inbox, makeMemory)
