import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Either, Exit, FastCheck as fc, Schema } from "effect"
import { Packr } from "msgpackr"
import { ProtocolError } from "../src/domain/Errors.js"
import type { MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import * as Messages from "../src/domain/Messages.js"
import * as ByteStream from "../src/protocol/ByteStream.js"
import { memoryPair } from "../src/protocol/ByteStream.js"
import { generateKeyPair } from "../src/protocol/crypto/X25519.js"
import { FrameDecoder, FrameEncoder } from "../src/protocol/Framing.js"
import { ByteQueue } from "../src/protocol/internal/ByteQueue.js"
import * as MessageCodec from "../src/protocol/MessageCodec.js"
import { CipherState } from "../src/protocol/noise/CipherState.js"
import * as Preamble from "../src/protocol/Preamble.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"
import { connectPair, hello, recording } from "./support/channel.js"

const text = (i: number, body = `message ${i}`): WireMessage => ({
  _tag: "Text",
  id: `m${i}` as MessageId,
  body,
  sentAt: 1_700_000_000_000 + i
})

const receiveN = (channel: { receive: Effect.Effect<ReadonlyArray<WireMessage>, unknown> }, n: number) =>
  Effect.gen(function*() {
    const out: Array<WireMessage> = []
    while (out.length < n) out.push(...(yield* channel.receive))
    return out
  })

const cipherPair = () => {
  const key = generateKeyPair().publicKey
  const send = new CipherState()
  const receive = new CipherState()
  send.initializeKey(key)
  receive.initializeKey(new Uint8Array(key))
  return { send, receive }
}

describe("v2 secure channel", () => {
  it.effect("authenticates both static keys and exchanges messages both ways", () =>
    Effect.gen(function*() {
      const { alice, bob, initiator, responder } = yield* connectPair()
      assert.deepStrictEqual(initiator.remoteStatic, bob.publicKey)
      assert.deepStrictEqual(responder.remoteStatic, alice.publicKey)
      assert.strictEqual(initiator.remoteHello.username, "bob")
      assert.strictEqual(responder.remoteHello.username, "alice")
      yield* initiator.send([text(1), text(2)])
      assert.deepStrictEqual(yield* receiveN(responder, 2), [text(1), text(2)])
      yield* responder.send([{ _tag: "Ack", ids: ["m1" as MessageId, "m2" as MessageId] }])
      assert.deepStrictEqual(yield* initiator.receive, [{ _tag: "Ack", ids: ["m1" as MessageId, "m2" as MessageId] }])
    }))

  it.effect("rejects an impostor holding the victim's public key but not its private key", () =>
    Effect.gen(function*() {
      const victim = generateKeyPair()
      const mallory = generateKeyPair()
      const bob = generateKeyPair()
      const [a, b] = yield* memoryPair()
      const seen: Array<Uint8Array> = []
      const responder = Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(b, queue)
        return yield* SecureChannel.respond(b, queue, {
          staticKeyPair: bob,
          hello: hello("bob"),
          authorize: (key) => Effect.sync(() => seen.push(key))
        })
      }).pipe(Effect.ensuring(b.close))
      const impostor = SecureChannel.initiate(a, bob.publicKey, {
        staticKeyPair: { publicKey: victim.publicKey, privateKey: mallory.privateKey },
        hello: hello("alice")
      })
      const [i, r] = yield* Effect.all([Effect.exit(impostor), Effect.exit(responder)], { concurrency: 2 })
      assert.isTrue(Exit.isFailure(i))
      assert.isTrue(Exit.isFailure(r))
      assert.strictEqual(seen.length, 0, "the responder never reached authorization")
    }))

  it.effect("fails when the responder does not hold the pinned key (a fake at the contact's address)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(connectPair({ pinned: generateKeyPair().publicKey }))
      assert.isTrue(Exit.isFailure(exit))
    }))

  it.effect("an unauthorized key gets no answer: the responder closes", () =>
    Effect.gen(function*() {
      const [a, b] = yield* memoryPair()
      const bob = generateKeyPair()
      const responder = Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(b, queue)
        return yield* SecureChannel.respond(b, queue, {
          staticKeyPair: bob,
          hello: hello("bob"),
          authorize: () => Effect.fail(new ProtocolError({ reason: "UnknownPeer" }))
        })
      }).pipe(Effect.ensuring(b.close))
      const [i] = yield* Effect.all([
        Effect.exit(SecureChannel.initiate(a, bob.publicKey, { staticKeyPair: generateKeyPair(), hello: hello("x") })),
        Effect.exit(responder)
      ], { concurrency: 2 })
      assert.isTrue(Exit.isFailure(i))
    }))

  it("the largest Hello the schema allows fits in IK message 2", () => {
    const largest = Schema.decodeUnknownSync(Messages.Hello)({
      _tag: "Hello",
      uid: "f".repeat(32),
      username: "€".repeat(64),
      listenPort: 65535,
      agent: "€".repeat(64),
      features: Array.from({ length: 32 }, () => "€".repeat(32))
    })
    // Message 2 carries the responder's ephemeral key (32), then the Hello sealed (16-byte tag).
    assert.isAtMost(32 + MessageCodec.encode(largest).length + 16, SecureChannel.MAX_HANDSHAKE_MESSAGE)
  })

  it.effect("coalesces queued messages into one frame and one write", () =>
    Effect.gen(function*() {
      let rec: ReturnType<typeof recording> | undefined
      const { initiator, responder } = yield* connectPair({ wrap: (s) => (rec = recording(s)).stream })
      const before = rec!.writes.length
      const batch = Array.from({ length: 200 }, (_, i) => text(i))
      yield* initiator.send(batch)
      assert.strictEqual(rec!.writes.length - before, 1)
      assert.strictEqual(rec!.writes.at(-1)!.length, 1, "200 small messages share one frame")
      assert.deepStrictEqual(yield* receiveN(responder, 200), batch)
    }))

  it.effect("chunks messages larger than a frame and reassembles them", () =>
    Effect.gen(function*() {
      const { initiator, responder } = yield* connectPair()
      const big = text(1, "é".repeat(Messages.MAX_BODY_LENGTH))
      yield* initiator.send([text(0), big, text(2)])
      assert.deepStrictEqual(yield* receiveN(responder, 3), [text(0), big, text(2)])
      const small = yield* connectPair({
        framing: { maxMessageBytes: 1 << 20, rekeyAfterFrames: 1 << 20, maxFramePlaintext: 64 }
      })
      const batch = [text(1, "x".repeat(1000)), text(2), text(3, "y".repeat(300))]
      yield* small.initiator.send(batch)
      assert.deepStrictEqual(yield* receiveN(small.responder, 3), batch)
    }))

  it.effect("rekeys on request and after a number of frames, in step on both sides", () =>
    Effect.gen(function*() {
      const framing = { maxMessageBytes: 1 << 20, rekeyAfterFrames: 3 }
      const { initiator, responder } = yield* connectPair({ framing })
      for (let i = 0; i < 10; i++) {
        yield* initiator.send([text(i)])
        assert.deepStrictEqual(yield* responder.receive, [text(i)])
        if (i === 4) yield* responder.rekey
        yield* responder.send([text(100 + i)])
        assert.deepStrictEqual(yield* initiator.receive, [text(100 + i)])
      }
    }))

  it("a rekeyed stream rejects frames sealed under the old key", () => {
    const { receive, send } = cipherPair()
    const encoder = new FrameEncoder(send, { maxMessageBytes: 1024, rekeyAfterFrames: 2 })
    const decoder = new FrameDecoder(receive, { maxMessageBytes: 1024, rekeyAfterFrames: 2 })
    const f1 = encoder.encodeMessages([text(1)])
    const f2 = encoder.encodeMessages([text(2)])
    const out: Array<WireMessage> = []
    const replayed = new Uint8Array(f2)
    decoder.push(f1)
    decoder.push(f2)
    assert.isUndefined(decoder.drainMessages(out))
    assert.deepStrictEqual(out, [text(1), text(2)])
    decoder.push(replayed)
    assert.strictEqual(decoder.drainMessages(out)?.reason, "Decrypt")
  })

  it("rejects replayed and reordered frames", () => {
    const { receive, send } = cipherPair()
    const encoder = new FrameEncoder(send)
    const wire = [1, 2, 3].map((i) => encoder.encodeMessages([text(i)]))
    const replay = new FrameDecoder(receive)
    replay.push(wire[0]!)
    replay.push(wire[0]!)
    assert.strictEqual(replay.drainMessages([])?.reason, "Decrypt")

    const second = cipherPair()
    const enc2 = new FrameEncoder(second.send)
    const wire2 = [1, 2].map((i) => enc2.encodeMessages([text(i)]))
    const reorder = new FrameDecoder(second.receive)
    reorder.push(wire2[1]!)
    assert.strictEqual(reorder.drainMessages([])?.reason, "Decrypt")
  })

  it("bounds a declared chunk total before allocating", () => {
    const { receive, send } = cipherPair()
    const plain = Uint8Array.of(2, 5, 0x80, 0x80, 0x80, 0x40, 0x00)
    const frame = new Uint8Array(2 + plain.length + 16)
    frame[1] = plain.length + 16
    send.encryptInto(frame.subarray(2), null, plain)
    const decoder = new FrameDecoder(receive, { maxMessageBytes: 1024, rekeyAfterFrames: 100 })
    decoder.push(frame)
    assert.strictEqual(decoder.drainMessages([])?.reason, "MessageTooLarge")
  })

  it.effect("rejects an oversized handshake message before reading it", () =>
    Effect.gen(function*() {
      const [a, b] = yield* memoryPair()
      yield* ByteStream.write(a, [Preamble.PREAMBLE, Uint8Array.of(0xff, 0xff)])
      const queue = new ByteQueue()
      assert.strictEqual(yield* Preamble.sniff(b, queue), "v2")
      const error = yield* Effect.flip(
        SecureChannel.respond(b, queue, {
          staticKeyPair: generateKeyPair(),
          hello: hello("b"),
          authorize: () => Effect.void
        })
      )
      assert.strictEqual(error._tag === "ProtocolError" && error.reason, "FrameTooLarge")
    }))

  it.effect("sniffs v1 and v2 and refuses anything else", () =>
    Effect.gen(function*() {
      const sniffBytes = (bytes: Uint8Array) =>
        Effect.gen(function*() {
          const [a, b] = yield* memoryPair()
          yield* ByteStream.write(a, [bytes])
          const queue = new ByteQueue()
          const result = yield* Effect.either(Preamble.sniff(b, queue))
          return { result, left: queue.length }
        })
      const v1 = yield* sniffBytes(Uint8Array.of(0, 0, 0, 32, 7, 7))
      assert.deepStrictEqual(v1.result, Either.right("v1"))
      assert.strictEqual(v1.left, 6, "v1 bytes stay unread for the legacy handshake")
      const v2 = yield* sniffBytes(Preamble.PREAMBLE)
      assert.deepStrictEqual(v2.result, Either.right("v2"))
      assert.strictEqual(v2.left, 0)
      const http = yield* sniffBytes(new TextEncoder().encode("GET / HTTP/1.1\r\n"))
      assert.isTrue(Either.isLeft(http.result))
      const v3 = yield* sniffBytes(Uint8Array.of(0x4a, 0x52, 0x56, 0x53, 0x03, 0x01, 0, 0))
      assert.isTrue(Either.isLeft(v3.result))
    }))
})

describe("v2 decoders under fuzzing", () => {
  const arbitraryMessage = Arbitrary.make(Messages.WireMessage)

  it.prop(
    "the encoded form of every wire message is the message itself (the codec relies on it)",
    [arbitraryMessage],
    ([message]) => {
      assert.deepStrictEqual(Schema.encodeSync(Messages.WireMessage)(message), message)
    }
  )

  it.prop("encode/decode round-trips every wire message", [arbitraryMessage], ([message]) => {
    assert.deepStrictEqual(MessageCodec.decode(MessageCodec.encode(message)), Either.right(message))
  })

  const nearMessages = fc.oneof(
    arbitraryMessage.map((m) => MessageCodec.encode(m)),
    fc.tuple(
      fc.constantFrom(2, 3, 4, 5),
      fc.array(
        fc.oneof(
          fc.string(),
          fc.integer(),
          fc.double(),
          fc.boolean(),
          fc.constant(null),
          fc.array(fc.string({ maxLength: 70 }), { maxLength: 3 })
        ),
        { maxLength: 5 }
      )
    )
      .map(([id, rest]) => new Uint8Array(new Packr({ useRecords: false }).pack([id, ...rest])))
  )

  it.prop("the hand-written fast paths agree with the Schemas", [
    nearMessages,
    fc.nat(),
    fc.integer({ min: 0, max: 255 })
  ], ([bytes, at, value]) => {
    const mutated = new Uint8Array(bytes)
    mutated[at % mutated.length] = value
    for (const input of [bytes, mutated]) {
      const fastPath = MessageCodec.decode(input)
      const schemaPath = MessageCodec.decodeWithSchema(input)
      assert.strictEqual(Either.isRight(fastPath), Either.isRight(schemaPath))
      if (Either.isRight(fastPath)) assert.deepStrictEqual(fastPath.right, Either.getOrThrow(schemaPath))
    }
  })

  it.prop("message decoding returns a typed error, never a throw", [fc.uint8Array({ maxLength: 512 })], ([bytes]) => {
    const result = MessageCodec.decode(bytes)
    if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "ProtocolError")
  })

  it.prop(
    "mutated message encodings never throw",
    [arbitraryMessage, fc.nat(), fc.integer({ min: 0, max: 255 })],
    ([message, at, value]) => {
      const bytes = new Uint8Array(MessageCodec.encode(message))
      bytes[at % bytes.length] = value
      const result = MessageCodec.decode(bytes)
      assert.isTrue(Either.isLeft(result) || result.right === undefined || typeof result.right._tag === "string")
    }
  )

  it.prop("random frames give a typed error or wait for more; memory stays bounded", [
    fc.uint8Array({ maxLength: 4096 })
  ], ([bytes]) => {
    const decoder = new FrameDecoder(cipherPair().receive)
    decoder.push(bytes)
    const out: Array<WireMessage> = []
    const error = decoder.drainMessages(out)
    assert.strictEqual(out.length, 0)
    if (error === undefined) assert.isBelow(decoder.buffered, 2 + 65535)
    else assert.include(["Malformed", "Decrypt"], error.reason)
  })

  it.prop("mutated authentic frames are rejected, never mis-decoded", [
    fc.array(arbitraryMessage, { minLength: 1, maxLength: 20 }),
    fc.nat(),
    fc.integer({ min: 1, max: 255 })
  ], ([messages, at, xor]) => {
    const { receive, send } = cipherPair()
    const wire = new FrameEncoder(send).encodeMessages(messages)
    wire[at % wire.length]! ^= xor
    const decoder = new FrameDecoder(receive)
    decoder.push(wire)
    const out: Array<WireMessage> = []
    const error = decoder.drainMessages(out)
    assert.strictEqual(out.length, 0)
    if (error !== undefined) assert.include(["Malformed", "Decrypt"], error.reason)
  })

  it.prop("frames split at arbitrary points decode identically (encoded-message API)", [
    fc.array(arbitraryMessage, { minLength: 1, maxLength: 30 }),
    fc.array(fc.nat(), { maxLength: 10 })
  ], ([messages, cuts]) => {
    const { receive, send } = cipherPair()
    const wire = Buffer.concat(
      new FrameEncoder(send, { maxMessageBytes: 1 << 20, rekeyAfterFrames: 2, maxFramePlaintext: 200 }).encode(
        messages.map(MessageCodec.encode)
      )
    )
    const decoder = new FrameDecoder(receive, { maxMessageBytes: 1 << 20, rekeyAfterFrames: 2 })
    const points = [...new Set(cuts.map((c) => c % wire.length))].sort((x, y) => x - y)
    const out: Array<Uint8Array> = []
    let last = 0
    for (const p of [...points, wire.length]) {
      decoder.push(wire.subarray(last, p))
      last = p
      assert.isUndefined(decoder.drain(out))
    }
    assert.deepStrictEqual(out.map((b) => Either.getOrThrow(MessageCodec.decode(b))), messages)
  })
})
