/**
 * The runtime's event bus. Publishing never waits for subscribers: each subscriber has a bounded
 * window and a subscriber that falls behind loses the oldest events (the durable event log, with
 * its cursors, is where nothing is ever lost).
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer } from "effect"
import type { Queue, Scope, Stream } from "effect"
import type { RuntimeEvent } from "../domain/Events.js"
import * as Hub from "./internal/hub.js"
import type { WithUnsafe } from "./internal/unsafe.js"
import { withUnsafe } from "./internal/unsafe.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface EventsShape {
  readonly publish: (event: RuntimeEvent) => Effect.Effect<void>
  /** In memory it also runs synchronously (`publishAll.unsafe`); the event log writes first. */
  readonly publishAll: WithUnsafe<
    (events: ReadonlyArray<RuntimeEvent>) => Effect.Effect<void>,
    (events: ReadonlyArray<RuntimeEvent>) => void
  >
  readonly subscribe: Effect.Effect<Queue.Dequeue<RuntimeEvent>, never, Scope.Scope>
  /**
   * Calls `listener` with every event from now on until the scope closes, in order and without
   * loss: in a microtask after each publish, with no fiber and no queue (the cheapest way to
   * watch events, for code that reacts at once). A listener that throws, or returns a promise that
   * rejects, is logged and kept.
   */
  readonly listen: (listener: (event: RuntimeEvent) => unknown) => Effect.Effect<void, never, Scope.Scope>
  readonly stream: Stream.Stream<RuntimeEvent>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Events extends Context.Tag("jarvis/Events")<Events, EventsShape>() {}

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (capacity = 16_384) =>
  Effect.map(Hub.make<RuntimeEvent>(capacity), (hub) =>
    Events.of({
      publish: (event) =>
        Effect.sync(() => {
          hub.publish(event)
        }),
      publishAll: withUnsafe(
        (events: ReadonlyArray<RuntimeEvent>) =>
          Effect.sync(() => {
            hub.publishAll(events)
          }),
        (events: ReadonlyArray<RuntimeEvent>) => {
          hub.publishAll(events)
        }
      ),
      subscribe: hub.subscribe,
      listen: hub.listen,
      stream: hub.stream
    }))

/**
 * @since 2.0.0
 * @category layers
 */
export const layer: Layer.Layer<Events> = Layer.scoped(Events, make())
