import { Effect } from "effect"
import type { Uid } from "../../src/domain/Ids.js"
import type { Hello } from "../../src/domain/Messages.js"
import type { ByteStream } from "../../src/protocol/ByteStream.js"
import { memoryPair } from "../../src/protocol/ByteStream.js"
import type { KeyPair } from "../../src/protocol/crypto/X25519.js"
import { generateKeyPair } from "../../src/protocol/crypto/X25519.js"
import { ByteQueue } from "../../src/protocol/internal/ByteQueue.js"
import * as LegacyChannel from "../../src/protocol/LegacyChannel.js"
import * as Preamble from "../../src/protocol/Preamble.js"
import * as SecureChannel from "../../src/protocol/SecureChannel.js"

export const hello = (username: string, uid = "0".repeat(31) + username.length.toString(16)): Hello => ({
  _tag: "Hello",
  uid: uid as Uid,
  username,
  listenPort: 5000,
  agent: "jarvis-test",
  features: ["receipts"]
})

/** Wraps a stream to record every write (each call is one element). */
export const recording = (stream: ByteStream) => {
  const writes: Array<ReadonlyArray<Uint8Array>> = []
  const wrapped: ByteStream = {
    ...stream,
    writeNow: (chunks) => {
      writes.push(chunks.map((c) => new Uint8Array(c)))
      return stream.writeNow(chunks)
    }
  }
  return { stream: wrapped, writes }
}

export const connectPair = (options?: {
  readonly alice?: KeyPair
  readonly bob?: KeyPair
  readonly pinned?: Uint8Array
  readonly framing?: SecureChannel.SecureChannelOptions["framing"]
  readonly wrap?: (stream: ByteStream) => ByteStream
}) =>
  Effect.gen(function*() {
    const alice = options?.alice ?? generateKeyPair()
    const bob = options?.bob ?? generateKeyPair()
    const [a, b] = yield* memoryPair()
    const wrap = options?.wrap ?? ((s: ByteStream) => s)
    const responder = Effect.gen(function*() {
      const queue = new ByteQueue()
      const version = yield* Preamble.sniff(b, queue)
      if (version !== "v2") return yield* Effect.die("expected v2")
      return yield* SecureChannel.respond(b, queue, {
        staticKeyPair: bob,
        hello: hello("bob"),
        framing: options?.framing,
        authorize: () => Effect.void
      })
    })
    const [initiator, accepted] = yield* Effect.all([
      SecureChannel.initiate(wrap(a), options?.pinned ?? bob.publicKey, {
        staticKeyPair: alice,
        hello: hello("alice"),
        framing: options?.framing
      }),
      responder
    ], { concurrency: 2 })
    return { alice, bob, initiator, responder: accepted, raw: { a, b } }
  })

/** Two v1 legacy channels over an in-memory pipe; `wrap` sees the initiator's stream. */
export const legacyPair = (wrap: (s: ByteStream) => ByteStream = (s) => s) =>
  Effect.gen(function*() {
    const alice = generateKeyPair()
    const bob = generateKeyPair()
    const [a, b] = yield* memoryPair()
    const responder = Effect.gen(function*() {
      const queue = new ByteQueue()
      const version = yield* Preamble.sniff(b, queue)
      if (version !== "v1") return yield* Effect.die("expected v1")
      return yield* LegacyChannel.respond(b, queue, {
        staticKeyPair: bob,
        uid: "b".repeat(32),
        username: "bob",
        authorize: () => Effect.void
      })
    })
    const [initiator, accepted] = yield* Effect.all([
      LegacyChannel.initiate(wrap(a), bob.publicKey, { staticKeyPair: alice, uid: "a".repeat(32), username: "alice" }),
      responder
    ], { concurrency: 2 })
    return { alice, bob, initiator, responder: accepted }
  })
