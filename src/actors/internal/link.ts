/**
 * One authenticated link's life, as a plain object driven by its channel's callbacks: no fiber of
 * its own, so an idle link costs a socket, two cipher states and this object. What arrives is
 * decoded in the socket's callback and handled there; Pings are answered, Pongs timed, and only
 * work that belongs to a service (storing and announcing messages, settling acks, receipts) runs
 * as an Effect, forked into the owning actor's fiber set — and finished on the spot when it
 * completes synchronously (the in-memory services do). Deliveries run one batch at a time, in
 * order; reading pauses while too many batches wait.
 *
 * Writing: a turn starts when something arrives (and when the link starts, and after each
 * end-of-turn flush). The first thing ready in a turn (a reply, a Pong) is written at once
 * (latency); whatever else becomes ready waits for the end of the event loop's turn
 * (`setImmediate`: everything ready now has run), so what the application queues meanwhile leaves
 * in as few frames and writes as fit (throughput). Acks wait the same way: they ride on the reply
 * an application sends to what it just received instead of following it, or leave on their own
 * at the turn's end. A flush that wrote everything cancels the turn's end (no idle callback after
 * a reply), so until something arrives a new message waits for the end of the current turn (a
 * few microseconds). Whenever something waits, the turn's end is scheduled or the transport is
 * congested (and its drain flushes): nothing is stranded. Keepalive pings,
 * the dead-link deadline, rekeys and ping deadlines are entries in the runtime's shared timers.
 *
 * The link ends once, with a reason (the peer closed, a protocol violation, silence, Bye) or a
 * defect (a service died); the actor hears it through `onEnd`. `stop` ends it without a word,
 * when the actor closes or replaces it.
 */
import { Array as Arr, Cause, Data, Duration, Effect, Exit } from "effect"
import type { Clock, Fiber } from "effect"
import type { Contact } from "../../domain/Contact.js"
import type { MessageId } from "../../domain/Ids.js"
import type { Deliverable, WireMessage } from "../../domain/Messages.js"
import { MAX_IDS } from "../../domain/Messages.js"
import type { Channel } from "../../protocol/Channel.js"
import type { EventsShape } from "../../services/Events.js"
import type { InboxShape } from "../../services/Inbox.js"
import type { OutboxCursor, OutboxShape } from "../../services/Outbox.js"
import type { RuntimeSettings } from "../../services/RuntimeConfig.js"
import type { TimersShape } from "../Timers.js"

export class LinkEnd extends Data.TaggedError("LinkEnd")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export interface LinkHooks {
  readonly onRtt: (rttMs: number) => void
  readonly onActivity: (at: number) => void
  /** Called once when the link ends by itself (not after `stop`): a `LinkEnd`, or a defect. */
  readonly onEnd: (exit: Exit.Exit<never, LinkEnd>) => void
}

export interface LinkDeps {
  readonly contact: Contact
  readonly channel: Channel
  readonly settings: RuntimeSettings
  readonly outbox: OutboxShape
  readonly inbox: InboxShape
  readonly events: EventsShape
  readonly timers: TimersShape
  readonly clock: Clock.Clock
  /** Forks an effect into the owning actor's fiber set (started at once). */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  /** Best-effort messages queued while no link was up; sent first. */
  readonly pending: ReadonlyArray<WireMessage>
  readonly hooks: LinkHooks
}

const PING_MEMORY = 16
/** Text per write: big enough to amortise a syscall, small enough to keep latency and memory low. */
const WRITE_BYTES = 256 * 1024
/** Deliveries waiting behind a slow store before the link stops reading. */
const MAX_WAITING_BATCHES = 16

type PingReply = (result: Effect.Effect<number, LinkEnd>) => void

interface Ping {
  readonly sentAt: number
  readonly reply: PingReply | undefined
}

/** What one inbound batch asks of the services, run in order with the batches around it. */
interface Delivery {
  readonly delivered: ReadonlyArray<Deliverable>
  readonly read: ReadonlyArray<MessageId>
  readonly typing: boolean | undefined
  readonly at: number
}

export class Link {
  private readonly uid: Contact["uid"]
  private readonly channel: Channel
  private readonly cursor: OutboxCursor
  private readonly batchSize: number
  private readonly start: number
  private readonly pingEvery: number
  private readonly deadAfter: number
  private readonly rekeyEvery: number
  private ended: LinkEnd | undefined = undefined
  private stopped = false
  private dataAllowed: boolean
  /** Something was written in this turn of the event loop: what follows waits for its end. */
  private flushedThisTurn = false
  private turnEnd: NodeJS.Immediate | undefined = undefined
  private control: Array<WireMessage>
  private acks: Array<MessageId> = []
  private deliveries: Array<Delivery> = []
  private delivering = false
  /** Acks the store is still settling. */
  private settling = 0
  private draining = false
  private paused = false
  private pings: Map<number, Ping> | undefined = undefined
  private replies: Set<PingReply> | undefined = undefined
  private pingSeq = 0
  private lastActivity: number
  private nextPing: number
  private nextRekey: number
  private cancelTimer: () => void = () => {}

  constructor(private readonly deps: LinkDeps) {
    const { channel, clock, settings } = deps
    this.uid = deps.contact.uid
    this.channel = channel
    this.batchSize = settings.sendBatch
    this.dataAllowed = channel.supportsReceipts
    this.control = [...deps.pending]
    this.start = clock.unsafeCurrentTimeMillis()
    this.lastActivity = this.start
    this.pingEvery = Duration.toMillis(settings.pingInterval)
    this.deadAfter = Duration.toMillis(settings.deadAfter)
    this.rekeyEvery = Duration.toMillis(settings.rekeyInterval)
    this.nextPing = this.start + this.pingEvery
    this.nextRekey = this.start + this.rekeyEvery
    this.cursor = deps.outbox.attach(this.uid, this.scheduleFlush)
    this.schedule(this.start)
    channel.start({ messages: this.onMessages, closed: this.onClosed, writable: this.scheduleFlush })
    if (this.control.length > 0 || (this.dataAllowed && this.cursor.ready() > 0)) this.scheduleFlush()
  }

  /** Sends a best-effort message on this link (lost if the link ends first). */
  send(message: WireMessage): void {
    if (this.ended !== undefined) return
    this.control.push(message)
    this.scheduleFlush()
  }

  /** Round trip of a Ping, in milliseconds: answered by its Pong, the link's end or the deadline. */
  readonly ping: Effect.Effect<number, LinkEnd> = Effect.async<number, LinkEnd>((resume) => {
    if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    const now = this.deps.clock.unsafeCurrentTimeMillis()
    const replies = this.replies ??= new Set()
    const reply: PingReply = (result) => {
      if (replies.delete(reply)) {
        cancelDeadline()
        resume(result)
      }
    }
    replies.add(reply)
    const cancelDeadline = this.deps.timers.schedule(
      now + this.deadAfter,
      Effect.sync(() => reply(Effect.fail(new LinkEnd({ reason: "no pong" }))))
    )
    this.pingNow(now, reply)
    return Effect.sync(() => {
      replies.delete(reply)
      cancelDeadline()
    })
  })

  /** Ends the link without telling the actor (which closes or replaces it). */
  stop(): void {
    this.stopped = true
    this.end(new LinkEnd({ reason: "link closed" }))
  }

  private readonly onMessages = (batch: Array<WireMessage>): void => {
    if (this.ended !== undefined) return
    this.flushedThisTurn = false // what arrives starts a turn: the reply to it leaves at once
    try {
      this.handle(batch)
    } catch (defect) {
      this.crash(Cause.die(defect))
    }
  }

  private readonly onClosed = (error: { readonly message: string }): void => {
    this.end(new LinkEnd({ reason: error.message }))
  }

  private handle(batch: ReadonlyArray<WireMessage>): void {
    const now = this.deps.clock.unsafeCurrentTimeMillis()
    this.lastActivity = now
    this.deps.hooks.onActivity(now)
    let delivered: Array<Deliverable> | undefined
    let acked: ReadonlyArray<MessageId> | undefined
    let read: Array<MessageId> | undefined
    let typing: boolean | undefined
    let bye: string | undefined
    for (const message of batch) {
      if (bye !== undefined) break // nothing follows a Bye
      switch (message._tag) {
        case "Text":
        case "GroupText":
          ;(delivered ??= []).push(message)
          break
        case "Ack":
          if (acked === undefined) acked = message.ids as Array<MessageId>
          else acked = [...acked, ...message.ids]
          break
        case "Ping":
          // A peer that does not read what we write gets no more Pongs, rather than a growing buffer.
          if (!this.channel.congested()) {
            this.control.push({ _tag: "Pong", seq: message.seq })
            this.scheduleFlush()
          }
          break
        case "Pong": {
          const ping = this.pings?.get(message.seq)
          if (ping !== undefined) {
            this.pings!.delete(message.seq)
            this.deps.hooks.onRtt(now - ping.sentAt)
            ping.reply?.(Effect.succeed(now - ping.sentAt))
          }
          break
        }
        case "Read":
          ;(read ??= []).push(...message.ids)
          break
        case "Typing":
          typing = message.active
          break
        case "Bye":
          bye = message.reason
          break
        default:
          break
      }
    }
    // Acks settle on their own (with the durable store they share a commit with the delivery).
    if (acked !== undefined) {
      this.settleAcks(acked, now)
      this.updateReading() // a slow store settling the peer's acks holds reading back too
    }
    if (read === undefined && typing === undefined && delivered !== undefined && this.idle()) {
      // Nothing waits and the inbox delivers synchronously: no queue for this batch.
      this.delivered(this.deps.inbox.deliver.unsafe!(this.deps.contact, delivered, now))
    } else if (delivered !== undefined || read !== undefined || typing !== undefined) {
      this.deliveries.push({ delivered: delivered ?? [], read: read ?? [], typing, at: now })
      this.updateReading()
      this.deliverNext()
    }
    // What came before a Bye is handled like the rest (it may complete after the link ends).
    if (bye !== undefined) this.end(new LinkEnd({ reason: `peer closed the link (${bye})` }))
  }

  /**
   * Reading pauses while more than MAX_WAITING_BATCHES batches wait for a service (deliveries
   * queued, acks being settled by the store) and resumes once half of them are done.
   */
  private updateReading(): void {
    if (this.ended !== undefined) return
    const backlog = this.deliveries.length + this.settling
    if (!this.paused && backlog > MAX_WAITING_BATCHES) {
      this.paused = true
      this.channel.setReading(false)
    } else if (this.paused && backlog <= MAX_WAITING_BATCHES / 2) {
      this.paused = false
      this.channel.setReading(true)
    }
  }

  private settleAcks(ids: ReadonlyArray<MessageId>, now: number): void {
    const { outbox } = this.deps
    if (outbox.ack.unsafe !== undefined) return outbox.ack.unsafe(this.uid, ids, now)
    this.settling++
    this.run(Effect.ensuring(outbox.ack(this.uid, ids, now), Effect.sync(this.settled)), () => {})
  }

  /** Whether a batch of messages can be delivered at once, synchronously and in order. */
  private idle(): boolean {
    return this.ended === undefined && this.deliveries.length === 0 && !this.delivering && !this.draining &&
      this.deps.inbox.deliver.unsafe !== undefined
  }

  /**
   * Runs the waiting deliveries in order, each once the previous one completed; a delivery that
   * completes synchronously lets the loop go on (no recursion however long the backlog).
   */
  private deliverNext(): void {
    if (this.draining) return
    this.draining = true
    while (!this.delivering && this.ended === undefined) {
      const next = this.deliveries.shift()
      if (next === undefined) break
      const { inbox } = this.deps
      const deliverNow = inbox.deliver.unsafe
      if (deliverNow !== undefined && next.read.length === 0 && next.typing === undefined) {
        this.delivered(deliverNow(this.deps.contact, next.delivered, next.at))
        continue
      }
      this.delivering = true
      this.run(this.deliveryOf(next), (ids) => {
        this.delivering = false
        this.delivered(ids)
        this.deliverNext()
      })
    }
    this.draining = false
    this.updateReading()
  }

  private readonly settled = (): void => {
    this.settling--
    this.updateReading()
  }

  private delivered(ids: ReadonlyArray<MessageId>): void {
    if (!this.channel.supportsReceipts || ids.length === 0) return
    for (const id of ids) this.acks.push(id)
    this.endTurnLater()
  }

  private deliveryOf(d: Delivery): Effect.Effect<ReadonlyArray<MessageId>> {
    const { events, inbox } = this.deps
    const contact = this.deps.contact
    let effect: Effect.Effect<ReadonlyArray<MessageId>> = d.delivered.length === 0
      ? Effect.succeed([])
      : inbox.deliver(contact, d.delivered, d.at)
    if (d.read.length > 0) effect = Effect.zipLeft(effect, inbox.receipt(contact, "read", d.read, d.at))
    if (d.typing !== undefined) {
      effect = Effect.zipLeft(
        effect,
        events.publish({ _tag: "TypingChanged", contact: this.uid, active: d.typing, at: d.at })
      )
    }
    return effect
  }

  /**
   * Runs a service's effect in the actor's fiber set and continues with its value: at once when it
   * completes synchronously, else when it does. A defect ends the link as a defect (the actor
   * then dies and is restarted by its supervisor).
   */
  private run<A>(effect: Effect.Effect<A>, then: (a: A) => void): void {
    const fiber = this.deps.fork(effect)
    const exit = fiber.unsafePoll()
    if (exit !== null) return this.settle(exit, then)
    fiber.addObserver((exit) => this.settle(exit, then))
  }

  private settle<A>(exit: Exit.Exit<A>, then: (a: A) => void): void {
    if (Exit.isSuccess(exit)) {
      if (this.ended === undefined) then(exit.value)
    } else if (!Cause.isInterruptedOnly(exit.cause)) {
      this.crash(exit.cause)
    }
  }

  private readonly scheduleFlush = (): void => {
    if (this.ended !== undefined) return
    if (this.flushedThisTurn) return this.endTurnLater() // it leaves with the flush that ends the turn
    this.flushedThisTurn = true
    this.flushTask()
  }

  /** The turn ends once the event loop has run everything ready now; then what waits is written. */
  private endTurnLater(): void {
    if (this.turnEnd === undefined) this.turnEnd = setImmediate(this.endTurn)
  }

  private cancelTurnEnd(): void {
    if (this.turnEnd !== undefined) clearImmediate(this.turnEnd)
    this.turnEnd = undefined
  }

  private readonly endTurn = (): void => {
    this.turnEnd = undefined
    this.flushedThisTurn = false
    this.flushTask()
  }

  private readonly flushTask = (): void => {
    if (this.ended !== undefined) return
    try {
      this.flush()
    } catch (defect) {
      this.crash(Cause.die(defect))
    }
  }

  /** Writes control messages, acks, then ready outbox messages, until empty or congested. */
  private flush(): void {
    const channel = this.channel
    while (this.ended === undefined) {
      if (this.control.length === 0 && this.acks.length === 0 && !(this.dataAllowed && this.cursor.ready() > 0)) {
        return this.cancelTurnEnd() // all written: the event loop need not come back for this turn
      }
      const control = this.control
      const batch = control.length <= this.batchSize ? control.splice(0) : control.splice(0, this.batchSize)
      if (this.acks.length > 0) {
        if (this.acks.length <= MAX_IDS) batch.push({ _tag: "Ack", ids: this.acks })
        else for (const ids of Arr.chunksOf(this.acks, MAX_IDS)) batch.push({ _tag: "Ack", ids })
        this.acks = []
      }
      let data: ReadonlyArray<Deliverable> | undefined
      if (this.dataAllowed && batch.length < this.batchSize && !channel.congested()) {
        data = this.cursor.take(this.batchSize - batch.length, WRITE_BYTES)
        for (const m of data) batch.push(m)
      }
      if (batch.length === 0) return
      const error = channel.sendNow(batch)
      if (error !== undefined) return this.end(new LinkEnd({ reason: error.message }))
      if (!channel.supportsReceipts && data !== undefined && data.length > 0) {
        // v1 has no receipts: a message handed to the socket is as delivered as it gets.
        this.settleAcks(data.map((m) => m.id), this.deps.clock.unsafeCurrentTimeMillis())
      }
      if (channel.congested()) return
    }
  }

  private pingNow(sentAt: number, reply?: PingReply): void {
    const seq = ++this.pingSeq
    const pings = this.pings ??= new Map()
    pings.set(seq, { sentAt, reply })
    if (pings.size > PING_MEMORY) pings.delete(pings.keys().next().value!)
    this.control.push({ _tag: "Ping", seq })
    this.scheduleFlush()
  }

  private readonly tick: Effect.Effect<void> = Effect.suspend(() => {
    if (this.ended !== undefined) return Effect.void
    const now = this.deps.clock.unsafeCurrentTimeMillis()
    if (now >= this.lastActivity + this.deadAfter) {
      this.end(new LinkEnd({ reason: `no traffic for ${Duration.format(this.deps.settings.deadAfter)}` }))
      return Effect.void
    }
    if (now >= this.nextPing) {
      this.pingNow(now)
      this.nextPing = now + this.pingEvery // after a late tick: one ping, not one per missed interval
    }
    const rekey = now >= this.nextRekey
    if (rekey) this.nextRekey = now + this.rekeyEvery
    if (!this.dataAllowed && now >= this.start + Duration.toMillis(this.deps.settings.duplicateWindow)) {
      // v1 has no receipts: data written on the losing half of a simultaneous dial would be lost,
      // so it waits until that window has passed.
      this.dataAllowed = true
      this.scheduleFlush()
    }
    this.schedule(now)
    return rekey ? this.channel.rekey : Effect.void
  })

  private schedule(now: number): void {
    const dataAt = this.dataAllowed ? Infinity : this.start + Duration.toMillis(this.deps.settings.duplicateWindow)
    this.cancelTimer = this.deps.timers.schedule(
      Math.max(now, Math.min(this.lastActivity + this.deadAfter, this.nextPing, this.nextRekey, dataAt)),
      this.tick
    )
  }

  private crash(cause: Cause.Cause<never>): void {
    if (this.ended !== undefined) return
    this.finish(new LinkEnd({ reason: "link crashed" }), Exit.failCause(cause))
  }

  private end(reason: LinkEnd): void {
    if (this.ended !== undefined) return
    this.finish(reason, Exit.fail(reason))
  }

  private finish(reason: LinkEnd, exit: Exit.Exit<never, LinkEnd>): void {
    this.ended = reason
    this.cursor.detach()
    this.cancelTimer()
    this.cancelTurnEnd()
    if (this.paused) this.channel.setReading(true)
    this.deliveries = []
    if (this.replies !== undefined) { for (const reply of [...this.replies]) reply(Effect.fail(reason)) }
    if (this.stopped) return
    this.deps.fork(this.channel.close)
    this.deps.hooks.onEnd(exit)
  }
}
