import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as Net from "node:net"
import type { MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import { generateKeyPair } from "../src/protocol/crypto/X25519.js"
import { ByteQueue } from "../src/protocol/internal/ByteQueue.js"
import * as NodeStream from "../src/protocol/NodeStream.js"
import * as Preamble from "../src/protocol/Preamble.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"
import { hello } from "./support/channel.js"

describe("v2 channel over real TCP on 127.0.0.1", () => {
  it.scoped("handshakes and moves 5,000 messages with a 200 KiB one among them", () =>
    Effect.gen(function*() {
      const bob = generateKeyPair()
      const accepted = yield* Deferred.make<Net.Socket>()
      const server = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const s = Net.createServer((socket) => Deferred.unsafeDone(accepted, Effect.succeed(socket)))
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const port = (server.address() as Net.AddressInfo).port
      const dial = Effect.flatMap(NodeStream.connect("127.0.0.1", port), (stream) =>
        SecureChannel.initiate(stream, bob.publicKey, { staticKeyPair: generateKeyPair(), hello: hello("alice") }))
      const answer = Effect.gen(function*() {
        const stream = NodeStream.fromSocket(yield* Deferred.await(accepted))
        const queue = new ByteQueue()
        assert.strictEqual(yield* Preamble.sniff(stream, queue), "v2")
        return yield* SecureChannel.respond(stream, queue, {
          staticKeyPair: bob,
          hello: hello("bob"),
          authorize: () =>
            Effect.void
        })
      })
      const [alice, bobChannel] = yield* Effect.all([dial, answer], { concurrency: 2 })
      yield* Effect.addFinalizer(() =>
        Effect.zipRight(alice.close, bobChannel.close)
      )
      const sent: Array<WireMessage> = Array.from({ length: 5000 }, (_, i) => ({
        _tag: "Text",
        id: `t${i}` as MessageId,
        body: i === 2500 ? "z".repeat(200 * 1024 / 4) : `hello ${i}`,
        sentAt: i
      }))
      const sender = Effect.forEach([0, 1, 2, 3, 4], (k) => alice.send(sent.slice(k * 1000, (k + 1) * 1000)), {
        discard: true
      })
      const receiver = Effect.gen(function*() {
        const got: Array<WireMessage> = []
        while (got.length < sent.length) got.push(...(yield* bobChannel.receive))
        return got
      })
      const [, got] = yield* Effect.all([sender, receiver], { concurrency: 2 })
      assert.deepStrictEqual(got, sent)
      yield* bobChannel.send([{ _tag: "Ping", seq: 1 }])
      assert.deepStrictEqual(yield* alice.receive, [{ _tag: "Ping", seq: 1 }])
      yield* alice.close
      const end = yield* Effect.flip(bobChannel.receive)
      assert.strictEqual(end._tag, "TransportError")
    }))
})
