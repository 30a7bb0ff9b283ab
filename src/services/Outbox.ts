/**
 * Outgoing messages per contact, kept until the peer acknowledges them. The link sending to a
 * contact attaches a cursor and takes ready messages synchronously (they become in flight); an
 * ack removes them; a link that goes down puts its in-flight messages back in front, in order.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer } from "effect"
import { MailboxFull } from "../domain/Errors.js"
import type { RuntimeEvent } from "../domain/Events.js"
import * as Held from "../domain/Held.js"
import type { MessageId, Uid } from "../domain/Ids.js"
import type { Deliverable } from "../domain/Messages.js"
import { Events } from "./Events.js"
import type { WithUnsafe } from "./internal/unsafe.js"
import { withUnsafe } from "./internal/unsafe.js"

/**
 * The sending side of one contact's queue, held by its current link.
 *
 * @since 2.0.0
 * @category models
 */
export interface OutboxCursor {
  /**
   * Takes ready messages, oldest first, up to `max` of them and about `maxBytes` of text (always at
   * least one); they stay in flight until acked or requeued.
   */
  readonly take: (max: number, maxBytes: number) => ReadonlyArray<Deliverable>
  /** How many messages are ready now. */
  readonly ready: () => number
  /** Stops the ready notifications. */
  readonly detach: () => void
}

/**
 * @since 2.0.0
 * @category models
 */
export interface OutboxShape {
  /**
   * Queues a message. `expiresAt` (epoch ms): if it is still queued then, it is dropped as expired
   * (kept by the durable store; the in-memory outbox keeps messages until acked or cancelled).
   */
  readonly enqueue: WithUnsafe<
    (contact: Uid, message: Deliverable, expiresAt?: number | undefined) => Effect.Effect<void, MailboxFull>,
    /** In memory (which keeps no expiry): returns the failure instead of failing. */
    (contact: Uid, message: Deliverable, expiresAt?: number | undefined) => MailboxFull | undefined
  >
  /**
   * Attaches the link that sends to `contact`; `onReady` runs (synchronously) whenever messages
   * become ready. A new attachment replaces the previous one.
   */
  readonly attach: (contact: Uid, onReady: () => void) => OutboxCursor
  /**
   * Removes acknowledged messages and announces their delivery (`ReceiptReceived`, atomically with
   * the removal in the durable store); returns the ids that were pending.
   */
  readonly ack: WithUnsafe<
    (contact: Uid, ids: ReadonlyArray<MessageId>, at: number) => Effect.Effect<ReadonlyArray<MessageId>>,
    (contact: Uid, ids: ReadonlyArray<MessageId>, at: number) => void
  >
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

/**
 * One contact's messages: `ready[head..]` waits to be sent, `inflight` waits for an ack.
 *
 * @since 2.0.0
 * @category internals
 */
export class Box {
  ready: Array<Deliverable> = []
  head = 0
  /** In send order; acks arrive in that order too, so the common case pops from the front. */
  inflight: Array<Deliverable | undefined> = []
  inflightHead = 0
  inflightCount = 0
  /** Built only when an ack is not for the oldest message in flight (duplicates, reordering). */
  index: Map<MessageId, number> | undefined = undefined
  onReady: (() => void) | undefined = undefined

  get readyCount(): number {
    return this.ready.length - this.head
  }

  get size(): number {
    return this.readyCount + this.inflightCount
  }

  push(message: Deliverable): void {
    this.ready.push(message)
    if (this.readyCount === 1) this.onReady?.()
  }

  take(max: number, maxBytes = Infinity): ReadonlyArray<Deliverable> {
    if (this.readyCount === 0) return []
    const limit = Math.min(this.ready.length, this.head + max)
    let end = this.head + 1
    let bytes = this.ready[this.head]!.body.length
    while (end < limit && bytes + this.ready[end]!.body.length <= maxBytes) bytes += this.ready[end++]!.body.length
    // Taking everything hands over the array itself.
    const taken = this.head === 0 && end === this.ready.length ? this.ready : this.ready.slice(this.head, end)
    this.head = end
    if (this.head === this.ready.length) {
      this.ready = []
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head)
      this.head = 0
    }
    for (const m of taken) {
      this.index?.set(m.id, this.inflight.length)
      this.inflight.push(m)
    }
    this.inflightCount += taken.length
    return taken
  }

  ack(ids: ReadonlyArray<MessageId>): ReadonlyArray<MessageId> {
    const acked: Array<MessageId> = []
    for (const id of ids) {
      let i = this.inflightHead
      if (this.inflight[i]?.id !== id) {
        if (this.index === undefined) {
          this.index = new Map()
          for (let j = this.inflightHead; j < this.inflight.length; j++) {
            const m = this.inflight[j]
            if (m !== undefined) this.index.set(m.id, j)
          }
        }
        const found = this.index.get(id)
        if (found === undefined) continue
        i = found
      }
      this.index?.delete(id)
      this.inflight[i] = undefined
      this.inflightCount--
      acked.push(id)
      while (this.inflightHead < this.inflight.length && this.inflight[this.inflightHead] === undefined) {
        this.inflightHead++
      }
    }
    if (this.inflightHead === this.inflight.length) {
      this.inflight = []
      this.inflightHead = 0
      this.index = undefined
    } else if (this.inflightHead > 4096 && this.inflightHead * 2 > this.inflight.length) {
      this.inflight = this.inflight.slice(this.inflightHead)
      this.inflightHead = 0
      this.index = undefined
    }
    return acked
  }

  requeue(): void {
    if (this.inflightCount === 0) return
    const back = this.inflight.slice(this.inflightHead).filter((m): m is Deliverable => m !== undefined)
    this.ready = [...back, ...this.ready.slice(this.head)]
    this.head = 0
    this.inflight = []
    this.inflightHead = 0
    this.inflightCount = 0
    this.index = undefined
    this.onReady?.()
  }

  /** Removes a message that is still waiting (not in flight). */
  remove(id: MessageId): boolean {
    return this.removeWhere((message) => message.id === id).length > 0
  }

  /** Removes, in one pass, every waiting message `drop` selects; returns them in queue order. */
  removeWhere(drop: (message: Deliverable) => boolean): ReadonlyArray<Deliverable> {
    const removed: Array<Deliverable> = []
    const kept: Array<Deliverable> = []
    for (let i = this.head; i < this.ready.length; i++) {
      const message = this.ready[i]!
      ;(drop(message) ? removed : kept).push(message)
    }
    if (removed.length > 0) {
      this.ready = kept
      this.head = 0
    }
    return removed
  }

  readyMessages(): ReadonlyArray<Deliverable> {
    return this.ready.slice(this.head)
  }

  inflightMessages(): ReadonlyArray<Deliverable> {
    return this.inflight.slice(this.inflightHead).filter((m): m is Deliverable => m !== undefined)
  }

  attach(onReady: () => void): OutboxCursor {
    this.onReady = onReady
    return {
      take: (max, maxBytes) => this.take(max, maxBytes),
      ready: () => this.readyCount,
      detach: () => {
        if (this.onReady === onReady) this.onReady = undefined
      }
    }
  }
}

/**
 * In memory, bounded per contact (`MailboxFull` past `capacity`).
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = (capacity: number) =>
  Effect.map(Events, (events) => {
    const boxes = new Map<Uid, Box>()
    const box = (contact: Uid): Box => {
      let b = boxes.get(contact)
      if (b === undefined) boxes.set(contact, b = new Box())
      return b
    }
    const publishNow = events.publishAll.unsafe
    const enqueueNow = (contact: Uid, message: Deliverable): MailboxFull | undefined => {
      const b = box(contact)
      if (b.size >= capacity) return new MailboxFull({ capacity, detail: `outbox for ${contact}` })
      b.push(message)
      return undefined
    }
    /** Removes acked messages; the receipt announcing them, if any were pending. */
    const settle = (contact: Uid, ids: ReadonlyArray<MessageId>, at: number) => {
      const acked = boxes.get(contact)?.ack(ids) ?? []
      const receipts: ReadonlyArray<RuntimeEvent> = acked.length === 0
        ? []
        : [Held.receiptReceived(contact, "delivered", acked, at)]
      return { acked, receipts }
    }
    return Outbox.of({
      enqueue: withUnsafe(
        (contact: Uid, message: Deliverable) =>
          Effect.suspend(() => {
            const full = enqueueNow(contact, message)
            return full === undefined ? Effect.void : Effect.fail(full)
          }),
        enqueueNow
      ),
      attach: (contact, onReady) => box(contact).attach(onReady),
      ack: withUnsafe(
        (contact: Uid, ids: ReadonlyArray<MessageId>, at: number) =>
          Effect.suspend(() => {
            const { acked, receipts } = settle(contact, ids, at)
            return Effect.as(events.publishAll(receipts), acked)
          }),
        publishNow && ((contact: Uid, ids: ReadonlyArray<MessageId>, at: number) => {
          publishNow(settle(contact, ids, at).receipts)
        })
      ),
      requeue: (contact) => Effect.sync(() => boxes.get(contact)?.requeue()),
      depth: (contact) => Effect.sync(() => boxes.get(contact)?.size ?? 0),
      clear: (contact) => Effect.sync(() => void boxes.delete(contact))
    })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory = (capacity: number): Layer.Layer<Outbox, never, Events> =>
  Layer.effect(Outbox, makeMemory(capacity))
