import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Queue, Scope } from "effect"
import type { RuntimeEvent } from "../src/domain/Events.js"
import type { Uid } from "../src/domain/Ids.js"
import { generateKeyPair } from "../src/protocol/crypto/X25519.js"
import * as NodeStream from "../src/protocol/NodeStream.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"
import type { UnlockedIdentity } from "../src/services/Identity.js"
import { layerTcp, Transport } from "../src/services/Transport.js"
import { hello } from "./support/channel.js"
import { contactOf, makeIdentity, startNode } from "./support/node.js"

const HOST = "127.0.0.1"
const tcp = Effect.runSync(Effect.provide(Transport, layerTcp))
const start = (identity: UnlockedIdentity, listenPort = 0) =>
  startNode({
    identity,
    contacts: [],
    transport: tcp,
    settings: {
      bindAddress: HOST,
      listenPort,
      backoffInitial: Duration.millis(100),
      backoffMax: Duration.seconds(1),
      duplicateWindow: Duration.millis(300)
    }
  })

type Node = Effect.Effect.Success<ReturnType<typeof start>>

const waitFor = <A extends RuntimeEvent>(
  queue: Queue.Dequeue<RuntimeEvent>,
  pred: (e: RuntimeEvent) => e is A,
  what: string
) =>
  Effect.gen(function*() {
    while (true) {
      const event = yield* Queue.take(queue)
      if (pred(event)) return event
    }
  }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) }))

const connected = (contact: Uid) => (e: RuntimeEvent): e is Extract<RuntimeEvent, { _tag: "LinkStateChanged" }> =>
  e._tag === "LinkStateChanged" && e.contact === contact && e.state === "connected"

const message = (body: string) => (e: RuntimeEvent): e is Extract<RuntimeEvent, { _tag: "MessageReceived" }> =>
  e._tag === "MessageReceived" && e.body === body

const introduce = (x: Node, y: Node, options: { readonly legacy?: boolean } = {}) =>
  Effect.zipRight(
    x.contacts.add(contactOf(y.identity, HOST, { port: y.listener.address.port, ...options })),
    y.contacts.add(contactOf(x.identity, HOST, { port: x.listener.address.port, ...options }))
  )

describe("two runtimes over real TCP on 127.0.0.1", () => {
  it.scopedLive("connect, authenticate and exchange messages both ways", () =>
    Effect.gen(function*() {
      const a = makeIdentity("alice", 0)
      const b = makeIdentity("bob", 0)
      const alice = yield* start(a)
      const bob = yield* start(b)
      const aliceEvents = yield* alice.events.subscribe
      const bobEvents = yield* bob.events.subscribe
      yield* introduce(alice, bob)
      yield* waitFor(aliceEvents, connected(b.profile.uid), "alice connected")
      yield* waitFor(bobEvents, connected(a.profile.uid), "bob connected")
      yield* alice.runtime.send(b.profile.uid, "hello over tcp")
      yield* waitFor(bobEvents, message("hello over tcp"), "bob receives")
      yield* bob.runtime.send(a.profile.uid, "and back")
      yield* waitFor(aliceEvents, message("and back"), "alice receives")
      const health = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(health.protocol, "v2")
      assert.strictEqual(health.remoteAddress?.startsWith("127.0.0.1:"), true)
    }))

  it.scopedLive("when one side stops and restarts, the other reconnects and traffic resumes", () =>
    Effect.gen(function*() {
      const a = makeIdentity("alice", 0)
      const b = makeIdentity("bob", 0)
      const alice = yield* start(a)
      const bobScope = yield* Scope.make()
      const bob = yield* Scope.extend(start(b), bobScope)
      const aliceEvents = yield* alice.events.subscribe
      yield* introduce(alice, bob)
      yield* waitFor(aliceEvents, connected(b.profile.uid), "first link")
      const port = bob.listener.address.port
      yield* Scope.close(bobScope, Exit.void)
      yield* waitFor(
        aliceEvents,
        (e): e is Extract<RuntimeEvent, { _tag: "LinkStateChanged" }> =>
          e._tag === "LinkStateChanged" && e.state === "backoff",
        "alice notices"
      )
      yield* alice.runtime.send(b.profile.uid, "while you were away")

      const bob2 = yield* start(b, port)
      const bob2Events = yield* bob2.events.subscribe
      yield* bob2.contacts.add(contactOf(a, HOST, { port: alice.listener.address.port }))
      yield* waitFor(aliceEvents, connected(b.profile.uid), "reconnected")
      yield* waitFor(bob2Events, message("while you were away"), "queued message delivered after restart")
      yield* alice.runtime.send(b.profile.uid, "traffic resumed")
      yield* waitFor(bob2Events, message("traffic resumed"), "new traffic")
    }))

  it.scopedLive("an impostor holding the victim's public key but not its private key is rejected", () =>
    Effect.gen(function*() {
      const a = makeIdentity("alice", 0)
      const b = makeIdentity("bob", 0)
      const alice = yield* start(a)
      const bob = yield* start(b)
      yield* bob.contacts.add(contactOf(a, HOST, { port: 1 }))
      const mallory = generateKeyPair()
      const stream = yield* NodeStream.connect(HOST, bob.listener.address.port)
      const attempt = yield* Effect.exit(
        SecureChannel.initiate(stream, b.keyPair.publicKey, {
          staticKeyPair: { publicKey: a.keyPair.publicKey, privateKey: mallory.privateKey },
          hello: hello("alice", a.profile.uid)
        })
      )
      assert.isTrue(Exit.isFailure(attempt))
      yield* Effect.repeat(bob.listener.rejected, { until: (n) => n === 1, times: 1000 }).pipe(
        Effect.timeout("5 seconds")
      )
      assert.strictEqual(yield* bob.listener.rejected, 1)
      assert.notStrictEqual((yield* bob.runtime.health(a.profile.uid)).state, "connected")
      void alice
    }))

  it.scopedLive("a legacy v1 link between our v1 codec on both ends carries messages", () =>
    Effect.gen(function*() {
      const a = makeIdentity("alice", 0)
      const b = makeIdentity("bob", 0)
      const alice = yield* start(a)
      const bob = yield* start(b)
      const aliceEvents = yield* alice.events.subscribe
      const bobEvents = yield* bob.events.subscribe
      yield* introduce(alice, bob, { legacy: true })
      yield* waitFor(aliceEvents, connected(b.profile.uid), "v1 link")
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).protocol, "v1")
      const sent = yield* alice.runtime.send(b.profile.uid, "old school é 👋")
      yield* waitFor(bobEvents, message("old school é 👋"), "bob receives over v1")
      const receipt = yield* waitFor(aliceEvents, (e): e is Extract<RuntimeEvent, { _tag: "ReceiptReceived" }> =>
        e._tag === "ReceiptReceived", "written counts as delivered on v1")
      assert.deepStrictEqual(receipt.ids, [sent.id])
      yield* bob.runtime.send(a.profile.uid, "reply")
      yield* waitFor(aliceEvents, message("reply"), "alice receives over v1")
    }))
})
