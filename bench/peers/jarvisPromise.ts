/**
 * Two Jarvis nodes over loopback TCP, driven through the Promise API (`Jarvis.start`): the
 * applications are plain listeners, as secret-stream's are `data` callbacks.
 */
import { Duration, Effect } from "effect"
import * as Jarvis from "../../src/Jarvis.js"
import type { UnlockedIdentity } from "../../src/services/Identity.js"
import * as Identity from "../../src/services/Identity.js"
import { contactOf, HOST } from "./jarvis.js"
import type { Contender, Pair } from "./types.js"
import { deferred } from "./types.js"

const settings = { bindAddress: HOST, listenPort: 0, mailboxCapacity: 10_000_000, duplicateWindow: Duration.millis(50) }

const identity = (username: string): Promise<UnlockedIdentity> =>
  Effect.runPromise(Identity.generate({ username, listenPort: 0 }))

/**
 * The one listener of each node, as an application has: it counts what arrives (resolving `done`
 * when `target` arrived) or, on an echoing node, answers every message with its body.
 */
const application = (node: Jarvis.JarvisNode) => {
  const state = { received: 0, target: 0, done: deferred(), echoTo: undefined as string | undefined }
  node.on((event) => {
    if (event._tag !== "MessageReceived") return
    if (state.echoTo !== undefined) void node.send(state.echoTo, event.body)
    else if (++state.received === state.target) state.done.resolve()
  })
  return {
    expect: (n: number) => {
      state.received = 0
      state.target = n
      state.done = deferred()
      return state.done.promise
    },
    echo: (to: string | undefined) => {
      state.echoTo = to
    }
  }
}

const startPair = async () => {
  const alice = await Jarvis.start({ identity: await identity("alice"), settings })
  const bob = await Jarvis.start({ identity: await identity("bob"), settings })
  await bob.putContact(contactOf(alice, 0))
  return { alice, bob, atAlice: application(alice), atBob: application(bob) }
}

export const jarvisPromise = (): Contender => {
  let connectPair: Awaited<ReturnType<typeof startPair>> | undefined
  return {
    name: "Jarvis runtime, Promise API",
    open: async (): Promise<Pair> => {
      const { alice, atAlice, atBob, bob } = await startPair()
      const first = atBob.expect(1)
      await alice.putContact(contactOf(bob, bob.address.port))
      await alice.send(bob.profile.uid, "x".repeat(100))
      await first
      const to = bob.profile.uid
      return {
        blast: async (count, size) => {
          atBob.echo(undefined)
          const body = "x".repeat(size)
          const received = atBob.expect(count)
          for (let i = 0; i < count; i++) await alice.send(to, body)
          await received
        },
        roundTrip: (size) => {
          atBob.echo(alice.profile.uid)
          const back = atAlice.expect(1)
          return alice.send(to, "y".repeat(size)).then(() => back)
        },
        ping: () => alice.ping(to).then(() => {}),
        close: async () => {
          await alice.close()
          await bob.close()
        }
      }
    },
    connectOnce: async () => {
      connectPair ??= await startPair()
      const { alice, atBob, bob } = connectPair
      const contact = contactOf(bob, bob.address.port) // what a user has before connecting
      const start = performance.now()
      const first = atBob.expect(1)
      await alice.putContact(contact)
      await alice.send(bob.profile.uid, "x".repeat(100))
      await first
      const ms = performance.now() - start
      // Both sides finish with the link (alice's actor is gone, bob saw the link end) before the
      // next sample, so that its teardown does not run inside the next timed connect.
      await alice.removeContact(bob.profile.uid)
      const settled = async () =>
        (await alice.health(bob.profile.uid).then(() => false, () => true)) &&
        (await bob.health(alice.profile.uid)).state !== "connected"
      while (!(await settled())) await new Promise((resolve) => setTimeout(resolve, 1))
      return ms
    },
    dispose: async () => {
      if (connectPair === undefined) return
      await connectPair.alice.close()
      await connectPair.bob.close()
      connectPair = undefined
    }
  }
}
