/**
 * Owns one {@link PeerActor} per contact in a FiberMap keyed by uid. Each actor runs in its own
 * scope; a defect restarts that actor alone (exponential 500 ms × 1.5 up to every 10 s) while
 * the others go on. Follows the contact book to start, restart and stop actors.
 *
 * @since 2.0.0
 */
import { Cause, Context, Effect, FiberMap, Layer, Queue, Schedule } from "effect"
import type { Contact } from "../domain/Contact.js"
import type { NotConnected } from "../domain/Errors.js"
import { ContactError } from "../domain/Errors.js"
import type { LinkHealth } from "../domain/Events.js"
import type { Uid } from "../domain/Ids.js"
import type { WireMessage } from "../domain/Messages.js"
import type { Channel } from "../protocol/Channel.js"
import type { ContactChange } from "../services/ContactBook.js"
import { ContactBook } from "../services/ContactBook.js"
import type { PeerActor } from "./PeerActor.js"
import * as PeerActorModule from "./PeerActor.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface PeerSupervisorShape {
  readonly offerInbound: (uid: Uid, channel: Channel) => Effect.Effect<void>
  readonly connectNow: (uid: Uid) => Effect.Effect<void, ContactError>
  readonly sendControl: (uid: Uid, message: WireMessage) => Effect.Effect<void, ContactError>
  readonly ping: (uid: Uid) => Effect.Effect<number, ContactError | NotConnected>
  readonly health: (uid: Uid) => Effect.Effect<LinkHealth, ContactError>
  readonly healthAll: Effect.Effect<ReadonlyArray<LinkHealth>>
  /** The live actor of a contact (tests and diagnostics). */
  readonly actor: (uid: Uid) => Effect.Effect<PeerActor, ContactError>
}

/**
 * @since 2.0.0
 * @category services
 */
export class PeerSupervisor extends Context.Tag("jarvis/PeerSupervisor")<PeerSupervisor, PeerSupervisorShape>() {}

/**
 * How a crashed actor is restarted.
 *
 * @since 2.0.0
 * @category constants
 */
export const restartPolicy = Schedule.exponential("500 millis", 1.5).pipe(Schedule.union(Schedule.spaced("10 seconds")))

/**
 * Runs an actor and restarts it after each crash, the delays following `restartPolicy` across
 * consecutive crashes. The schedule's driver is made at the first crash, and the loop is one
 * failure handler inside `forever`: an idle actor's suspended stack carries nothing else
 * (`sandbox` + `retry` cost ~5 KiB per actor).
 *
 * @since 2.0.0
 * @category supervision
 */
export const supervise = (actor: Pick<PeerActor, "run" | "restarted">, peer: string): Effect.Effect<never> =>
  Effect.suspend(() => {
    let delays: Schedule.ScheduleDriver<unknown> | undefined
    const restart = (cause: Cause.Cause<never>) =>
      Effect.gen(function*() {
        yield* Effect.logError("peer actor crashed; restarting", Cause.pretty(cause)).pipe(
          Effect.annotateLogs({ module: "Jarvis/PeerSupervisor", peer })
        )
        yield* actor.restarted
        delays ??= yield* Schedule.driver(restartPolicy)
        // The policy never ends; were it to, the actor would stay down.
        yield* Effect.catchAll(delays.next(undefined), () => Effect.never)
      })
    return Effect.forever(Effect.catchAllCause(actor.run, restart))
  })

const linkFields = (c: Contact) => `${c.host}:${c.port}:${c.legacy}:${Buffer.from(c.publicKey).toString("hex")}`

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const contacts = yield* ContactBook
  const fibers = yield* FiberMap.make<Uid>()
  const actors = new Map<Uid, PeerActor>()

  const start = (contact: Contact) =>
    FiberMap.run(
      fibers,
      contact.uid,
      Effect.scoped(
        Effect.gen(function*() {
          const actor = yield* PeerActorModule.make(contact)
          actors.set(contact.uid, actor)
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => actors.get(contact.uid) === actor && actors.delete(contact.uid))
          )
          return yield* supervise(actor, contact.username)
        })
      )
    )

  const stop = (uid: Uid) => FiberMap.remove(fibers, uid)

  const changes = yield* contacts.subscribe
  yield* Effect.forEach(yield* contacts.list, start, { discard: true })
  const apply = (change: ContactChange) => {
    switch (change._tag) {
      case "Added":
        return start(change.contact)
      case "Updated": {
        const current = actors.get(change.contact.uid)
        return current !== undefined && linkFields(current.contact) === linkFields(change.contact)
          ? Effect.void
          : start(change.contact)
      }
      case "Removed":
        return stop(change.uid)
    }
  }
  yield* Effect.forkScoped(Effect.gen(function*() {
    while (true) {
      for (const change of yield* Queue.takeBetween(changes, 1, 1024)) yield* apply(change)
    }
  }))

  const actor = (uid: Uid) =>
    Effect.suspend(() => {
      const found = actors.get(uid)
      return found === undefined ? new ContactError({ reason: "NotFound", detail: uid }) : Effect.succeed(found)
    })

  return PeerSupervisor.of({
    offerInbound: (uid, channel) =>
      Effect.suspend(() => {
        const found = actors.get(uid)
        return found === undefined ? channel.close : found.offerInbound(channel)
      }),
    connectNow: (uid) => Effect.flatMap(actor(uid), (a) => a.connectNow),
    sendControl: (uid, message) => Effect.flatMap(actor(uid), (a) => a.sendControl(message)),
    ping: (uid) => Effect.flatMap(actor(uid), (a) => a.ping),
    health: (uid) => Effect.flatMap(actor(uid), (a) => a.health),
    healthAll: Effect.suspend(() => Effect.forEach([...actors.values()], (a) => a.health)),
    actor
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = Layer.scoped(PeerSupervisor, make)
