/**
 * An in-process event hub with the semantics of `PubSub.sliding(capacity)` and a cheaper path.
 * Publishing is a plain synchronous call (no fiber, no Effect): each subscriber keeps its own
 * window of at most `capacity` events and a subscriber that falls behind loses its oldest ones.
 * A subscription is a real `Queue.Dequeue`; a take that has to wait is an `Effect.async` resumed
 * directly by the publisher (no Deferred per waiting take).
 *
 * A woken taker reserves its events instead of receiving them: it removes them from the window
 * only when its fiber runs, so interrupting a waiting take never loses an event.
 *
 * A waiting take carries no interruption handler (an `Effect.onInterrupt`-style mask around every
 * wait cost about as much as the wake-up itself). The taker of an interrupted fiber is recognised
 * instead — stale: its fiber was interrupted while the take was interruptible, or has ended — and
 * released: skipped by a publish, and dropped whenever the subscription is read (take, poll,
 * size) or its fiber waits again. While other takers wait behind it, a taker is also watched (a
 * fiber observer), so that its fiber's end hands their events on at once.
 *
 * @since 2.0.0
 */
import {
  Cause,
  Chunk,
  Effect,
  Effectable,
  FiberId,
  FiberRef,
  Option,
  Queue,
  Runtime,
  RuntimeFlags,
  Stream
} from "effect"
import type { Fiber, FiberStatus, Scope } from "effect"

const WAITING = 0
const WOKEN = 1
const DONE = 2

const noResume = (_: unknown) => {}

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

class Taker<A> {
  state = WAITING
  resume: (effect: Effect.Effect<A | Chunk.Chunk<A>>) => void = noResume
  /** Set while the taker is watched: runs if its fiber ends before it collects. */
  onEnd: (() => void) | undefined = undefined
  constructor(
    readonly fiber: AnyFiber,
    /** Whether the take could be interrupted (it is then stale once its fiber is). */
    readonly interruptible: boolean,
    readonly min: number,
    readonly max: number,
    readonly single: boolean
  ) {}

  /** Its fiber will never collect: it was interrupted in an interruptible take, or has ended. */
  get stale(): boolean {
    return this.fiber.unsafePoll() !== null ||
      (this.interruptible && !Cause.isEmpty(this.fiber.getFiberRef(FiberRef.interruptedCause)))
  }
}

const remove = <T>(array: Array<T>, item: T): void => {
  const i = array.indexOf(item)
  if (i >= 0) array.splice(i, 1)
}

const dequeueVariance = { _Out: (_: never) => _ }
const emptyChunk = Chunk.empty<never>()

/**
 * One subscriber's window: a ring buffer that grows up to `capacity` and then slides.
 *
 * @since 2.0.0
 * @category models
 */
export class Subscription<A> extends Effectable.Class<A> implements Queue.Dequeue<A> {
  readonly [Queue.DequeueTypeId] = dequeueVariance
  private buf: Array<A | undefined> = new Array(8)
  private mask = 7
  private head = 0
  private len = 0
  /** Events in the window that woken takers will remove when their fibers run. */
  private reserved = 0
  private waiting: Array<Taker<A>> = []
  /** Woken takers whose fibers have not collected their events yet. */
  private woken: Array<Taker<A>> = []
  private shutdownFlag = false
  private shutdownWaiters: Set<(effect: Effect.Effect<void>) => void> | undefined

  constructor(private readonly hub: Hub<A>, private readonly windowCapacity: number) {
    super()
  }

  commit(): Effect.Effect<A> {
    return this.take
  }

  capacity(): number {
    return this.windowCapacity
  }

  isActive(): boolean {
    return !this.shutdownFlag
  }

  unsafeSize(): Option.Option<number> {
    return this.shutdownFlag ? Option.none() : Option.some(this.len - this.reserved)
  }

  /** @internal */
  offer(a: A): void {
    this.push(a)
    if (this.waiting.length > 0) this.dispatch()
  }

  /** @internal */
  offerAll(as: ReadonlyArray<A>): void {
    const n = as.length
    for (let i = n > this.windowCapacity ? n - this.windowCapacity : 0; i < n; i++) this.push(as[i]!)
    if (this.waiting.length > 0) this.dispatch()
  }

  /** @internal */
  unsafeShutdown(id: FiberId.FiberId): void {
    if (this.shutdownFlag) return
    this.shutdownFlag = true
    this.hub.remove(this)
    this.buf = new Array(8)
    this.mask = 7
    this.head = 0
    this.len = 0
    this.reserved = 0
    const waiting = this.waiting
    this.waiting = []
    for (const taker of this.woken) {
      this.unwatch(taker)
      taker.state = DONE
    }
    this.woken = []
    for (const taker of waiting) {
      this.unwatch(taker)
      taker.state = DONE
      taker.resume(Effect.interruptWith(id))
    }
    const waiters = this.shutdownWaiters
    this.shutdownWaiters = undefined
    if (waiters !== undefined) { for (const resume of waiters) resume(Effect.void) }
  }

  readonly size: Effect.Effect<number> = Effect.suspend(() => {
    this.reap()
    return this.shutdownFlag ? Effect.interrupt : Effect.succeed(this.len - this.reserved)
  })

  readonly isEmpty: Effect.Effect<boolean> = Effect.map(this.size, (size) => size === 0)

  readonly isFull: Effect.Effect<boolean> = Effect.map(this.size, (size) => size === this.windowCapacity)

  readonly isShutdown: Effect.Effect<boolean> = Effect.sync(() => this.shutdownFlag)

  readonly shutdown: Effect.Effect<void> = Effect.fiberIdWith((id) => Effect.sync(() => this.unsafeShutdown(id)))

  readonly awaitShutdown: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.shutdownFlag) {
      resume(Effect.void)
      return
    }
    const waiters = this.shutdownWaiters ??= new Set()
    waiters.add(resume)
    return Effect.sync(() => {
      waiters.delete(resume)
    })
  })

  readonly take: Effect.Effect<A> = Effect.withFiberRuntime((fiber, status) => {
    if (this.shutdownFlag) return Effect.interrupt
    this.reap(fiber)
    if (this.waiting.length === 0 && this.len > this.reserved) return Effect.succeed(this.shift())
    return this.wait<A>(fiber, status, 1, 1, true)
  })

  readonly takeAll: Effect.Effect<Chunk.Chunk<A>> = Effect.suspend(() => this.pollUpTo(Number.POSITIVE_INFINITY))

  takeUpTo(max: number): Effect.Effect<Chunk.Chunk<A>> {
    return Effect.suspend(() => this.pollUpTo(max))
  }

  /**
   * Waits until `min` events are available, then takes up to `max` at once. When `min` exceeds
   * the window, it gathers the events in rounds, and what it gathered is lost if it is
   * interrupted (as with Queue's `takeBetween`).
   */
  takeBetween(min: number, max: number): Effect.Effect<Chunk.Chunk<A>> {
    if (max < min) return Effect.succeed(emptyChunk)
    if (min <= this.windowCapacity) {
      return Effect.withFiberRuntime((fiber, status) => this.between(fiber, status, min, max))
    }
    const gather = (acc: Chunk.Chunk<A>): Effect.Effect<Chunk.Chunk<A>> =>
      Effect.flatMap(
        Effect.withFiberRuntime<Chunk.Chunk<A>>((fiber, status) =>
          this.between(fiber, status, Math.min(min - acc.length, this.windowCapacity), max - acc.length)
        ),
        (chunk) => {
          const all = Chunk.appendAll(acc, chunk)
          return all.length >= min ? Effect.succeed(all) : gather(all)
        }
      )
    return gather(emptyChunk)
  }

  private pollUpTo(max: number): Effect.Effect<Chunk.Chunk<A>> {
    if (this.shutdownFlag) return Effect.interrupt
    this.reap()
    const n = this.waiting.length > 0 ? 0 : Math.min(max, this.len - this.reserved)
    return Effect.succeed(n > 0 ? Chunk.unsafeFromArray(this.drain(n)) : emptyChunk)
  }

  private between(
    fiber: AnyFiber,
    status: FiberStatus.Running,
    min: number,
    max: number
  ): Effect.Effect<Chunk.Chunk<A>> {
    if (min <= 0) return this.pollUpTo(max)
    if (this.shutdownFlag) return Effect.interrupt
    this.reap(fiber)
    const available = this.len - this.reserved
    if (this.waiting.length === 0 && available >= min) {
      const n = Math.min(max, available)
      return Effect.succeed(n > 0 ? Chunk.unsafeFromArray(this.drain(n)) : emptyChunk)
    }
    return this.wait<Chunk.Chunk<A>>(fiber, status, min, max, false)
  }

  /** `fiber` (which runs this, after `reap(fiber)`) waits for `min` events. */
  private wait<B extends A | Chunk.Chunk<A>>(
    fiber: AnyFiber,
    status: FiberStatus.Running,
    min: number,
    max: number,
    single: boolean
  ): Effect.Effect<B> {
    const taker = new Taker<A>(fiber, RuntimeFlags.interruptible(status.runtimeFlags), min, max, single)
    return Effect.async<B>((resume) => {
      taker.resume = resume as (effect: Effect.Effect<A | Chunk.Chunk<A>>) => void
      // Copies: watching a taker whose fiber has just ended cancels it at once.
      if (this.woken.length > 0) { for (const ahead of [...this.woken]) this.watch(ahead) }
      if (this.waiting.length > 0) { for (const ahead of [...this.waiting]) this.watch(ahead) }
      this.waiting.push(taker)
      // An event may have arrived since the caller looked (the fiber can yield in between).
      this.dispatch()
    })
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const taker = this.waiting[0]!
      if (taker.stale) {
        this.waiting.shift()
        this.unwatch(taker)
        taker.state = DONE
        continue
      }
      if (this.len - this.reserved < taker.min) return
      this.waiting.shift()
      taker.state = WOKEN
      this.reserved += taker.min
      this.woken.push(taker)
      taker.resume(Effect.suspend(() => this.collect(taker)))
    }
  }

  /** Runs on the woken taker's fiber: only now do its events leave the window. */
  private collect(taker: Taker<A>): Effect.Effect<A | Chunk.Chunk<A>> {
    if (taker.state !== WOKEN) return Effect.interrupt // the subscription was shut down
    taker.state = DONE
    this.unwatch(taker)
    remove(this.woken, taker)
    this.reserved -= taker.min
    if (taker.single) return Effect.succeed(this.shift())
    return Effect.succeed(Chunk.unsafeFromArray(this.drain(Math.min(taker.max, this.len - this.reserved))))
  }

  /**
   * Releases stale takers, woken or waiting, and those `taking` left behind: a fiber that takes
   * again will never collect for an earlier take.
   */
  private reap(taking?: AnyFiber): void {
    if (this.woken.length === 0 && this.waiting.length === 0) return
    const left = (t: Taker<A>) => t.fiber === taking || t.stale
    for (const taker of [...this.woken.filter(left), ...this.waiting.filter(left)]) this.cancel(taker)
  }

  /** Takes back a taker that will never collect: its place in line, or its reserved events. */
  private cancel(taker: Taker<A>): void {
    this.unwatch(taker)
    if (taker.state === WAITING) {
      const first = this.waiting[0] === taker
      remove(this.waiting, taker)
      taker.state = DONE
      if (first) this.dispatch()
    } else if (taker.state === WOKEN) {
      remove(this.woken, taker)
      taker.state = DONE
      if (!this.shutdownFlag) {
        this.reserved -= taker.min
        this.dispatch()
      }
    }
  }

  /** Others wait behind `taker`: if its fiber ends first, it must make way at once. */
  private watch(taker: Taker<A>): void {
    if (taker.onEnd !== undefined) return
    const onEnd = () => this.cancel(taker)
    taker.onEnd = onEnd
    taker.fiber.addObserver(onEnd)
  }

  private unwatch(taker: Taker<A>): void {
    if (taker.onEnd === undefined) return
    taker.fiber.removeObserver(taker.onEnd)
    taker.onEnd = undefined
  }

  private push(a: A): void {
    if (this.len === this.windowCapacity) {
      this.buf[this.head] = undefined
      this.head = (this.head + 1) & this.mask
      this.len--
    } else if (this.len === this.buf.length) {
      this.grow()
    }
    this.buf[(this.head + this.len) & this.mask] = a
    this.len++
  }

  private grow(): void {
    const old = this.buf
    const next = new Array<A | undefined>(old.length * 2)
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask]
    this.buf = next
    this.mask = next.length - 1
    this.head = 0
  }

  private shift(): A {
    const a = this.buf[this.head] as A
    this.buf[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.len--
    return a
  }

  private drain(n: number): Array<A> {
    const out = new Array<A>(n)
    for (let i = 0; i < n; i++) {
      const j = (this.head + i) & this.mask
      out[i] = this.buf[j] as A
      this.buf[j] = undefined
    }
    this.head = (this.head + n) & this.mask
    this.len -= n
    return out
  }
}

/** What a hub publishes to: a subscription's window or a listener. */
interface Sink<A> {
  offer(a: A): void
  offerAll(as: ReadonlyArray<A>): void
  unsafeShutdown(id: FiberId.FiberId): void
}

/**
 * A plain function called with every event, in order: what a publish hands over is passed on in
 * one microtask after it (so the listener never runs inside the publisher's own call, and may
 * publish or send itself). Nothing is dropped: what waits is only what one synchronous run
 * published, and a hub that shuts down still passes on what was published before. A listener
 * that throws, or returns a promise that rejects, is reported to `onDefect` and keeps listening.
 *
 * @since 2.1.0
 * @category models
 */
export class Listener<A> implements Sink<A> {
  private pending: Array<A> = []
  private scheduled = false
  /** Offers are taken (until the hub shuts down or the listener stops). */
  private open = true
  /** Events are passed on (until the listener stops). */
  private active = true

  constructor(
    private readonly hub: Hub<A>,
    private readonly listener: (a: A) => unknown,
    private readonly onDefect: (defect: unknown) => void
  ) {}

  /** @internal */
  offer(a: A): void {
    if (!this.open) return
    this.pending.push(a)
    this.schedule()
  }

  /** @internal */
  offerAll(as: ReadonlyArray<A>): void {
    if (!this.open) return
    for (let i = 0; i < as.length; i++) this.pending.push(as[i]!)
    this.schedule()
  }

  /** The hub shuts down: nothing more arrives, what was published is still passed on. */
  unsafeShutdown(): void {
    this.open = false
  }

  /** Stops at once (from inside the listener too): not even events already published are passed on. */
  stop(): void {
    if (!this.active) return
    this.open = false
    this.active = false
    this.pending = []
    this.hub.remove(this)
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(this.run)
  }

  private readonly run = (): void => {
    this.scheduled = false
    const events = this.pending
    this.pending = []
    for (let i = 0; i < events.length && this.active; i++) {
      try {
        const result = this.listener(events[i]!)
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
          ;(result as PromiseLike<unknown>).then(undefined, this.onDefect)
        }
      } catch (defect) {
        this.onDefect(defect)
      }
    }
  }
}

/**
 * @since 2.0.0
 * @category models
 */
export class Hub<A> {
  private subscribers: ReadonlyArray<Sink<A>> = []
  private closed = false

  constructor(readonly capacity: number) {}

  get subscriberCount(): number {
    return this.subscribers.length
  }

  /** Delivers `a` to every current subscriber; `false` once the hub is shut down. */
  readonly publish = (a: A): boolean => {
    const subscribers = this.subscribers
    if (subscribers.length === 1) subscribers[0]!.offer(a)
    else for (let i = 0; i < subscribers.length; i++) subscribers[i]!.offer(a)
    return !this.closed
  }

  /** Delivers `as`, in order, to every current subscriber; `false` once the hub is shut down. */
  readonly publishAll = (as: ReadonlyArray<A>): boolean => {
    const subscribers = this.subscribers
    if (as.length > 0) { for (let i = 0; i < subscribers.length; i++) subscribers[i]!.offerAll(as) }
    return !this.closed
  }

  readonly unsafeSubscribe = (): Subscription<A> => {
    const subscription = new Subscription(this, this.capacity)
    if (this.closed) subscription.unsafeShutdown(FiberId.none)
    else this.subscribers = [...this.subscribers, subscription]
    return subscription
  }

  /** Calls `listener` with every event published from now on (see {@link Listener}). */
  readonly unsafeListen = (listener: (a: A) => unknown, onDefect: (defect: unknown) => void): Listener<A> => {
    const sink = new Listener(this, listener, onDefect)
    if (this.closed) sink.unsafeShutdown()
    else this.subscribers = [...this.subscribers, sink]
    return sink
  }

  /** A listener that stops when the scope closes; what it throws (or rejects with) is logged as an error. */
  readonly listen = (listener: (a: A) => unknown): Effect.Effect<void, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.map(Effect.runtime<never>(), (runtime) => {
        const log = Runtime.runSync(runtime)
        return this.unsafeListen(listener, (defect) =>
          log(Effect.logError("an event listener failed", Cause.die(defect))))
      }),
      (sink) =>
        Effect.sync(() => sink.stop())
    )

  /** A subscription that ends (is shut down) when the scope closes. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<A>, never, Scope.Scope> = Effect.acquireRelease(
    Effect.sync(() => this.unsafeSubscribe()),
    (subscription) => subscription.shutdown
  )

  /** Subscribes when run, then emits every event published after that. */
  readonly stream: Stream.Stream<A> = Stream.unwrapScoped(Effect.map(this.subscribe, (q) => Stream.fromQueue(q)))

  /** Shuts down every subscription; later subscriptions start shut down. */
  readonly shutdown: Effect.Effect<void> = Effect.fiberIdWith((id) =>
    Effect.sync(() => {
      this.closed = true
      for (const subscription of this.subscribers) subscription.unsafeShutdown(id)
      this.subscribers = []
    })
  )

  readonly isShutdown: Effect.Effect<boolean> = Effect.sync(() => this.closed)

  /** @internal */
  remove(subscription: Sink<A>): void {
    this.subscribers = this.subscribers.filter((s) => s !== subscription)
  }
}

/**
 * A hub that is shut down when the scope closes.
 *
 * @since 2.0.0
 * @category constructors
 */
export const make = <A>(capacity: number): Effect.Effect<Hub<A>, never, Scope.Scope> =>
  capacity >= 1 && Number.isInteger(capacity)
    ? Effect.acquireRelease(Effect.sync(() => new Hub<A>(capacity)), (hub) => hub.shutdown)
    : Effect.dieMessage(`A hub needs a positive integer capacity, got ${capacity}`)
