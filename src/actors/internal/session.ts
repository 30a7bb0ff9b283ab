/**
 * One authenticated link's life: a reader, a writer fed by the outbox pump and by control
 * messages, keepalive pings with RTT, a dead-link deadline and periodic rekeying. The first of
 * these to stop ends the session with a reason; a defect is left to kill the actor.
 */
import { Chunk, Clock, Data, Duration, Effect, Queue, Ref } from "effect"
import type { Contact } from "../../domain/Contact.js"
import { TypingChanged } from "../../domain/Events.js"
import type { MessageId } from "../../domain/Ids.js"
import type { Deliverable, WireMessage } from "../../domain/Messages.js"
import type { Channel } from "../../protocol/Channel.js"
import type { EventsShape } from "../../services/Events.js"
import type { InboxShape } from "../../services/Inbox.js"
import type { OutboxShape } from "../../services/Outbox.js"
import type { RuntimeSettings } from "../../services/RuntimeConfig.js"

export class SessionEnd extends Data.TaggedError("SessionEnd")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export interface SessionHooks {
  readonly onRtt: (rttMs: number) => Effect.Effect<void>
  readonly onActivity: (at: number) => Effect.Effect<void>
}

export interface SessionDeps {
  readonly contact: Contact
  readonly channel: Channel
  readonly settings: RuntimeSettings
  readonly outbox: OutboxShape
  readonly inbox: InboxShape
  readonly events: EventsShape
  /** Best-effort messages from outside the session (typing, read receipts). */
  readonly control: Queue.Dequeue<WireMessage>
  readonly hooks: SessionHooks
}

const MAX_IDS = 1024
const PING_MEMORY = 16

const isDeliverable = (m: WireMessage): m is Deliverable => m._tag === "Text" || m._tag === "GroupText"

const end = (reason: string) => Effect.fail(new SessionEnd({ reason }))

/** Runs until the link ends; fails with the reason (never succeeds). */
export const run = (deps: SessionDeps): Effect.Effect<never, SessionEnd> =>
  Effect.gen(function*() {
    const { channel, contact, control, events, hooks, inbox, outbox, settings } = deps
    const uid = contact.uid
    const outgoing = yield* Queue.bounded<WireMessage>(settings.sendBatch * 4)
    const start = yield* Clock.currentTimeMillis
    const lastActivity = yield* Ref.make(start)
    const pings = new Map<number, number>()
    let pingSeq = 0

    yield* outbox.requeue(uid)

    const fromChannel = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
      Effect.mapError(effect, (e) => new SessionEnd({ reason: e.message }))

    const handle = (batch: ReadonlyArray<WireMessage>, now: number) =>
      Effect.gen(function*() {
        const delivered = batch.filter(isDeliverable)
        if (delivered.length > 0) {
          const ids = yield* inbox.deliver(contact, delivered, now)
          for (let i = 0; i < ids.length; i += MAX_IDS) {
            if (channel.supportsReceipts) yield* Queue.offer(outgoing, { _tag: "Ack", ids: ids.slice(i, i + MAX_IDS) })
          }
        }
        for (const message of batch) {
          switch (message._tag) {
            case "Ping":
              yield* Queue.offer(outgoing, { _tag: "Pong", seq: message.seq })
              break
            case "Pong": {
              const sentAt = pings.get(message.seq)
              if (sentAt !== undefined) {
                pings.delete(message.seq)
                yield* hooks.onRtt(now - sentAt)
              }
              break
            }
            case "Ack": {
              const acked = yield* outbox.ack(uid, message.ids)
              yield* inbox.receipt(contact, "delivered", acked, now)
              break
            }
            case "Read":
              yield* inbox.receipt(contact, "read", message.ids, now)
              break
            case "Typing":
              yield* events.publish(new TypingChanged({ contact: uid, active: message.active, at: now }))
              break
            case "Bye":
              return yield* end(`peer closed the link (${message.reason})`)
            default:
              break
          }
        }
      })

    const reader = Effect.gen(function*() {
      while (true) {
        const batch = yield* fromChannel(channel.receive)
        const now = yield* Clock.currentTimeMillis
        yield* Ref.set(lastActivity, now)
        yield* hooks.onActivity(now)
        yield* handle(batch, now)
      }
    })

    const pump = Effect.gen(function*() {
      // v1 has no receipts: a message written on a link that turns out to be the losing half of a
      // simultaneous dial would be lost, so the first messages wait until that window has passed.
      if (!channel.supportsReceipts) yield* Effect.sleep(settings.duplicateWindow)
      while (true) {
        const messages = yield* outbox.take(uid, settings.sendBatch)
        yield* Queue.offerAll(outgoing, messages)
      }
    })

    const controlPump = Effect.forever(Effect.flatMap(Queue.take(control), (m) => Queue.offer(outgoing, m)))

    const writer = Effect.gen(function*() {
      while (true) {
        const batch = Chunk.toReadonlyArray(yield* Queue.takeBetween(outgoing, 1, settings.sendBatch))
        yield* fromChannel(channel.send(batch))
        if (!channel.supportsReceipts) {
          const ids: Array<MessageId> = batch.filter(isDeliverable).map((m) => m.id)
          if (ids.length > 0) {
            const acked = yield* outbox.ack(uid, ids)
            yield* inbox.receipt(contact, "delivered", acked, yield* Clock.currentTimeMillis)
          }
        }
      }
    })

    const keepalive = Effect.gen(function*() {
      while (true) {
        yield* Effect.sleep(settings.pingInterval)
        const seq = ++pingSeq
        pings.set(seq, yield* Clock.currentTimeMillis)
        if (pings.size > PING_MEMORY) pings.delete(pings.keys().next().value!)
        yield* Queue.offer(outgoing, { _tag: "Ping", seq })
      }
    })

    const deadline = Effect.gen(function*() {
      const limit = Duration.toMillis(settings.deadAfter)
      while (true) {
        const remaining = (yield* Ref.get(lastActivity)) + limit - (yield* Clock.currentTimeMillis)
        if (remaining <= 0) return yield* end(`no traffic for ${Duration.format(settings.deadAfter)}`)
        yield* Effect.sleep(Duration.millis(remaining))
      }
    })

    const rekey = Effect.forever(Effect.zipRight(Effect.sleep(settings.rekeyInterval), channel.rekey))

    yield* Effect.all([reader, writer, pump, controlPump, keepalive, deadline, rekey], {
      concurrency: "unbounded",
      discard: true
    })
    return yield* end("session stopped")
  })
