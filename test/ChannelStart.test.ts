import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { ChannelError } from "../src/domain/Errors.js"
import type { MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import type { ByteStream } from "../src/protocol/ByteStream.js"
import { memoryPair } from "../src/protocol/ByteStream.js"
import type { ChannelReceiver } from "../src/protocol/Channel.js"
import { generateKeyPair } from "../src/protocol/crypto/X25519.js"
import { ByteQueue } from "../src/protocol/internal/ByteQueue.js"
import * as Preamble from "../src/protocol/Preamble.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"
import { connectPair, hello, legacyPair } from "./support/channel.js"

const text = (i: number): WireMessage => ({
  _tag: "Text",
  id: `m${i}` as MessageId,
  body: `pushed ${i} ${"x".repeat(50)}`,
  sentAt: 1_700_000_000_000 + i
})

/** Records what a started channel pushes: every batch, and how it ended. */
const collector = () => {
  const batches: Array<ReadonlyArray<WireMessage>> = []
  const ends: Array<ChannelError> = []
  const receiver: ChannelReceiver = {
    messages: (batch) => {
      batches.push(batch)
    },
    closed: (error) => {
      ends.push(error)
    },
    writable: () => {}
  }
  return { receiver, batches, ends, messages: () => batches.flat() }
}

/** Lets queued microtasks and event-loop callbacks run until `done` holds (bounded). */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !done(); i++) {
      yield* Effect.promise(() => new Promise<void>((resume) => setImmediate(resume)))
    }
    assert.isTrue(done(), "condition not reached")
  })

/** Flips one byte of the writes made while `armed` holds (the ciphertext of a frame). */
const tamperable = () => {
  const state = { armed: false }
  const wrap = (stream: ByteStream): ByteStream => ({
    ...stream,
    writeNow: (chunks) =>
      stream.writeNow(state.armed ? chunks.map((c) => c.map((b, i) => (i === c.length - 1 ? b ^ 1 : b))) : chunks)
  })
  return { state, wrap }
}

describe("channels push what arrives to a started receiver", () => {
  it.effect("v2: what arrived before start comes first, then each chunk as it arrives, in order", () =>
    Effect.gen(function*() {
      const { initiator, responder } = yield* connectPair()
      yield* initiator.send([text(1), text(2)])
      yield* until(() => true)
      const pushed = collector()
      responder.start(pushed.receiver)
      yield* until(() => pushed.messages().length === 2)
      for (let i = 3; i <= 6; i++) yield* initiator.send([text(i)])
      yield* until(() => pushed.messages().length === 6)
      assert.deepStrictEqual(pushed.messages(), [1, 2, 3, 4, 5, 6].map(text))
      assert.deepStrictEqual(pushed.ends, [])
    }))

  it.effect("v2: messages that came with the initiator's Hello are pushed first", () =>
    Effect.gen(function*() {
      const alice = generateKeyPair()
      const bob = generateKeyPair()
      const [a, b] = yield* memoryPair()
      // Alice's Hello is held back and leaves in one write with her next frame.
      let held: Array<Uint8Array> | undefined
      let handshakeWrites = 0
      const coalescing: ByteStream = {
        ...a,
        writeNow: (chunks) => {
          if (++handshakeWrites === 2) return void (held = [...chunks])
          if (held !== undefined) {
            const joined = Buffer.concat([...held, ...chunks])
            held = undefined
            return a.writeNow([joined])
          }
          return a.writeNow(chunks)
        }
      }
      const responding = yield* Effect.fork(Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(b, queue)
        return yield* SecureChannel.respond(b, queue, {
          staticKeyPair: bob,
          hello: hello("bob"),
          authorize: () => Effect.void
        })
      }))
      const initiator = yield* SecureChannel.initiate(coalescing, bob.publicKey, {
        staticKeyPair: alice,
        hello: hello("alice")
      })
      yield* initiator.send([text(1)])
      const responder = yield* Fiber.join(responding)
      assert.strictEqual(responder.remoteHello.username, "alice")
      const pushed = collector()
      responder.start(pushed.receiver)
      yield* initiator.send([text(2)])
      yield* until(() => pushed.messages().length === 2)
      assert.deepStrictEqual(pushed.messages(), [text(1), text(2)])
    }))

  it.effect("v2: a tampered frame ends the channel once, after the messages before it in the same chunk", () =>
    Effect.gen(function*() {
      const tamper = tamperable()
      // Frames small enough that each message is one, so one write carries three frames.
      const framing = { maxMessageBytes: 1024, rekeyAfterFrames: 1 << 20, maxFramePlaintext: 80 }
      const { initiator, responder } = yield* connectPair({ wrap: tamper.wrap, framing })
      const pushed = collector()
      responder.start(pushed.receiver)
      tamper.state.armed = true
      yield* initiator.send([text(1), text(2), text(3)])
      tamper.state.armed = false
      yield* Effect.ignore(initiator.send([text(4)]))
      yield* until(() => pushed.ends.length > 0)
      yield* until(() => true)
      assert.deepStrictEqual(pushed.messages(), [text(1), text(2)], "the frames before the tampered one")
      assert.strictEqual(pushed.ends.length, 1)
      assert.strictEqual(pushed.ends[0]!._tag, "ProtocolError")
    }))

  it.effect("v2: the peer's close ends the channel once; reading can pause and resume without loss", () =>
    Effect.gen(function*() {
      const { initiator, responder } = yield* connectPair()
      const pushed = collector()
      responder.start(pushed.receiver)
      responder.setReading(false)
      for (let i = 1; i <= 3; i++) yield* initiator.send([text(i)])
      yield* until(() => true)
      assert.deepStrictEqual(pushed.messages(), [], "nothing while paused")
      responder.setReading(true)
      yield* until(() => pushed.messages().length === 3)
      yield* initiator.close
      yield* until(() => pushed.ends.length > 0)
      assert.deepStrictEqual(pushed.messages(), [1, 2, 3].map(text))
      assert.strictEqual(pushed.ends.length, 1)
      assert.strictEqual(pushed.ends[0]!._tag, "TransportError")
    }))

  it.effect("v1: messages are pushed and a DISCONNECT ends the channel", () =>
    Effect.gen(function*() {
      const { initiator, responder } = yield* legacyPair()
      const pushed = collector()
      responder.start(pushed.receiver)
      yield* initiator.send([text(1), { _tag: "Ping", seq: 4 }, text(2)])
      yield* until(() => pushed.messages().length === 3)
      yield* initiator.send([{ _tag: "Bye", reason: "shutdown" }])
      yield* until(() => pushed.ends.length > 0)
      assert.deepStrictEqual(pushed.messages(), [text(1), { _tag: "Ping", seq: 0 }, text(2)])
      assert.strictEqual(pushed.ends[0]!._tag, "TransportError")
    }))
})
