/**
 * One timer fiber for the whole runtime: keepalive pings, dead-link deadlines, rekeys and
 * reconnection delays of every link are entries in one heap, so an idle link costs no fiber of
 * its own. Time comes from Clock, so TestClock drives every entry.
 *
 * @since 2.0.0
 */
import { Clock, Context, Effect, Layer } from "effect"

/**
 * @since 2.0.0
 * @category models
 */
export interface TimersShape {
  /** Runs `task` at Clock time `at` (ms) unless the returned function cancels it first. */
  readonly schedule: (at: number, task: Effect.Effect<void>) => () => void
}

/**
 * @since 2.0.0
 * @category services
 */
export class Timers extends Context.Tag("jarvis/Timers")<Timers, TimersShape>() {}

interface Entry {
  readonly at: number
  readonly seq: number
  readonly task: Effect.Effect<void>
  /** In the heap and not cancelled. */
  live: boolean
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

class Heap {
  private items: Array<Entry> = []

  get size() {
    return this.items.length
  }

  peek(): Entry | undefined {
    return this.items[0]
  }

  push(entry: Entry): void {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  /** Drops every cancelled entry at once (a cancelled entry otherwise waits for its time). */
  compact(): void {
    const kept = this.items.filter((entry) => entry.live)
    this.items = []
    for (const entry of kept) this.push(entry)
  }

  pop(): Entry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      while (true) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && before(items[l]!, items[m]!)) m = l
        if (r < items.length && before(items[r]!, items[m]!)) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m]!, items[i]!]
        i = m
      }
    }
    return top
  }
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const heap = new Heap()
  let seq = 0
  /** Cancelled entries still in the heap: compacted once they are most of it. */
  let cancelled = 0
  let wake: ((effect: Effect.Effect<void>) => void) | undefined
  /** Set by a signal nobody was waiting for yet: the loop must look at the heap again. */
  let signalled = false

  const signal = () => {
    signalled = true
    const resume = wake
    wake = undefined
    resume?.(Effect.void)
  }

  // The wait is registered some time after the loop looked at the heap (raceFirst starts it in
  // a child fiber); a signal in between is remembered instead of lost.
  const waitForWork = Effect.async<void>((resume) => {
    if (signalled) return resume(Effect.void)
    wake = resume
    return Effect.sync(() => {
      if (wake === resume) wake = undefined
    })
  })

  const loop = Effect.gen(function*() {
    while (true) {
      signalled = false
      while (heap.peek()?.live === false) {
        heap.pop()
        cancelled--
      }
      const next = heap.peek()
      if (next === undefined) {
        yield* waitForWork
        continue
      }
      const now = yield* Clock.currentTimeMillis
      if (next.at <= now) {
        heap.pop()
        next.live = false
        yield* Effect.catchAllCause(next.task, Effect.logError)
        continue
      }
      yield* Effect.raceFirst(Effect.sleep(next.at - now), waitForWork)
    }
  })
  yield* Effect.forkScoped(Effect.interruptible(loop))

  return Timers.of({
    schedule: (at, task) => {
      const entry: Entry = { at, seq: seq++, task, live: true }
      const earliest = heap.peek()
      heap.push(entry)
      if (earliest === undefined || before(entry, earliest)) signal()
      return () => {
        if (!entry.live) return
        entry.live = false
        if (++cancelled > 64 && cancelled * 2 > heap.size) {
          heap.compact()
          cancelled = 0
        }
      }
    }
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layer: Layer.Layer<Timers> = Layer.scoped(Timers, make)
