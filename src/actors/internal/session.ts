/**
 * One authenticated link's life, kept cheap for the idle case: the session is its reader fiber.
 * A writer fiber exists only while there is something to write (the outbox or a control message
 * wakes one up; it writes everything ready in as few frames and writes as it can, then ends).
 * Replies to what the reader just read (acks, pongs) are written inline by the reader. Keepalive
 * pings, the dead-link deadline and rekeys are one entry in the runtime's shared timers.
 * The session ends with a reason; a defect kills the actor.
 */
import { Array as Arr, Cause, Clock, Data, Deferred, Duration, Effect } from "effect"
import type { Contact } from "../../domain/Contact.js"
import type { MessageId } from "../../domain/Ids.js"
import type { Deliverable, WireMessage } from "../../domain/Messages.js"
import { MAX_IDS } from "../../domain/Messages.js"
import type { Channel } from "../../protocol/Channel.js"
import type { EventsShape } from "../../services/Events.js"
import type { InboxShape } from "../../services/Inbox.js"
import type { OutboxShape } from "../../services/Outbox.js"
import type { RuntimeSettings } from "../../services/RuntimeConfig.js"
import type { TimersShape } from "../Timers.js"

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
  readonly timers: TimersShape
  /** Best-effort messages queued while no link was up; sent first. */
  readonly pending: ReadonlyArray<WireMessage>
  readonly hooks: SessionHooks
  /** Forks the session's writer and background work into the owning actor's fiber set. */
  readonly fork: (effect: Effect.Effect<void>) => unknown
}

const PING_MEMORY = 16
/** Text per write: big enough to amortise a syscall, small enough to keep latency and memory low. */
const WRITE_BYTES = 256 * 1024

const isDeliverable = (m: WireMessage): m is Deliverable => m._tag === "Text" || m._tag === "GroupText"

/** Runs until the link ends; fails with the reason (never succeeds). */
export const run = (deps: SessionDeps): Effect.Effect<never, SessionEnd> =>
  Effect.gen(function*() {
    const { channel, contact, events, fork: runFork, hooks, inbox, outbox, settings, timers } = deps
    const uid = contact.uid
    const batchSize = settings.sendBatch
    const start = yield* Clock.currentTimeMillis
    const ended = yield* Deferred.make<never, SessionEnd>()
    const pings = new Map<number, { readonly sentAt: number; readonly reply?: Deferred.Deferred<number> }>()
    const control: Array<WireMessage> = [...deps.pending]
    const writtenWithoutReceipts: Array<MessageId> = []
    let failure: SessionEnd | undefined
    let dataAllowed = channel.supportsReceipts
    let writing = false
    let pingSeq = 0
    let lastActivity = start
    let cancelTimer = () => {}

    /** Ends the session: the reader sees the channel close and reports this reason. */
    const fail = (reason: string) => {
      if (failure !== undefined) return
      failure = new SessionEnd({ reason })
      runFork(channel.close)
    }

    /** Writes queued control messages, then ready outbox messages, until empty or congested. */
    const flushNow = (): void => {
      while (failure === undefined) {
        const batch = control.length <= batchSize ? control.splice(0) : control.splice(0, batchSize)
        if (dataAllowed && batch.length < batchSize && !channel.congested()) {
          for (const m of cursor.take(batchSize - batch.length, WRITE_BYTES)) batch.push(m)
        }
        if (batch.length === 0) return
        const error = channel.sendNow(batch)
        if (error !== undefined) return fail(error.message)
        if (!channel.supportsReceipts) {
          for (const m of batch) if (isDeliverable(m)) writtenWithoutReceipts.push(m.id)
        }
        if (channel.congested()) return startWriter()
      }
    }

    const pendingWork = () =>
      failure === undefined &&
      (control.length > 0 || writtenWithoutReceipts.length > 0 || (dataAllowed && cursor.ready() > 0))

    /** Lives while there is work: drains the outbox, waits out congestion, reports v1 "receipts". */
    const writer = Effect.gen(function*() {
      // Let the fibers that are ready now (e.g. every sender whose transaction just committed)
      // queue their messages first, so a burst leaves in one frame and one write.
      yield* Effect.yieldNow()
      while (true) {
        flushNow()
        if (writtenWithoutReceipts.length > 0) {
          yield* outbox.ack(uid, writtenWithoutReceipts.splice(0), yield* Clock.currentTimeMillis)
        }
        if (failure !== undefined) return
        if (channel.congested()) {
          yield* Effect.catchAll(channel.drain, (e) => Effect.sync(() => fail(e.message)))
          continue
        }
        if (!pendingWork()) return
      }
    }).pipe(Effect.ensuring(Effect.sync(() => {
      writing = false
      if (pendingWork()) startWriter()
    })))

    const startWriter = () => {
      if (writing || failure !== undefined) return
      writing = true
      runFork(writer)
    }

    const cursor = outbox.attach(uid, startWriter)

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

    const pingEvery = Duration.toMillis(settings.pingInterval)
    const deadAfter = Duration.toMillis(settings.deadAfter)
    const rekeyEvery = Duration.toMillis(settings.rekeyInterval)
    let nextPing = start + pingEvery
    let nextRekey = start + rekeyEvery

    const tick: Effect.Effect<void> = Effect.gen(function*() {
      if (failure !== undefined) return
      const now = yield* Clock.currentTimeMillis
      const deadline = lastActivity + deadAfter
      if (now >= deadline) return fail(`no traffic for ${Duration.format(settings.deadAfter)}`)
      if (now >= nextPing) {
        yield* sendPing()
        nextPing = now + pingEvery // after a late tick: one ping, not one per missed interval
      }
      if (now >= nextRekey) {
        yield* channel.rekey
        nextRekey = now + rekeyEvery
      }
      if (!dataAllowed && now >= start + Duration.toMillis(settings.duplicateWindow)) {
        // v1 has no receipts: data written on the losing half of a simultaneous dial would be
        // lost, so it waits until that window has passed.
        dataAllowed = true
        startWriter()
      }
      schedule(now)
    })

    const schedule = (now: number) => {
      const dataAt = dataAllowed ? Infinity : start + Duration.toMillis(settings.duplicateWindow)
      cancelTimer = timers.schedule(
        Math.max(now, Math.min(lastActivity + deadAfter, nextPing, nextRekey, dataAt)),
        tick
      )
    }
    schedule(start)

    const handle = (batch: ReadonlyArray<WireMessage>, now: number) =>
      Effect.gen(function*() {
        const delivered = batch.filter(isDeliverable)
        const acked: Array<MessageId> = []
        for (const message of batch) if (message._tag === "Ack") acked.push(...message.ids)
        // Storing what arrived and settling what the peer acknowledged share one store commit.
        const [ids] = yield* Effect.all([
          delivered.length > 0 ? inbox.deliver(contact, delivered, now) : Effect.succeed([]),
          acked.length > 0 ? outbox.ack(uid, acked, now) : Effect.void
        ], { concurrency: "unbounded" })
        if (channel.supportsReceipts) {
          for (const part of Arr.chunksOf(ids, MAX_IDS)) control.push({ _tag: "Ack", ids: part })
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
            case "Read":
              yield* inbox.receipt(contact, "read", message.ids, now)
              break
            case "Typing":
              yield* events.publish({ _tag: "TypingChanged", contact: uid, active: message.active, at: now })
              break
            case "Bye":
              fail(`peer closed the link (${message.reason})`)
              break
            default:
              break
          }
        }
        flushNow()
      })

    const cleanup = Effect.suspend(() => {
      failure ??= new SessionEnd({ reason: "link closed" })
      cursor.detach()
      cancelTimer()
      return Deferred.fail(ended, failure)
    })

    return yield* Effect.gen(function*() {
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
      if (pendingWork()) startWriter()

      const reader = Effect.gen(function*() {
        while (failure === undefined) {
          const batch = yield* channel.receive
          const now = yield* Clock.currentTimeMillis
          lastActivity = now
          hooks.onActivity(now)
          yield* handle(batch, now)
        }
      })
      const outcome = yield* Effect.exit(reader)
      const reason = failure ??
        (outcome._tag === "Failure"
          ? new SessionEnd({
            reason: Cause.failureOption(outcome.cause).pipe((
              o
            ) => (o._tag === "Some" ? o.value.message : "link closed"))
          })
          : new SessionEnd({ reason: "link closed" }))
      failure = reason
      if (outcome._tag === "Failure" && Cause.isDie(outcome.cause)) {
        return yield* Effect.failCause(outcome.cause).pipe(Effect.orDie)
      }
      return yield* reason
    }).pipe(Effect.ensuring(cleanup))
  })
