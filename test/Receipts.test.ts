/**
 * Delivered and read receipts between two real daemons (in this process, real sockets): read
 * receipts leave only a daemon whose user enabled them (JARVIS_READ_RECEIPTS).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { linkDaemons, unlockedDaemon } from "./support/daemon.js"
import { waitFor } from "./support/processes.js"

describe("receipts", () => {
  it.scopedLive(
    "the sender's history goes queued → delivered → read, and read only when the reader allows",
    () =>
      Effect.gen(function*() {
        const alice = yield* unlockedDaemon("alice") // read receipts off (the default)
        const bob = yield* unlockedDaemon("bob", { readReceipts: true })
        const { aAtB, bAtA } = yield* linkDaemons(alice, bob)
        const historyAt = (d: typeof alice, contact: string) =>
          Effect.map(d.client.messages.history({ contact, limit: 50 }), (page) => page.messages)

        const receipts = yield* alice.client.events.subscribe({}).pipe(
          Stream.filter(({ event }) => event._tag === "ReceiptReceived"),
          Stream.map(({ event }) => event._tag === "ReceiptReceived" ? event.kind : "other"),
          Stream.take(2),
          Stream.runCollect,
          Effect.fork
        )

        const sent = yield* alice.client.messages.send({ contact: bAtA.uid, body: "did you read this?" })
        yield* waitFor(
          "delivery",
          historyAt(alice, "bob"),
          (ms) => ms.some((m) => m.id === sent.id && m.status === "delivered")
        )
        assert.isDefined((yield* historyAt(alice, "bob")).find((m) => m.id === sent.id)!.deliveredAt)
        assert.strictEqual((yield* bob.client.messages.unread()).total, 1)

        yield* bob.client.messages.markRead({ contact: aAtB.uid })
        yield* waitFor(
          "the read receipt",
          historyAt(alice, "bob"),
          (ms) => ms.some((m) => m.id === sent.id && m.status === "read")
        )
        assert.isDefined((yield* historyAt(alice, "bob")).find((m) => m.id === sent.id)!.readAt)
        assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(receipts)), ["delivered", "read"])

        // Alice does not send read receipts: Bob's message stays "delivered" after she reads it. A
        // message she sends afterwards travels the same link, so a receipt sent before it would
        // have arrived first.
        const reply = yield* bob.client.messages.send({ contact: aAtB.uid, body: "yes" })
        yield* waitFor("Alice to have it", historyAt(alice, "bob"), (ms) => ms.some((m) => m.id === reply.id))
        yield* alice.client.messages.markRead({ contact: bAtA.uid })
        const later = yield* alice.client.messages.send({ contact: bAtA.uid, body: "after reading" })
        yield* waitFor("Bob to have the later one", historyAt(bob, "alice"), (ms) => ms.some((m) => m.id === later.id))
        const mine = (yield* historyAt(bob, "alice")).find((m) => m.id === reply.id)!
        assert.strictEqual(mine.status, "delivered")
        assert.isUndefined(mine.readAt)
      }),
    { timeout: 60_000 }
  )
})
