/**
 * The runtime's event bus. Publishing never waits for subscribers: each subscriber has a bounded
 * window and a subscriber that falls behind loses the oldest events (the durable event log, with
 * its cursors, is where nothing is ever lost).
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect"
import type { Queue, Scope } from "effect"
import type { RuntimeEvent } from "../domain/Events.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface EventsShape {
  readonly publish: (event: RuntimeEvent) => Effect.Effect<void>
  readonly publishAll: (events: ReadonlyArray<RuntimeEvent>) => Effect.Effect<void>
  readonly subscribe: Effect.Effect<Queue.Dequeue<RuntimeEvent>, never, Scope.Scope>
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
  Effect.gen(function*() {
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<RuntimeEvent>(capacity), PubSub.shutdown)
    return Events.of({
      publish: (event) => Effect.asVoid(PubSub.publish(pubsub, event)),
      publishAll: (events) => Effect.asVoid(PubSub.publishAll(pubsub, events)),
      subscribe: PubSub.subscribe(pubsub),
      stream: Stream.fromPubSub(pubsub)
    })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layer: Layer.Layer<Events> = Layer.scoped(Events, make())
