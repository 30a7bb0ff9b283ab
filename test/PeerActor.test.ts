import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel, Queue, TestClock } from "effect"
import { supervise } from "../src/actors/PeerSupervisor.js"
import type { RuntimeEvent } from "../src/domain/Events.js"
import type { MessageId } from "../src/domain/Ids.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"
import * as Inbox from "../src/services/Inbox.js"
import * as MemoryTransport from "../src/services/MemoryTransport.js"
import { connectPair, hello } from "./support/channel.js"
import { contactOf, makeIdentity, now, scriptedPeer, startNode } from "./support/node.js"

const HOST = "127.0.0.1"

/**
 * Lets every runnable fiber run, and what waits for the event loop's turn (delayed acks), without
 * moving the TestClock.
 */
const nextTurn = Effect.promise(() => new Promise<void>((resume) => setImmediate(resume)))
const settle = Effect.repeatN(Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 10), nextTurn), 5)

const pair = (settings = {}) =>
  Effect.gen(function*() {
    const network = yield* MemoryTransport.make
    const a = makeIdentity("alice", 5001)
    const b = makeIdentity("bob", 5002)
    const alice = yield* startNode({
      identity: a,
      contacts: [contactOf(b, HOST)],
      transport: network.transport,
      settings
    })
    const bob = yield* startNode({
      identity: b,
      contacts: [contactOf(a, HOST)],
      transport: network.transport,
      settings
    })
    return { network, alice, bob, a, b }
  })

const takeUntil = <A extends RuntimeEvent>(queue: Queue.Dequeue<RuntimeEvent>, pred: (e: RuntimeEvent) => e is A) =>
  Effect.gen(function*() {
    while (true) {
      const event = yield* Queue.take(queue)
      if (pred(event)) return event
    }
  })

describe("peer actors over the in-memory network (TestClock)", () => {
  it.scoped("simultaneous dials leave exactly one link, the same on both sides", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      yield* network.setDown(`${HOST}:5001`, true)
      yield* network.setDown(`${HOST}:5002`, true)
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(b, HOST)], transport: network.transport })
      const bob = yield* startNode({ identity: b, contacts: [contactOf(a, HOST)], transport: network.transport })
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "backoff")
      yield* network.setDown(`${HOST}:5001`, false)
      yield* network.setDown(`${HOST}:5002`, false)
      yield* Effect.all([alice.runtime.connectNow(b.profile.uid), bob.runtime.connectNow(a.profile.uid)])
      yield* settle
      const ha = yield* alice.runtime.health(b.profile.uid)
      const hb = yield* bob.runtime.health(a.profile.uid)
      assert.strictEqual(ha.state, "connected")
      assert.strictEqual(hb.state, "connected")
      assert.notStrictEqual(ha.direction, hb.direction, "one side's outbound link is the other's inbound link")
      const smaller = Buffer.compare(a.keyPair.publicKey, b.keyPair.publicKey) < 0 ? "alice" : "bob"
      assert.strictEqual(smaller === "alice" ? ha.direction : hb.direction, "outbound", "the smaller key's dial wins")
      const dialled = (yield* network.accepted(`${HOST}:5001`)) + (yield* network.accepted(`${HOST}:5002`))
      assert.strictEqual(dialled, 2, "both sides dialled")
      const open = (yield* network.openConnections(`${HOST}:5001`)) + (yield* network.openConnections(`${HOST}:5002`))
      assert.strictEqual(open, 1, "the duplicate was closed on both sides; no dead entry remains")
    }))

  it.scoped("messages flow both ways and acks come back as delivery receipts", () =>
    Effect.gen(function*() {
      const { a, alice, b, bob } = yield* pair()
      const bobEvents = yield* bob.events.subscribe
      const aliceEvents = yield* alice.events.subscribe
      yield* settle
      const sent = yield* alice.runtime.send(b.profile.uid, "hello bob")
      const received = yield* takeUntil(bobEvents, (e): e is Extract<RuntimeEvent, { _tag: "MessageReceived" }> =>
        e._tag === "MessageReceived")
      assert.strictEqual(received.body, "hello bob")
      assert.strictEqual(received.contact, a.profile.uid)
      assert.strictEqual(received.id, sent.id)
      const receipt = yield* takeUntil(aliceEvents, (e): e is Extract<RuntimeEvent, { _tag: "ReceiptReceived" }> =>
        e._tag === "ReceiptReceived")
      assert.deepStrictEqual(receipt.ids, [sent.id])
      assert.strictEqual(receipt.kind, "delivered")
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).queueDepth, 0)
      yield* bob.runtime.send(a.profile.uid, "hi alice")
      const back = yield* takeUntil(aliceEvents, (e): e is Extract<RuntimeEvent, { _tag: "MessageReceived" }> =>
        e._tag === "MessageReceived")
      assert.strictEqual(back.body, "hi alice")
    }))

  it.scoped("keepalive pings on schedule and measures RTT from the pong", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const s = makeIdentity("scripted", 6001)
      const links = yield* scriptedPeer(network.transport, s, HOST)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(s, HOST)], transport: network.transport })
      const link = yield* Queue.take(links)
      const pings: Array<[number, number]> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        for (const m of yield* link.receive) {
          if (m._tag === "Ping") {
            pings.push([yield* now, m.seq])
            yield* Effect.forkScoped(Effect.delay(link.send([{ _tag: "Pong", seq: m.seq }]), "7 millis"))
          }
        }
      })))
      yield* settle
      const t0 = yield* now
      yield* TestClock.adjust("14999 millis")
      yield* settle
      assert.strictEqual(pings.length, 0)
      yield* TestClock.adjust(1)
      yield* settle
      assert.deepStrictEqual(pings, [[t0 + 15_000, 1]])
      yield* TestClock.adjust(7)
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(s.profile.uid)).rttMs, 7)
      yield* TestClock.adjust("14993 millis")
      yield* settle
      assert.deepStrictEqual(pings.map(([t, seq]) => [t - t0, seq]), [[15_000, 1], [30_000, 2]])
    }))

  it.scoped("an explicit ping answers with the pong's round trip, and fails when no pong comes or the link ends", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const s = makeIdentity("scripted", 6003)
      const links = yield* scriptedPeer(network.transport, s, HOST)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(s, HOST)], transport: network.transport })
      const link = yield* Queue.take(links)
      const nextPing = Effect.gen(function*() {
        while (true) {
          for (const m of yield* link.receive) if (m._tag === "Ping") return m.seq
        }
      })
      yield* settle
      const answered = yield* Effect.fork(alice.runtime.ping(s.profile.uid))
      const seq = yield* nextPing
      yield* TestClock.adjust("5 millis")
      yield* link.send([{ _tag: "Pong", seq }])
      assert.strictEqual(yield* Fiber.join(answered), 5)

      // Unanswered: it fails at the dead-link deadline (traffic keeps the link itself alive).
      const unanswered = yield* Effect.fork(Effect.flip(alice.runtime.ping(s.profile.uid)))
      yield* nextPing
      yield* TestClock.adjust("44999 millis")
      yield* link.send([{ _tag: "Typing", active: true }])
      yield* settle
      assert.isNull(unanswered.unsafePoll(), "still waiting just before the deadline")
      yield* TestClock.adjust("1 millis")
      const timedOut = yield* Fiber.join(unanswered)
      assert.strictEqual(timedOut._tag, "NotConnected")
      assert.strictEqual(timedOut._tag === "NotConnected" ? timedOut.detail : undefined, "no pong")

      // The link ends while a ping waits: it fails at once instead of waiting for the deadline.
      const cut = yield* Effect.fork(Effect.flip(alice.runtime.ping(s.profile.uid)))
      yield* nextPing
      yield* link.close
      const lost = yield* Fiber.join(cut)
      assert.strictEqual(lost._tag, "NotConnected")
    }))

  it.scoped("a silent peer is declared dead exactly at the deadline and handed to reconnection", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const s = makeIdentity("silent", 6002)
      const links = yield* scriptedPeer(network.transport, s, HOST)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(s, HOST)], transport: network.transport })
      const events = yield* alice.events.subscribe
      yield* Queue.take(links)
      yield* settle
      const t0 = yield* now
      assert.strictEqual((yield* alice.runtime.health(s.profile.uid)).state, "connected")
      yield* TestClock.adjust("44999 millis")
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(s.profile.uid)).state, "connected")
      yield* TestClock.adjust(1)
      yield* settle
      const health = yield* alice.runtime.health(s.profile.uid)
      assert.strictEqual(health.state, "backoff")
      assert.match(health.lastError ?? "", /no traffic for 45s/)
      const changes = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).filter((e) => e._tag === "LinkStateChanged")
      const dead = changes.find((e) => e._tag === "LinkStateChanged" && e.state === "backoff")
      assert.strictEqual(dead?._tag === "LinkStateChanged" && dead.at - t0, 45_000)
      yield* TestClock.adjust("1200 millis")
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(s.profile.uid)).state, "connected", "reconnected")
      assert.strictEqual(yield* network.accepted(`${HOST}:6002`), 2)
    }))

  it.scoped("reconnection delays grow exponentially from 1 s within jitter bounds, are capped at 60 s, and reset after success", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const bobAddress = `${HOST}:5002`
      const links = yield* scriptedPeer(network.transport, b, HOST)
      yield* network.setDown(bobAddress, true)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(b, HOST)], transport: network.transport })
      yield* settle
      const delays: Array<number> = []
      for (let attempt = 1; attempt <= 10; attempt++) {
        const health = yield* alice.runtime.health(b.profile.uid)
        assert.strictEqual(health.state, "backoff")
        assert.strictEqual(health.retryCount, attempt)
        const delay = health.nextRetryAt! - (yield* now)
        delays.push(delay)
        const nominal = 1000 * 2 ** (attempt - 1)
        assert.isAtLeast(delay, Math.min(0.8 * nominal, 60_000), `attempt ${attempt}`)
        assert.isAtMost(delay, Math.min(1.2 * nominal, 60_000), `attempt ${attempt}`)
        yield* TestClock.adjust(delay)
        yield* settle
      }
      assert.strictEqual(delays.at(-1), 60_000, "capped")
      yield* network.setDown(bobAddress, false)
      const delay = (yield* alice.runtime.health(b.profile.uid)).nextRetryAt! - (yield* now)
      yield* TestClock.adjust(delay)
      yield* settle
      const link = yield* Queue.take(links)
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "connected")
      yield* link.close
      yield* settle
      const after = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(after.state, "backoff")
      const reset = after.nextRetryAt! - (yield* now)
      assert.isAtLeast(reset, 800)
      assert.isAtMost(reset, 1200)
    }))

  it.scoped("dials and inbound handshakes end at their deadlines: connect, then handshake, on both sides", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const c = makeIdentity("carol", 5003)
      // carol's address never answers a connect at all
      const hanging = { ...network.transport, connect: () => Effect.never }
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(c, HOST)],
        transport: hanging,
        settings: { connectTimeout: Duration.seconds(3), handshakeTimeout: Duration.seconds(7) }
      })
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(c.profile.uid)).state, "dialing")
      yield* TestClock.adjust("2999 millis")
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(c.profile.uid)).state, "dialing")
      yield* TestClock.adjust("1 millis")
      yield* settle
      const carol = yield* alice.runtime.health(c.profile.uid)
      assert.strictEqual(carol.state, "backoff")
      assert.include(carol.lastError, "connect to")
      assert.include(carol.lastError, "Timeout")
    }).pipe(Effect.zipRight(Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      // bob does not dial back (alice is no contact of his): the only link is alice's silent dial
      const bob = yield* startNode({ identity: b, contacts: [], transport: network.transport })
      yield* network.setSilent(`${HOST}:5002`, true)
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(b, HOST)],
        transport: network.transport,
        settings: { handshakeTimeout: Duration.seconds(7) }
      })
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "handshaking")
      assert.strictEqual(yield* network.openConnections(`${HOST}:5002`), 1)
      yield* TestClock.adjust("6999 millis")
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "handshaking")
      assert.strictEqual(yield* bob.listener.rejected, 0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const health = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(health.state, "backoff")
      assert.include(health.lastError, "handshake")
      assert.include(health.lastError, "Timeout")
      assert.strictEqual(yield* network.openConnections(`${HOST}:5002`), 0, "alice closed her end")
      assert.strictEqual(yield* bob.listener.rejected, 1, "bob saw the connection close mid-handshake")

      // An inbound connection that never says anything is closed at bob's deadline (10 s default).
      yield* alice.runtime.removeContact(b.profile.uid) // no more retries from alice
      yield* network.setSilent(`${HOST}:5002`, false)
      yield* network.transport.connect(HOST, 5002)
      yield* settle
      yield* TestClock.adjust("9999 millis")
      yield* settle
      assert.strictEqual(yield* network.openConnections(`${HOST}:5002`), 1)
      assert.strictEqual(yield* bob.listener.rejected, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(yield* network.openConnections(`${HOST}:5002`), 0, "bob closed it")
      assert.strictEqual(yield* bob.listener.rejected, 2)
    }))))

  it.scoped("an inbound connection from the contact cancels the pending retry", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      yield* network.setDown(`${HOST}:5002`, true)
      const alice = yield* startNode({ identity: a, contacts: [contactOf(b, HOST)], transport: network.transport })
      yield* settle
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust((yield* alice.runtime.health(b.profile.uid)).nextRetryAt! - (yield* now))
        yield* settle
      }
      const pending = yield* alice.runtime.health(b.profile.uid)
      assert.isAbove(pending.nextRetryAt! - (yield* now), 10_000)
      yield* network.setDown(`${HOST}:5002`, false)
      yield* startNode({ identity: b, contacts: [contactOf(a, HOST)], transport: network.transport })
      yield* settle
      const health = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(health.state, "connected")
      assert.strictEqual(health.direction, "inbound")
      assert.isUndefined(health.nextRetryAt)
      yield* TestClock.adjust("2 minutes")
      yield* settle
      assert.strictEqual(yield* network.accepted(`${HOST}:5002`), 0, "alice never dialled again")
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "connected")
    }))

  it.scoped("a full mailbox refuses with MailboxFull and keeps what it holds", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(b, HOST)],
        transport: network.transport,
        settings: { mailboxCapacity: 3 }
      })
      for (let i = 0; i < 3; i++) yield* alice.runtime.send(b.profile.uid, `m${i}`)
      const error = yield* Effect.flip(alice.runtime.send(b.profile.uid, "one too many"))
      assert.strictEqual(error._tag, "MailboxFull")
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).queueDepth, 3)
      const bob = yield* startNode({ identity: b, contacts: [contactOf(a, HOST)], transport: network.transport })
      const received = yield* bob.events.subscribe
      yield* settle
      const bodies = Chunk.toReadonlyArray(yield* Queue.takeAll(received)).flatMap((
        e
      ) => (e._tag === "MessageReceived" ? [e.body] : []))
      assert.deepStrictEqual(bodies, ["m0", "m1", "m2"])
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).queueDepth, 0)
    }))

  it.scoped("a crashing actor restarts alone; other links are unaffected and nothing is lost", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const c = makeIdentity("carol", 5003)
      let crashes = 0
      const crashingInbox = Layer.effect(
        Inbox.Inbox,
        Effect.map(Inbox.makeMemory, (inner) => ({
          ...inner,
          // A wrapper replaces `deliver`, and with it the in-memory inbox's synchronous twin.
          deliver: (contact, messages, at) =>
            messages.some((m) => m.body === "boom") && crashes++ === 0
              ? Effect.die("poison")
              : inner.deliver(contact, messages, at)
        }))
      )
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(b, HOST), contactOf(c, HOST)],
        transport: network.transport,
        inbox: crashingInbox
      })
      const bob = yield* startNode({ identity: b, contacts: [contactOf(a, HOST)], transport: network.transport })
      const carol = yield* startNode({ identity: c, contacts: [contactOf(a, HOST)], transport: network.transport })
      const received = yield* alice.events.subscribe
      yield* settle
      const carolLink = yield* alice.runtime.health(c.profile.uid)
      assert.strictEqual(carolLink.state, "connected")

      yield* bob.runtime.send(a.profile.uid, "boom")
      yield* settle
      assert.strictEqual(crashes, 1)
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).restarts, 1)
      yield* carol.runtime.send(a.profile.uid, "carol still here")
      yield* settle
      yield* TestClock.adjust("500 millis")
      yield* settle
      const bodies = Chunk.toReadonlyArray(yield* Queue.takeAll(received)).flatMap((
        e
      ) => (e._tag === "MessageReceived" ? [e.body] : []))
      assert.includeMembers(
        bodies,
        ["carol still here", "boom"],
        "the poison message was redelivered after the restart"
      )
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "connected")
      const carolAfter = yield* alice.runtime.health(c.profile.uid)
      assert.strictEqual(carolAfter.connectedSince, carolLink.connectedSince, "carol's link never dropped")
      assert.strictEqual(carolAfter.restarts, 0)
    }))

  it.scoped("a crashing actor is restarted after 500 ms, then ×1.5 each time, at most every 10 s", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      let restarts = 0
      const actor = {
        run: Effect.flatMap(Clock.currentTimeMillis, (at) => {
          starts.push(at)
          return Effect.dieMessage("crash")
        }),
        restarted: Effect.sync(() => void restarts++)
      }
      yield* Effect.forkScoped(supervise(actor, "test").pipe(Logger.withMinimumLogLevel(LogLevel.None)))
      for (let i = 0; i < 14; i++) {
        yield* settle
        yield* TestClock.adjust("500 millis")
      }
      for (let i = 0; i < 60; i++) {
        yield* settle
        yield* TestClock.adjust("1 second")
      }
      yield* settle
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
      const expected = [500, 750, 1125, 1687.5, 2531.25, 3796.875, 5695.3125, 8542.96875, 10_000, 10_000]
      // The clock moves in steps of 0.5 s, then 1 s: each restart comes at the first step past its delay.
      gaps.slice(0, expected.length).forEach((gap, i) => {
        assert.isAtLeast(gap, expected[i]!, `restart ${i + 1}`)
        assert.isBelow(gap, expected[i]! + 1000, `restart ${i + 1}`)
      })
      assert.strictEqual(restarts, starts.length, "each crash counts a restart (made after its delay)")
    }))

  it.scoped("a channel that arrives while the actor crashes is used by the restarted actor", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const gate = yield* Deferred.make<void>()
      const crashingInbox = Layer.effect(
        Inbox.Inbox,
        Effect.map(Inbox.makeMemory, (inner) => ({
          ...inner,
          deliver: (contact, messages, at) =>
            messages.some((m) => m.body === "boom")
              ? Effect.zipRight(Deferred.await(gate), Effect.die("poison"))
              : inner.deliver(contact, messages, at)
        }))
      )
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(b, HOST, { port: 0 })],
        transport: network.transport,
        inbox: crashingInbox
      })
      const first = yield* Effect.flatMap(
        network.transport.connect(HOST, 5001),
        (stream) =>
          SecureChannel.initiate(stream, a.keyPair.publicKey, {
            staticKeyPair: b.keyPair,
            hello: hello("bob", b.profile.uid)
          })
      )
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).state, "connected")
      // A second authenticated channel from bob, handed to alice's actor right behind the crash.
      const second = yield* connectPair({ alice: b.keyPair, bob: a.keyPair })
      yield* first.send([{ _tag: "Text", id: "boom1" as MessageId, body: "boom", sentAt: 1 }])
      yield* settle // the delivery waits at the gate
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.yieldNow() // it dies: the link's end is in the mailbox, then the channel
      yield* alice.supervisor.offerInbound(b.profile.uid, second.responder)
      yield* settle
      yield* TestClock.adjust("1 second") // the supervisor's restart delay
      yield* settle
      const health = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(health.restarts, 1)
      assert.strictEqual(health.state, "connected", "the channel offered during the crash is the link now")
      yield* alice.runtime.send(b.profile.uid, "on the second channel")
      const got = yield* second.initiator.receive
      assert.isTrue(got.some((m) => m._tag === "Text" && m.body === "on the second channel"))
    }))

  it.scoped("a new link from a peer replaces an old one it abandoned (no dead entry blocks it)", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.make
      const a = makeIdentity("alice", 5001)
      const b = makeIdentity("bob", 5002)
      const alice = yield* startNode({
        identity: a,
        contacts: [contactOf(b, HOST, { port: 0 })],
        transport: network.transport
      })
      const dialAsBob = Effect.flatMap(
        network.transport.connect(HOST, 5001),
        (stream) =>
          SecureChannel.initiate(stream, a.keyPair.publicKey, {
            staticKeyPair: b.keyPair,
            hello: hello("bob", b.profile.uid)
          })
      )
      const first = yield* dialAsBob
      yield* settle
      assert.strictEqual((yield* alice.runtime.health(b.profile.uid)).connectedSince, 0)
      yield* TestClock.adjust("20 seconds")
      const second = yield* dialAsBob
      yield* settle
      const health = yield* alice.runtime.health(b.profile.uid)
      assert.strictEqual(health.state, "connected")
      assert.strictEqual(health.connectedSince, 20_000, "the newer link took over")
      const old = yield* Effect.either(Effect.forever(first.receive))
      assert.isTrue(old._tag === "Left", "the abandoned link was closed")
      yield* alice.runtime.send(b.profile.uid, "on the new link")
      const got = yield* second.receive
      assert.isTrue(got.some((m) => m._tag === "Text" && m.body === "on the new link"))
    }))
})
