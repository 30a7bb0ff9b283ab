/**
 * Where a link hands what arrives: messages (which it acknowledges once `deliver` returns, so
 * `deliver` must have stored them) and the peer's receipts.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer } from "effect"
import type { Contact } from "../domain/Contact.js"
import { MessageReceived, ReceiptReceived } from "../domain/Events.js"
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
}

/**
 * @since 2.0.0
 * @category services
 */
export class Inbox extends Context.Tag("jarvis/Inbox")<Inbox, InboxShape>() {}

const RECENT_IDS = 10_000

/**
 * Publishes events only, deduplicating the last 10,000 ids per contact (no storage).
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = Effect.gen(function*() {
  const events = yield* Events
  const recent = new Map<Uid, Set<MessageId>>()
  const seen = (contact: Uid, id: MessageId) => {
    let ids = recent.get(contact)
    if (ids === undefined) recent.set(contact, ids = new Set())
    if (ids.has(id)) return true
    ids.add(id)
    if (ids.size > RECENT_IDS) ids.delete(ids.values().next().value!)
    return false
  }
  return Inbox.of({
    deliver: (contact, messages, receivedAt) =>
      Effect.as(
        Effect.forEach(
          messages.filter((m) => !seen(contact.uid, m.id)),
          (m) =>
            events.publish(
              new MessageReceived({
                contact: contact.uid,
                id: m.id,
                body: m.body,
                sentAt: m.sentAt,
                receivedAt,
                ...(m._tag === "GroupText" ? { groupId: m.groupId } : {})
              })
            ),
          { discard: true }
        ),
        messages.map((m) => m.id)
      ),
    receipt: (contact, kind, ids, at) =>
      ids.length === 0 ? Effect.void : events.publish(new ReceiptReceived({ contact: contact.uid, kind, ids, at }))
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Inbox, never, Events> = Layer.effect(Inbox, makeMemory)
