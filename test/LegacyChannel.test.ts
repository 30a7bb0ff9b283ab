import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import type { ProtocolError } from "../src/domain/Errors.js"
import type { MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import * as ByteStream from "../src/protocol/ByteStream.js"
import { memoryPair } from "../src/protocol/ByteStream.js"
import { dh, generateKeyPair } from "../src/protocol/crypto/X25519.js"
import { ByteQueue } from "../src/protocol/internal/ByteQueue.js"
import * as LegacyChannel from "../src/protocol/LegacyChannel.js"
import * as Preamble from "../src/protocol/Preamble.js"
import * as FiveLayer from "../src/protocol/v1/FiveLayer.js"
import { legacyPair, recording } from "./support/channel.js"

const text = (i: number, body = `legacy ${i}`): WireMessage => ({
  _tag: "Text",
  id: `m${i}` as MessageId,
  body,
  sentAt: 1_700_000_000_000 + i
})

describe("v1 legacy channel", () => {
  it.effect("handshakes and carries text both ways, never with plaintext in `content`", () =>
    Effect.gen(function*() {
      let rec: ReturnType<typeof recording> | undefined
      const { initiator, responder } = yield* legacyPair((s) => (rec = recording(s)).stream)
      assert.strictEqual(initiator.protocol, "v1")
      assert.strictEqual(initiator.remoteHello.username, "bob")
      assert.strictEqual(responder.remoteHello.uid, "a".repeat(32))
      const secret = "the plaintext must not travel 🙊"
      yield* initiator.send([text(1, secret), { _tag: "Ping", seq: 7 }])
      const received: Array<WireMessage> = []
      while (received.length < 2) received.push(...(yield* responder.receive))
      assert.deepStrictEqual(received, [text(1, secret), { _tag: "Ping", seq: 0 }])
      yield* responder.send([{ _tag: "Pong", seq: 0 }, text(2)])
      const back: Array<WireMessage> = []
      while (back.length < 2) back.push(...(yield* initiator.receive))
      assert.deepStrictEqual(back, [{ _tag: "Pong", seq: 7 }, text(2)])
      const wire = Buffer.concat(rec!.writes.flat()).toString("utf8")
      assert.notInclude(wire, "plaintext must not")
      assert.include(wire, "\"content\": \"\"")
    }))

  it.live("hands over a decoded message while the next frame is still arriving", () =>
    Effect.gen(function*() {
      let held: Uint8Array | undefined
      let split = false
      let raw: ByteStream.ByteStream | undefined
      const { initiator, responder } = yield* legacyPair((s) => ({
        ...(raw = s),
        // After the handshake: one chunk with the first frame and 10 bytes of the second, the
        // rest later.
        writeNow: (chunks) => {
          if (!split || chunks.length < 2) return s.writeNow(chunks)
          held = chunks[1]!.subarray(10)
          return s.writeNow([Buffer.concat([chunks[0]!, chunks[1]!.subarray(0, 10)])])
        }
      }))
      split = true
      yield* initiator.send([text(1), text(2)])
      const first = yield* responder.receive.pipe(Effect.timeout("2 seconds"))
      assert.deepStrictEqual(first, [text(1)])
      yield* ByteStream.write(raw!, [held!])
      assert.deepStrictEqual(yield* responder.receive.pipe(Effect.timeout("2 seconds")), [text(2)])
    }))

  it.effect("refuses a peer presenting another key than the pinned one", () =>
    Effect.gen(function*() {
      const [a, b] = yield* memoryPair()
      const bob = generateKeyPair()
      const fake = generateKeyPair()
      const responder = Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(b, queue)
        return yield* LegacyChannel.respond(b, queue, {
          staticKeyPair: fake,
          uid: "b".repeat(32),
          username: "bob",
          authorize: () => Effect.void
        })
      })
      const [i] = yield* Effect.all([
        Effect.flip(
          LegacyChannel.initiate(a, bob.publicKey, {
            staticKeyPair: generateKeyPair(),
            uid: "a".repeat(32),
            username: "a"
          })
        ).pipe(
          Effect.ensuring(a.close)
        ),
        Effect.exit(responder)
      ], { concurrency: 2 })
      assert.strictEqual((i as ProtocolError).reason, "KeyMismatch")
    }))

  it.effect("a v1 acceptor reading a v2 preamble closes without reading further", () =>
    Effect.gen(function*() {
      const [a, b] = yield* memoryPair()
      yield* ByteStream.write(a, [Preamble.PREAMBLE, new Uint8Array(100)])
      const queue = new ByteQueue()
      const exit = yield* Effect.exit(
        LegacyChannel.respond(b, queue, {
          staticKeyPair: generateKeyPair(),
          uid: "b".repeat(32),
          username: "b",
          authorize: () => Effect.void
        })
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(queue.length, 4, "only the 4-byte length was consumed")
    }))

  it.effect("an impostor with only the public key learns nothing and its messages close the link", () =>
    Effect.gen(function*() {
      const victim = generateKeyPair()
      const mallory = generateKeyPair()
      const bob = generateKeyPair()
      const [a, b] = yield* memoryPair()
      const responder = Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(b, queue)
        return yield* LegacyChannel.respond(b, queue, {
          staticKeyPair: bob,
          uid: "b".repeat(32),
          username: "bob",
          authorize: () => Effect.void
        })
      })
      const impostorKeys = { publicKey: victim.publicKey, privateKey: mallory.privateKey }
      const [impostor, bobSide] = yield* Effect.all([
        LegacyChannel.initiate(a, bob.publicKey, {
          staticKeyPair: impostorKeys,
          uid: "a".repeat(32),
          username: "alice"
        }),
        responder
      ], { concurrency: 2 })
      yield* impostor.send([text(1, "hi bob, it's alice")])
      const error = yield* Effect.flip(bobSide.receive)
      assert.strictEqual(error._tag === "ProtocolError" && error.reason, "Decrypt")

      const realKeys = FiveLayer.deriveSessionKeys(dh(bob.privateKey, victim.publicKey)!)
      const sealed = FiveLayer.encrypt(realKeys, "for alice only")
      const guessedKeys = FiveLayer.deriveSessionKeys(dh(mallory.privateKey, bob.publicKey)!)
      assert.isTrue(Either.isLeft(FiveLayer.decrypt(guessedKeys, sealed)))
    }))

  it.effect("maps a DISCONNECT frame to a closed transport and ignores reserved types", () =>
    Effect.gen(function*() {
      const { initiator, responder } = yield* legacyPair()
      yield* initiator.send([{ _tag: "Typing", active: true }, { _tag: "Ack", ids: [] }])
      yield* initiator.send([{ _tag: "Bye", reason: "shutdown" }])
      const error = yield* Effect.flip(responder.receive)
      assert.strictEqual(error._tag, "TransportError")
    }))
})
