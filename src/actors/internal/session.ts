/**
 * One authenticated link's life. Three fibers: a reader; a writer that parks until the outbox or a
 * control message wakes it and then writes everything ready in as few frames and writes as it can;
 * and one timer for keepalive pings, the dead-link deadline and periodic rekeying. Replies that
 * answer what the reader just read (acks, pongs) are written inline by the reader, without waking
 * anyone. The first fiber to stop ends the session with a reason; a defect kills the actor.
 */
import { Clock, Data, Deferred, Duration, Effect } from "effect"
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
  /** Sends a message on this link (best effort: lost if the link ends first). */
  readonly send: (message: WireMessage) => Effect.Effect<void>
  /** Round trip of a Ping, in milliseconds. */
  readonly ping: Effect.Effect<number, SessionEnd>
}

export interface SessionHooks {
  readonly onOpen: (handle: SessionHandle) => void
  readonly onRtt: (rttMs: number) => void
  readonly onActivity: (at: number) => void
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
/** Text per write: big enough to amortise a syscall, small enough to keep latency and memory low. */
const WRITE_BYTES = 256 * 1024

const isDeliverable = (m: WireMessage): m is Deliverable => m._tag === "Text" || m._tag === "GroupText"

const end = (reason: string) => Effect.fail(new SessionEnd({ reason }))

/** Runs until the link ends; fails with the reason (never succeeds). */
export const run = (deps: SessionDeps): Effect.Effect<never, SessionEnd> =>
  Effect.gen(function*() {
    const { channel, contact, events, hooks, inbox, outbox, settings } = deps
    const uid = contact.uid
    const batchSize = settings.sendBatch
    const start = yield* Clock.currentTimeMillis
    const ended = yield* Deferred.make<never, SessionEnd>()
    const pings = new Map<number, { readonly sentAt: number; readonly reply?: Deferred.Deferred<number> }>()
    const control: Array<WireMessage> = [...deps.pending]
    const writtenWithoutReceipts: Array<MessageId> = []
    let failure: SessionEnd | undefined
    let dataAllowed = channel.supportsReceipts
    let parked: ((effect: Effect.Effect<void>) => void) | undefined
    let pingSeq = 0
    let lastActivity = start

    const wakeWriter = () => {
      const resume = parked
      parked = undefined
      resume?.(Effect.void)
    }
    const cursor = outbox.attach(uid, wakeWriter)

    /** Writes queued control messages, then ready outbox messages, until empty or congested. */
    const flushNow = (): void => {
      while (failure === undefined) {
        const batch = control.length <= batchSize ? control.splice(0) : control.splice(0, batchSize)
        if (dataAllowed && batch.length < batchSize && !channel.congested()) {
          for (const m of cursor.take(batchSize - batch.length, WRITE_BYTES)) batch.push(m)
        }
        if (batch.length === 0) return
        const error = channel.sendNow(batch)
        if (error !== undefined) {
          failure = new SessionEnd({ reason: error.message })
          return wakeWriter()
        }
        if (!channel.supportsReceipts) {
          for (const m of batch) if (isDeliverable(m)) writtenWithoutReceipts.push(m.id)
        }
        if (channel.congested()) return wakeWriter()
      }
    }

    const queueControl = (message: WireMessage) =>
      Effect.sync(() => {
        control.push(message)
        flushNow()
      })

    const sendPing = (reply?: Deferred.Deferred<number>) =>
      Effect.flatMap(Clock.currentTimeMillis, (sentAt) => {
        const seq = ++pingSeq
        pings.set(seq, { sentAt, ...(reply === undefined ? {} : { reply }) })
        if (pings.size > PING_MEMORY) pings.delete(pings.keys().next().value!)
        return queueControl({ _tag: "Ping", seq })
      })

    const fromChannel = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
      Effect.mapError(effect, (e) => new SessionEnd({ reason: e.message }))

    const handle = (batch: ReadonlyArray<WireMessage>, now: number) =>
      Effect.gen(function*() {
        const delivered = batch.filter(isDeliverable)
        if (delivered.length > 0) {
          const ids = yield* inbox.deliver(contact, delivered, now)
          if (channel.supportsReceipts) {
            for (let i = 0; i < ids.length; i += MAX_IDS) control.push({ _tag: "Ack", ids: ids.slice(i, i + MAX_IDS) })
          }
        }
        for (const message of batch) {
          switch (message._tag) {
            case "Ping":
              control.push({ _tag: "Pong", seq: message.seq })
              break
            case "Pong": {
              const ping = pings.get(message.seq)
              if (ping !== undefined) {
                pings.delete(message.seq)
                hooks.onRtt(now - ping.sentAt)
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
        flushNow()
      })

    const reader = Effect.gen(function*() {
      while (true) {
        const batch = yield* fromChannel(channel.receive)
        const now = yield* Clock.currentTimeMillis
        lastActivity = now
        hooks.onActivity(now)
        yield* handle(batch, now)
      }
    })

    const park = Effect.async<void>((resume) => {
      if (control.length > 0 || failure !== undefined || (dataAllowed && cursor.ready() > 0)) return resume(Effect.void)
      parked = resume
      return Effect.sync(() => {
        if (parked === resume) parked = undefined
      })
    })

    const writer = Effect.gen(function*() {
      if (!dataAllowed) {
        // v1 has no receipts: a message written on a link that turns out to be the losing half of a
        // simultaneous dial would be lost, so data waits until that window has passed.
        yield* Effect.sleep(settings.duplicateWindow)
        dataAllowed = true
      }
      while (true) {
        flushNow()
        if (writtenWithoutReceipts.length > 0) {
          const acked = yield* outbox.ack(uid, writtenWithoutReceipts.splice(0))
          yield* inbox.receipt(contact, "delivered", acked, yield* Clock.currentTimeMillis)
        }
        if (failure !== undefined) return yield* failure
        if (channel.congested()) yield* fromChannel(channel.drain)
        else yield* park
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

    yield* outbox.requeue(uid)
    hooks.onOpen({
      send: queueControl,
      ping: Effect.gen(function*() {
        const reply = yield* Deferred.make<number>()
        yield* sendPing(reply)
        return yield* Effect.raceFirst(Deferred.await(reply), Deferred.await(ended))
      }).pipe(
        Effect.timeoutFail({ duration: settings.deadAfter, onTimeout: () => new SessionEnd({ reason: "no pong" }) })
      )
    })
    return yield* Effect.all([reader, writer, timer], { concurrency: "unbounded", discard: true }).pipe(
      Effect.zipRight(end("session stopped")),
      Effect.tapError((e) => Deferred.fail(ended, e)),
      Effect.onInterrupt(() => Deferred.fail(ended, new SessionEnd({ reason: "link closed" }))),
      Effect.ensuring(Effect.sync(() => cursor.detach()))
    )
  })
