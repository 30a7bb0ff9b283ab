/**
 * Reconnection delays from a Schedule, stepped by hand so the actor can publish the next retry
 * time before it sleeps. Time and jitter come from Clock and Random, so TestClock drives them.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
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

/** The delays of `policy(settings)`, made once per settings (the actors of a runtime share them). */
const shared = new WeakMap<RuntimeSettings, Schedule.Schedule<Duration.Duration>>()

export const delaysOf = (settings: RuntimeSettings): Schedule.Schedule<Duration.Duration> => {
  let delays = shared.get(settings)
  if (delays === undefined) shared.set(settings, delays = Schedule.delays(policy(settings)))
  return delays
}

/** One actor's place in `delays`: only the schedule's state is its own. */
export const make = (delays: Schedule.Schedule<Duration.Duration>): Effect.Effect<Backoff> =>
  Effect.sync(() => {
    let state: unknown = delays.initial
    return {
      next: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(delays.step(now, undefined, state), ([next, delay]) => {
          state = next
          return Duration.millis(Math.max(0, Math.round(Duration.toMillis(delay))))
        })),
      reset: Effect.sync(() => {
        state = delays.initial
      })
    }
  })
