/** Two Jarvis runtimes over loopback TCP, driven through the public runtime API. */
import { Context, Duration, Effect, Exit, Fiber, Layer, Queue, Scope } from "effect"
import { Listener } from "../../src/actors/Listener.js"
import type { Runtime as RuntimeService } from "../../src/actors/Runtime.js"
import { Runtime } from "../../src/actors/Runtime.js"
import { Contact } from "../../src/domain/Contact.js"
import type { RuntimeEvent } from "../../src/domain/Events.js"
import * as Embedded from "../../src/Embedded.js"
import { ContactBook } from "../../src/services/ContactBook.js"
import { Events } from "../../src/services/Events.js"
import type { Profile, UnlockedIdentity } from "../../src/services/Identity.js"
import * as Identity from "../../src/services/Identity.js"
import type { Contender, Pair } from "./types.js"

export const HOST = "127.0.0.1"
const settings = { bindAddress: HOST, listenPort: 0, mailboxCapacity: 10_000_000, duplicateWindow: Duration.millis(50) }

/** The contact another node has for `node` (an identity or a running node) listening on `port`. */
export const contactOf = (node: { readonly profile: Profile }, port: number) =>
  new Contact({
    uid: node.profile.uid,
    username: node.profile.username,
    publicKey: node.profile.publicKey,
    fingerprint: node.profile.fingerprint,
    host: HOST,
    port,
    verified: true,
    legacy: false,
    signed: true,
    notes: "",
    addedAt: 0
  })

const start = (identity: UnlockedIdentity, scope: Scope.Scope) =>
  Effect.gen(function*() {
    const context = yield* Layer.buildWithScope(Embedded.layer({ identity, settings }), scope)
    const events = Context.get(context, Events)
    return {
      identity,
      runtime: Context.get(context, Runtime) as Context.Tag.Service<typeof RuntimeService>,
      contacts: Context.get(context, ContactBook),
      port: Context.get(context, Listener).address.port,
      inbox: yield* Scope.extend(events.subscribe, scope)
    }
  })

/** Waits until `n` more MessageReceived events arrived on `queue`. */
const countMessages = (queue: Queue.Dequeue<RuntimeEvent>, n: number): Effect.Effect<void> =>
  Effect.flatMap(Queue.takeBetween(queue, 1, 65536), (events) => {
    let left = n
    for (const e of events) if (e._tag === "MessageReceived") left--
    return left <= 0 ? Effect.void : countMessages(queue, left)
  })

const startPair = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const a = yield* Identity.generate({ username: "alice", listenPort: 0 })
  const b = yield* Identity.generate({ username: "bob", listenPort: 0 })
  const alice = yield* start(a, scope)
  const bob = yield* start(b, scope)
  yield* bob.contacts.add(contactOf(a, 0))
  return { scope, alice, bob }
})

const link = (
  alice: Effect.Effect.Success<typeof startPair>["alice"],
  bob: Effect.Effect.Success<typeof startPair>["bob"],
  contact = contactOf(bob.identity, bob.port)
) =>
  Effect.gen(function*() {
    yield* alice.contacts.add(contact)
    yield* alice.runtime.send(bob.identity.profile.uid, "x".repeat(100))
    yield* countMessages(bob.inbox, 1)
  })

/**
 * Removes the contact and waits until both sides have finished with the link (alice's actor is
 * gone, bob's has seen the link end), so that one sample's teardown does not run inside the next
 * sample's timed connect.
 */
const unlink = (
  alice: Effect.Effect.Success<typeof startPair>["alice"],
  bob: Effect.Effect.Success<typeof startPair>["bob"]
) =>
  Effect.gen(function*() {
    yield* alice.runtime.removeContact(bob.identity.profile.uid)
    const settled = Effect.gen(function*() {
      const aliceGone = Exit.isFailure(yield* Effect.exit(alice.runtime.health(bob.identity.profile.uid)))
      const bobHealth = yield* Effect.orDie(bob.runtime.health(alice.identity.profile.uid))
      return aliceGone && bobHealth.state !== "connected"
    })
    while (!(yield* settled)) yield* Effect.sleep(Duration.millis(1))
  })

export const jarvis = (): Contender => {
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
  let connectPair: Effect.Effect.Success<typeof startPair> | undefined
  return {
    name: "Jarvis runtime, Effect API",
    open: async (): Promise<Pair> => {
      const { alice, bob, scope } = await run(startPair)
      await run(link(alice, bob))
      let echo: Fiber.RuntimeFiber<void> | undefined
      let roundTrips = { size: -1, effect: Effect.void as Effect.Effect<void, unknown> }
      return {
        blast: (count, size) =>
          run(Effect.gen(function*() {
            const body = "x".repeat(size)
            const receiving = yield* Effect.fork(countMessages(bob.inbox, count))
            for (let i = 0; i < count; i++) yield* alice.runtime.send(bob.identity.profile.uid, body)
            yield* Fiber.join(receiving)
          })),
        roundTrip: (size) => {
          if (echo === undefined) {
            // Bob answers every message with its body, through the same API.
            echo = Effect.runFork(Effect.gen(function*() {
              while (true) {
                for (const e of yield* Queue.takeBetween(bob.inbox, 1, 1024)) {
                  if (e._tag === "MessageReceived") {
                    yield* Effect.ignore(bob.runtime.send(alice.identity.profile.uid, e.body))
                  }
                }
              }
            }))
          }
          if (roundTrips.size !== size) {
            roundTrips = {
              size,
              effect: Effect.zipRight(
                alice.runtime.send(bob.identity.profile.uid, "y".repeat(size)),
                countMessages(alice.inbox, 1)
              )
            }
          }
          return run(roundTrips.effect)
        },
        ping: () => run(Effect.asVoid(Effect.orDie(alice.runtime.ping(bob.identity.profile.uid)))),
        close: () =>
          run(Effect.gen(function*() {
            if (echo !== undefined) yield* Fiber.interrupt(echo)
            yield* Scope.close(scope, Exit.void)
          }))
      }
    },
    connectOnce: async () => {
      connectPair ??= await run(startPair)
      const { alice, bob } = connectPair
      const contact = contactOf(bob.identity, bob.port) // what a user has before connecting
      const start = performance.now()
      await run(link(alice, bob, contact))
      const ms = performance.now() - start
      await run(unlink(alice, bob))
      return ms
    },
    dispose: async () => {
      if (connectPair !== undefined) await run(Scope.close(connectPair.scope, Exit.void))
      connectPair = undefined
    }
  }
}
