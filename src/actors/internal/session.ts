/**
 * One authenticated link's life, in four fibers: a reader; a writer; a pump from the outbox; and
 * one timer for keepalive pings, the dead-link deadline and periodic rekeying. The first to stop
 * ends the session with a reason; a defect is left to kill the actor.
 */
import { Chunk, Clock, Data, Deferred, Duration, Effect, Queue } from "effect"
import type { Contact } from "../../domain/Contact.js"
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

/** What the actor can do with a running session. */
export interface SessionHandle {
  /** Queues a message for this link (best effort: dropped if the link ends first). */
  readonly send: (message: WireMessage) => Effect.Effect<void>
  /** Round trip of a Ping, in milliseconds. */
  readonly ping: Effect.Effect<number, SessionEnd>
}

export interface SessionHooks {
  readonly onOpen: (handle: SessionHandle) => Effect.Effect<void>
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
  /** Best-effort messages queued while no link was up; sent first. */
  readonly pending: ReadonlyArray<WireMessage>
  readonly hooks: SessionHooks
}

const MAX_IDS = 1024
const PING_MEMORY = 16

const isDeliverable = (m: WireMessage): m is Deliverable => m._tag === "Text" || m._tag === "GroupText"

const end = (reason: string) => Effect.fail(new SessionEnd({ reason }))

/** Runs until the link ends; fails with the reason (never succeeds). */
export const run = (deps: SessionDeps): Effect.Effect<never, SessionEnd> =>
  Effect.gen(function*() {
    const { channel, contact, events, hooks, inbox, outbox, settings } = deps
    const uid = contact.uid
    const outgoing = yield* Queue.bounded<WireMessage>(settings.sendBatch * 4)
    const start = yield* Clock.currentTimeMillis
    const ended = yield* Deferred.make<never, SessionEnd>()
    const pings = new Map<number, { readonly sentAt: number; readonly reply?: Deferred.Deferred<number> }>()
    let pingSeq = 0
    let lastActivity = start

    const sendPing = (reply?: Deferred.Deferred<number>) =>
      Effect.gen(function*() {
        const seq = ++pingSeq
        pings.set(seq, { sentAt: yield* Clock.currentTimeMillis, ...(reply === undefined ? {} : { reply }) })
        if (pings.size > PING_MEMORY) pings.delete(pings.keys().next().value!)
        yield* Queue.offer(outgoing, { _tag: "Ping", seq })
      })

    const fromChannel = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
      Effect.mapError(effect, (e) => new SessionEnd({ reason: e.message }))

    const handle = (batch: ReadonlyArray<WireMessage>, now: number) =>
      Effect.gen(function*() {
        const delivered = batch.filter(isDeliverable)
        if (delivered.length > 0) {
          const ids = yield* inbox.deliver(contact, delivered, now)
          if (channel.supportsReceipts) {
            for (let i = 0; i < ids.length; i += MAX_IDS) {
              yield* Queue.offer(outgoing, { _tag: "Ack", ids: ids.slice(i, i + MAX_IDS) })
            }
          }
        }
        for (const message of batch) {
          switch (message._tag) {
            case "Ping":
              yield* Queue.offer(outgoing, { _tag: "Pong", seq: message.seq })
              break
            case "Pong": {
              const ping = pings.get(message.seq)
              if (ping !== undefined) {
                pings.delete(message.seq)
                yield* hooks.onRtt(now - ping.sentAt)
                if (ping.reply !== undefined) yield* Deferred.succeed(ping.reply, now - ping.sentAt)
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
              yield* events.publish({ _tag: "TypingChanged", contact: uid, active: message.active, at: now })
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
        lastActivity = now
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

    const timer = Effect.gen(function*() {
      const pingEvery = Duration.toMillis(settings.pingInterval)
      const deadAfter = Duration.toMillis(settings.deadAfter)
      const rekeyEvery = Duration.toMillis(settings.rekeyInterval)
      let nextPing = start + pingEvery
      let nextRekey = start + rekeyEvery
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const deadline = lastActivity + deadAfter
        if (now >= deadline) return yield* end(`no traffic for ${Duration.format(settings.deadAfter)}`)
        if (now >= nextPing) {
          yield* sendPing()
          nextPing += pingEvery
        }
        if (now >= nextRekey) {
          yield* channel.rekey
          nextRekey = now + rekeyEvery
        }
        yield* Effect.sleep(Duration.millis(Math.min(deadline, nextPing, nextRekey) - now))
      }
    })

    yield* Queue.offerAll(outgoing, deps.pending)
    yield* outbox.requeue(uid)
    yield* hooks.onOpen({
      send: (message) => Effect.asVoid(Queue.offer(outgoing, message)),
      ping: Effect.gen(function*() {
        const reply = yield* Deferred.make<number>()
        yield* sendPing(reply)
        return yield* Effect.raceFirst(Deferred.await(reply), Deferred.await(ended))
      }).pipe(
        Effect.timeoutFail({ duration: settings.deadAfter, onTimeout: () => new SessionEnd({ reason: "no pong" }) })
      )
    })
    return yield* Effect.all([reader, writer, pump, timer], { concurrency: "unbounded", discard: true }).pipe(
      Effect.zipRight(end("session stopped")),
      Effect.tapError((e) => Deferred.fail(ended, e)),
      Effect.onInterrupt(() => Deferred.fail(ended, new SessionEnd({ reason: "link closed" })))
    )
  })
