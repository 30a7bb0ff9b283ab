/**
 * Outgoing messages per contact, kept until the peer acknowledges them. A link takes ready
 * messages (they become in flight); an ack removes them; a link that goes down puts its
 * in-flight messages back in front, in order, for the next link.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer, Queue } from "effect"
import { MailboxFull } from "../domain/Errors.js"
import type { MessageId, Uid } from "../domain/Ids.js"
import type { Deliverable } from "../domain/Messages.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface OutboxShape {
  readonly enqueue: (contact: Uid, message: Deliverable) => Effect.Effect<void, MailboxFull>
  /** Waits for at least one ready message and takes up to `max`, oldest first. */
  readonly take: (contact: Uid, max: number) => Effect.Effect<ReadonlyArray<Deliverable>>
  /** Removes acknowledged messages; returns the ids that were pending. */
  readonly ack: (contact: Uid, ids: ReadonlyArray<MessageId>) => Effect.Effect<ReadonlyArray<MessageId>>
  /** Everything in flight becomes ready again, ahead of newer messages. */
  readonly requeue: (contact: Uid) => Effect.Effect<void>
  readonly depth: (contact: Uid) => Effect.Effect<number>
  readonly clear: (contact: Uid) => Effect.Effect<void>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Outbox extends Context.Tag("jarvis/Outbox")<Outbox, OutboxShape>() {}

interface Box {
  /** Ready messages are `ready[head..]`; the consumed prefix is dropped once it is large. */
  ready: Array<Deliverable>
  head: number
  readonly inflight: Map<MessageId, Deliverable>
  readonly doorbell: Queue.Queue<void>
}

/**
 * In memory, bounded per contact (`MailboxFull` past `capacity`).
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = (capacity: number) =>
  Effect.sync(() => {
    const boxes = new Map<Uid, Box>()
    const box = (contact: Uid): Effect.Effect<Box> =>
      Effect.suspend(() => {
        const existing = boxes.get(contact)
        if (existing !== undefined) return Effect.succeed(existing)
        return Effect.map(Queue.sliding<void>(1), (doorbell) => {
          const created = boxes.get(contact) ?? { ready: [], head: 0, inflight: new Map(), doorbell }
          boxes.set(contact, created)
          return created
        })
      })
    const readyCount = (b: Box) => b.ready.length - b.head
    const take = (contact: Uid, max: number): Effect.Effect<ReadonlyArray<Deliverable>> =>
      Effect.flatMap(box(contact), (b) => {
        if (readyCount(b) === 0) return Effect.zipRight(Queue.take(b.doorbell), take(contact, max))
        const end = Math.min(b.ready.length, b.head + max)
        const taken = b.ready.slice(b.head, end)
        b.head = end
        if (b.head === b.ready.length) {
          b.ready = []
          b.head = 0
        } else if (b.head > 4096 && b.head * 2 > b.ready.length) {
          b.ready = b.ready.slice(b.head)
          b.head = 0
        }
        for (const m of taken) b.inflight.set(m.id, m)
        return Effect.succeed(taken)
      })
    const count = (contact: Uid) => {
      const b = boxes.get(contact)
      return b === undefined ? 0 : readyCount(b) + b.inflight.size
    }
    return Outbox.of({
      enqueue: (contact, message) =>
        Effect.flatMap(box(contact), (b) => {
          if (readyCount(b) + b.inflight.size >= capacity) {
            return new MailboxFull({ capacity, detail: `outbox for ${contact}` })
          }
          b.ready.push(message)
          return readyCount(b) === 1 ? Effect.asVoid(Queue.offer(b.doorbell, undefined)) : Effect.void
        }),
      take,
      ack: (contact, ids) =>
        Effect.sync(() => {
          const b = boxes.get(contact)
          return b === undefined ? [] : ids.filter((id) => b.inflight.delete(id))
        }),
      requeue: (contact) =>
        Effect.flatMap(box(contact), (b) => {
          if (b.inflight.size === 0) return Effect.void
          b.ready = [...b.inflight.values(), ...b.ready.slice(b.head)]
          b.head = 0
          b.inflight.clear()
          return Effect.asVoid(Queue.offer(b.doorbell, undefined))
        }),
      depth: (contact) => Effect.sync(() => count(contact)),
      clear: (contact) => Effect.sync(() => void boxes.delete(contact))
    })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory = (capacity: number): Layer.Layer<Outbox> => Layer.effect(Outbox, makeMemory(capacity))
