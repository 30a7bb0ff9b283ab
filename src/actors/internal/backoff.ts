/**
 * Reconnection delays from a Schedule, stepped by hand so the actor can publish the next retry
 * time before it sleeps. Time and jitter come from Clock and Random, so TestClock drives them.
 */
import { Clock, Duration, Effect, Ref, Schedule } from "effect"
import type { RuntimeSettings } from "../../services/RuntimeConfig.js"

/** Exponential from `backoffInitial` by `backoffFactor`, jittered ±20 %, capped at `backoffMax`. */
export const policy = (settings: RuntimeSettings): Schedule.Schedule<unknown> =>
  Schedule.exponential(settings.backoffInitial, settings.backoffFactor).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(settings.backoffMax))
  )

export interface Backoff {
  readonly next: Effect.Effect<Duration.Duration>
  readonly reset: Effect.Effect<void>
}

export const make = (schedule: Schedule.Schedule<unknown>): Effect.Effect<Backoff> =>
  Effect.gen(function*() {
    const delays = Schedule.delays(schedule)
    const state = yield* Ref.make<unknown>(delays.initial)
    return {
      next: Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const [next, delay] = yield* delays.step(now, undefined, yield* Ref.get(state))
        yield* Ref.set(state, next)
        return Duration.millis(Math.max(0, Math.round(Duration.toMillis(delay))))
      }),
      reset: Ref.set(state, delays.initial)
    }
  })
