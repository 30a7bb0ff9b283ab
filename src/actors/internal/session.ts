/**
 * One authenticated link's life, kept cheap for the idle case: the session is its reader fiber.
 * Writing needs no fiber: a message becoming ready asks for one flush at the end of the current
 * microtask (so a burst leaves in as few frames and writes as it can), and replies to what the
 * reader just read (acks, pongs) are written inline by the reader. A writer fiber exists only
 * while the socket is congested (or for v1 bookkeeping). An explicit ping is a callback, not a
 * race of fibers. Keepalive pings, the dead-link deadline, rekeys and ping deadlines are entries
 * in the runtime's shared timers. The session ends with a reason; a defect kills the actor.
 *
 * Every fiber on this path costs tens of µs (fork, FiberRefs, scheduling), which is why the hot
 * path avoids them: see docs/BENCHMARKS.md.
 */
import { Array as Arr, Cause, Clock, Data, Duration, Effect } from "effect"
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

type PingReply = (result: Effect.Effect<number, SessionEnd>) => void

/** Runs until the link ends; fails with the reason (never succeeds). */
export const run = (deps: SessionDeps): Effect.Effect<never, SessionEnd> =>
  Effect.gen(function*() {
    const { channel, contact, events, fork: runFork, hooks, inbox, outbox, settings, timers } = deps
    const uid = contact.uid
    const batchSize = settings.sendBatch
    const start = yield* Clock.currentTimeMillis
    const pings = new Map<number, { readonly sentAt: number; readonly reply?: PingReply }>()
    const replies = new Set<PingReply>()
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

    /**
     * Writing is not a fiber: whoever makes work ready (a send, the reader) asks for one flush at
     * the end of the current microtask, so everything queued by fibers running now leaves in one
     * frame and one write. A fiber is started only to wait out congestion or for v1 bookkeeping.
     */
    let flushQueued = false
    const flushSoon = () => {
      if (flushQueued || writing || failure !== undefined) return
      flushQueued = true
      queueMicrotask(runQueuedFlush)
    }
    const runQueuedFlush = () => {
      flushQueued = false
      if (writing) return
      try {
        flushNow()
      } catch (error) {
        fail(`cannot write: ${error instanceof Error ? error.message : String(error)}`)
      }
      if (writtenWithoutReceipts.length > 0) startWriter()
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
      if (pendingWork()) flushSoon()
    })))

    const startWriter = () => {
      if (writing || failure !== undefined) return
      writing = true
      runFork(writer)
    }

    const cursor = outbox.attach(uid, flushSoon)

    const queueControl = (message: WireMessage) =>
      Effect.sync(() => {
        control.push(message)
        flushNow()
      })

    const pingNow = (sentAt: number, reply?: PingReply) => {
      const seq = ++pingSeq
      pings.set(seq, { sentAt, ...(reply === undefined ? {} : { reply }) })
      if (pings.size > PING_MEMORY) pings.delete(pings.keys().next().value!)
      control.push({ _tag: "Ping", seq })
      flushNow()
    }

    /** A ping someone waits for: answered by its pong, the session's end or the deadline. */
    const awaitPing: Effect.Effect<number, SessionEnd> = Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.async<number, SessionEnd>((resume) => {
          if (failure !== undefined) return resume(Effect.fail(failure))
          const reply: PingReply = (result) => {
            if (replies.delete(reply)) {
              cancelDeadline()
              resume(result)
            }
          }
          replies.add(reply)
          const cancelDeadline = timers.schedule(
            now + deadAfter,
            Effect.sync(() => reply(Effect.fail(new SessionEnd({ reason: "no pong" }))))
          )
          pingNow(now, reply)
          return Effect.sync(() => {
            replies.delete(reply)
            cancelDeadline()
          })
        })
    )

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
        pingNow(now)
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
        flushSoon()
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
        const delivered: Array<Deliverable> = []
        const acked: Array<MessageId> = []
        for (const message of batch) {
          if (isDeliverable(message)) delivered.push(message)
          else if (message._tag === "Ack") { for (const id of message.ids) acked.push(id) }
        }
        // The ack is started first and not awaited: it needs nothing from what follows, and with
        // the durable store it then shares the store commit with the delivery.
        if (acked.length > 0) runFork(outbox.ack(uid, acked, now))
        const ids = delivered.length === 0 ? [] : yield* inbox.deliver(contact, delivered, now)
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
                ping.reply?.(Effect.succeed(now - ping.sentAt))
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

    const cleanup = Effect.sync(() => {
      const reason = failure ??= new SessionEnd({ reason: "link closed" })
      cursor.detach()
      cancelTimer()
      for (const reply of [...replies]) reply(Effect.fail(reason))
    })

    return yield* Effect.gen(function*() {
      yield* outbox.requeue(uid)
      hooks.onOpen({
        send: queueControl,
        ping: awaitPing
      })
      if (pendingWork()) flushSoon()

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
