import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Layer, Queue } from "effect"
import type { MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import type { ByteStream } from "../src/protocol/ByteStream.js"
import type { Channel } from "../src/protocol/Channel.js"
import type { Events } from "../src/services/Events.js"
import { Inbox } from "../src/services/Inbox.js"
import * as MemoryTransport from "../src/services/MemoryTransport.js"
import * as OutboxModule from "../src/services/Outbox.js"
import type { TransportShape } from "../src/services/Transport.js"
import { contactOf, makeIdentity, scriptedPeer, startNode } from "./support/node.js"

const HOST = "127.0.0.1"

/** Lets every runnable fiber run, and what waits for the event loop's turn, without moving the TestClock. */
const nextTurn = Effect.promise(() => new Promise<void>((resume) => setImmediate(resume)))
const settle = Effect.repeatN(Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 10), nextTurn), 5)

const text = (id: string, body = id): WireMessage => ({ _tag: "Text", id: id as MessageId, body, sentAt: 1 })

/** The transport with alice's outbound streams observed: writes and reading pauses. */
const observed = (transport: TransportShape) => {
  const seen = { writes: 0, congested: 0, reading: [] as Array<boolean> }
  const wrap = (stream: ByteStream): ByteStream => ({
    ...stream,
    congested: () => {
      const congested = stream.congested()
      if (congested) seen.congested++
      return congested
    },
    writeNow: (chunks) => {
      seen.writes++
      return stream.writeNow(chunks)
    },
    setReading: (reading) => {
      seen.reading.push(reading)
      stream.setReading(reading)
    }
  })
  return {
    seen,
    transport: {
      ...transport,
      connect: (host, port) => Effect.map(transport.connect(host, port), wrap)
    } satisfies TransportShape
  }
}

/** Everything the scripted peer receives until `done` holds. */
const receiveUntil = (link: Channel, done: (got: ReadonlyArray<WireMessage>) => boolean) =>
  Effect.gen(function*() {
    const got: Array<WireMessage> = []
    while (!done(got)) got.push(...(yield* link.receive))
    return got
  })

const aliceAndScripted = (
  options: { readonly inbox?: Layer.Layer<Inbox>; readonly outbox?: Layer.Layer<OutboxModule.Outbox, never, Events> } =
    {}
) =>
  Effect.gen(function*() {
    const network = yield* MemoryTransport.make
    const a = makeIdentity("alice", 5001)
    const s = makeIdentity("scripted", 6001)
    const links = yield* scriptedPeer(network.transport, s, HOST)
    const { seen, transport } = observed(network.transport)
    const alice = yield* startNode({
      identity: a,
      contacts: [contactOf(s, HOST)],
      transport,
      inbox: options.inbox,
      outbox: options.outbox
    })
    const link = yield* Queue.take(links)
    yield* settle
    return { alice, link, seen, peer: s.profile.uid }
  })

describe("a link's writes and reads", () => {
  it.scoped("an ack rides on the reply sent in the same turn; without one it leaves alone at the turn's end", () =>
    Effect.gen(function*() {
      const { alice, link, peer, seen } = yield* aliceAndScripted()
      const events = yield* alice.events.subscribe
      // Alice's application answers "ping" at once and ignores everything else.
      yield* Effect.forkScoped(
        Effect.forever(Effect.flatMap(Queue.take(events), (e) =>
          e._tag === "MessageReceived" && e.body === "ping"
            ? Effect.ignore(alice.runtime.send(peer, "pong"))
            : Effect.void))
      )
      yield* settle

      let before = seen.writes
      yield* link.send([text("t1", "ping")])
      const answer = yield* receiveUntil(link, (got) => got.some((m) => m._tag === "Text"))
      yield* settle
      assert.deepStrictEqual(answer.map((m) => m._tag), ["Ack", "Text"])
      assert.deepStrictEqual(answer[0], { _tag: "Ack", ids: ["t1" as MessageId] })
      assert.strictEqual(seen.writes - before, 1, "the ack and the reply left in one write")

      before = seen.writes
      yield* link.send([text("t2", "no answer")])
      const alone = yield* receiveUntil(link, (got) => got.length > 0)
      yield* settle
      assert.deepStrictEqual(alone, [{ _tag: "Ack", ids: ["t2" as MessageId] }])
      assert.strictEqual(seen.writes - before, 1)
    }))

  it.scoped("what arrives starts a turn: the first write after it leaves at once, the rest at the turn's end together", () =>
    Effect.gen(function*() {
      const { alice, link, peer, seen } = yield* aliceAndScripted()
      const events = yield* alice.events.subscribe
      const burst = (name: string) => Array.from({ length: 50 }, (_, i) => `${name} ${i}`)
      const sendAll = (bodies: ReadonlyArray<string>) =>
        Effect.forEach(bodies, (body) => alice.runtime.send(peer, body))
      let before = seen.writes
      yield* alice.runtime.send(peer, "alone")
      assert.strictEqual(seen.writes - before, 1, "a new link's first write: before send returned")
      yield* receiveUntil(link, (got) => got.length === 1)
      yield* settle

      // Nothing arrived since: the whole burst waits for the end of the event loop's turn.
      before = seen.writes
      yield* sendAll(burst("quiet"))
      assert.strictEqual(seen.writes - before, 0, "nothing yet: the turn has not ended")
      const quiet = yield* receiveUntil(link, (got) => got.length === 50)
      yield* settle
      assert.deepStrictEqual(quiet.map((m) => m._tag === "Text" && m.body), burst("quiet"))
      assert.strictEqual(seen.writes - before, 1, "all 50 in one write")

      // The peer's message starts a turn: Alice's answer to it leaves at once, with the ack.
      before = seen.writes
      yield* link.send([text("t1", "go")])
      yield* Queue.take(events).pipe(Effect.repeat({ until: (e) => e._tag === "MessageReceived" }))
      assert.strictEqual(seen.writes - before, 0, "the ack waits for a reply")
      yield* sendAll(burst("reply"))
      assert.strictEqual(seen.writes - before, 1, "the first reply at once")
      const reply = yield* receiveUntil(link, (got) => got.filter((m) => m._tag === "Text").length === 50)
      yield* settle
      assert.deepStrictEqual(reply.slice(0, 2).map((m) => m._tag), ["Ack", "Text"])
      assert.deepStrictEqual(reply.filter((m) => m._tag === "Text").map((m) => m.body), burst("reply"))
      assert.strictEqual(seen.writes - before, 2, "the ack with the first reply, the other 49 together")
    }))

  it.scoped("a burst past the transport's high-water mark stops at congestion and, as the peer reads, all of it arrives in order", () =>
    Effect.gen(function*() {
      const { alice, link, peer, seen } = yield* aliceAndScripted()
      const bodies = Array.from({ length: 3000 }, (_, i) => `${i} `.padEnd(1000, "x")) // ~3 MB, high water 1 MiB
      yield* Effect.forEach(bodies, (body) => alice.runtime.send(peer, body))
      yield* settle
      assert.isAbove(seen.congested, 0, "the flush stopped at the high-water mark")
      const writesWhileCongested = seen.writes
      yield* settle
      assert.strictEqual(seen.writes, writesWhileCongested, "and wrote nothing more until the peer read")
      const got = yield* receiveUntil(link, (got) => got.filter((m) => m._tag === "Text").length === bodies.length)
      assert.deepStrictEqual(got.filter((m) => m._tag === "Text").map((m) => m.body), bodies)
      assert.isAbove(seen.writes, writesWhileCongested)
    }))

  it.scoped("reading pauses while deliveries wait behind a slow inbox and resumes as they drain; nothing is lost", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const delivered: Array<string> = []
      const slow = Layer.succeed(Inbox, {
        deliver: (_contact, messages) =>
          Effect.zipRight(
            Deferred.await(gate),
            Effect.sync(() => {
              for (const m of messages) delivered.push(m.body)
              return messages.map((m) => m.id)
            })
          ),
        receipt: () => Effect.void
      })
      const { link, seen } = yield* aliceAndScripted({ inbox: slow })
      const ids = Array.from({ length: 40 }, (_, i) => `s${i}`)
      for (const id of ids) yield* link.send([text(id)])
      yield* settle
      assert.deepStrictEqual(delivered, [], "the first delivery waits at the gate")
      assert.deepStrictEqual(seen.reading, [false], "reading paused once 16 batches were waiting")
      yield* Deferred.succeed(gate, undefined)
      const acks = yield* receiveUntil(link, (got) => got.flatMap((m) => (m._tag === "Ack" ? m.ids : [])).length === 40)
      assert.deepStrictEqual(delivered, ids, "every message, once, in order")
      assert.deepStrictEqual(acks.flatMap((m) => (m._tag === "Ack" ? m.ids : [])), ids)
      // Paused and resumed in turn (maybe more than once as the backlog drains), reading in the end.
      assert.isAbove(seen.reading.length, 1)
      seen.reading.forEach((reading, i) => assert.strictEqual(reading, i % 2 === 1))
      assert.isTrue(seen.reading.at(-1))
    }))

  it.scoped("reading pauses while acks wait for a slow outbox (a store settling them) and resumes as they settle", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      // The in-memory outbox whose acks wait at the gate, as a durable store's commit would.
      const slow = Layer.effect(
        OutboxModule.Outbox,
        Effect.map(OutboxModule.makeMemory(1000), (inner) => ({
          ...inner,
          ack: (contact: Parameters<typeof inner.ack>[0], ids: ReadonlyArray<MessageId>, at: number) =>
            Effect.zipRight(Deferred.await(gate), inner.ack(contact, ids, at))
        }))
      )
      const { alice, link, peer, seen } = yield* aliceAndScripted({ outbox: slow })
      const events = yield* alice.events.subscribe
      const bodies = Array.from({ length: 40 }, (_, i) => `m${i}`)
      const sent = yield* Effect.forEach(bodies, (body) => alice.runtime.send(peer, body))
      yield* receiveUntil(link, (got) => got.length === 40)
      // Each ack in a write of its own, a turn apart, as a peer acknowledges what it stores.
      for (const message of sent) {
        yield* link.send([{ _tag: "Ack", ids: [message.id] }])
        yield* nextTurn
      }
      yield* settle
      assert.deepStrictEqual(seen.reading, [false], "reading paused once 16 acks were settling")
      assert.strictEqual((yield* alice.runtime.health(peer)).queueDepth, 40, "nothing settled yet")
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.isTrue(seen.reading.at(-1), "reading again")
      assert.strictEqual((yield* alice.runtime.health(peer)).queueDepth, 0)
      const receipts = Chunk.toReadonlyArray(yield* Queue.takeAll(events))
        .flatMap((e) => (e._tag === "ReceiptReceived" ? e.ids : []))
      assert.deepStrictEqual(receipts, sent.map((m) => m.id), "every ack settled, once, in order")
    }))

  it.scoped("what arrives before a Bye in the same batch is still delivered", () =>
    Effect.gen(function*() {
      const { alice, link } = yield* aliceAndScripted()
      const events = yield* alice.events.subscribe
      yield* link.send([text("last", "the last word"), { _tag: "Bye", reason: "shutdown" }])
      yield* settle
      const seen = Chunk.toReadonlyArray(yield* Queue.takeAll(events))
      assert.deepStrictEqual(
        seen.flatMap((e) => (e._tag === "MessageReceived" ? [e.body] : [])),
        ["the last word"]
      )
      const ended = seen.find((e) => e._tag === "LinkError")
      assert.include(ended?._tag === "LinkError" ? ended.error : "", "peer closed the link (shutdown)")
    }))

  it.scoped("a peer that does not read gets no Pongs (our write buffer does not grow with its Pings)", () =>
    Effect.gen(function*() {
      const { alice, link, peer } = yield* aliceAndScripted()
      // More than the transport's 1 MiB high-water mark, which the peer does not read yet.
      for (let i = 0; i < 20; i++) yield* alice.runtime.send(peer, "z".repeat(64 * 1024))
      yield* settle
      yield* link.send([{ _tag: "Ping", seq: 1 }, { _tag: "Ping", seq: 2 }])
      yield* settle
      const got = yield* receiveUntil(link, (got) => got.filter((m) => m._tag === "Text").length === 20)
      yield* settle
      assert.deepStrictEqual(got.filter((m) => m._tag === "Pong"), [])
      yield* link.send([{ _tag: "Ping", seq: 3 }])
      const later = yield* receiveUntil(link, (got) => got.length > 0)
      assert.deepStrictEqual(later, [{ _tag: "Pong", seq: 3 }], "answered again once it reads")
    }))
})
