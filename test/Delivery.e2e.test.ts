/**
 * The delivery promises, with real daemon processes on loopback: offline delivery, SIGKILL of the
 * sender or the receiver in the middle of a burst, and replay of the event log.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { HistoryEntry } from "../src/domain/History.js"
import { MessageId } from "../src/domain/Ids.js"
import type { Client, Person } from "./support/processes.js"
import { client, fullHistory, gone, kill, link, person, start, stop, waitFor } from "./support/processes.js"

const ids = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => MessageId.make(`${prefix}-${String(i).padStart(4, "0")}`))

const incoming = (history: ReadonlyArray<HistoryEntry>) => history.filter((m) => m.direction === "in")

/** Every MessageReceived in the receiver's durable event log, replayed from the start. */
const receivedEvents = (c: Client, upTo: number) =>
  c.events.subscribe({ from: 0 }).pipe(
    Stream.filter((e) => e.event._tag === "MessageReceived"),
    Stream.map((e) => (e.event._tag === "MessageReceived" ? e.event.id : "")),
    Stream.take(upTo),
    Stream.runCollect,
    Effect.map((chunk) => [...chunk])
  )

/** Waits until `receiver` stored `expected` (exactly once, in order) and `sender` saw every ack. */
const assertDeliveredExactlyOnce = (
  sender: Client,
  receiver: Client,
  toReceiver: string,
  toSender: string,
  expected: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    yield* waitFor(
      "every message to be acknowledged",
      sender.outbox.list({ contact: toReceiver }),
      (pending) => pending.length === 0,
      120
    )
    const received = incoming(yield* fullHistory(receiver, toSender)).map((m) => m.id)
    assert.strictEqual(received.length, expected.length, "no message lost or duplicated")
    assert.deepStrictEqual(received, expected, "in order")
    const sent = (yield* fullHistory(sender, toReceiver)).filter((m) => m.direction === "out")
    assert.deepStrictEqual(sent.map((m) => m.id), expected)
    assert.isTrue(sent.every((m) => m.status === "delivered"), "the sender's history shows every message delivered")
    const events = yield* receivedEvents(receiver, expected.length).pipe(Effect.timeout("20 seconds"))
    assert.deepStrictEqual(events, expected, "the receiver's event log announced each message once")
  })

/** Sends `messages` one after another (each `send` returns once it is durably queued). */
const sendAll = (c: Client, contact: string, messages: ReadonlyArray<MessageId>, onSent?: (i: number) => void) =>
  Effect.forEach(messages, (id, i) =>
    Effect.tap(
      c.messages.send({ contact, body: `message ${id}`, id }),
      () => Effect.sync(() => onSent?.(i))
    ), { discard: true })

const linkedPair = Effect.gen(function*() {
  const alice = yield* person("alice")
  const bob = yield* person("bob")
  yield* start(alice)
  yield* start(bob)
  const { aAtB, bAtA } = yield* link(alice, bob)
  return { alice, bob, aAtB, bAtA }
})

const stopAll = (...people: ReadonlyArray<Person>) => Effect.forEach(people, (p) => Effect.ignore(stop(p)))

describe("delivery guarantees (real daemons)", () => {
  it.scopedLive(
    "offline delivery: 100 messages wait in the outbox and arrive once, in order",
    () =>
      Effect.gen(function*() {
        const { alice, bob } = yield* linkedPair
        yield* stop(bob)
        const messages = ids(100, "offline")
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* client(alice)
          yield* sendAll(a, "bob", messages)
          const pending = yield* a.outbox.list({ contact: "bob" })
          assert.deepStrictEqual(pending.map((p) => p.id), messages, "all 100 wait, in order")
          assert.strictEqual(new Set(pending.map((p) => p.nextRetryAt)).size, 1, "one link, one next retry for all")
          const history = yield* fullHistory(a, "bob")
          assert.isTrue(history.every((m) => m.status === "queued"))
        }))

        yield* start(bob)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* assertDeliveredExactlyOnce(yield* client(alice), yield* client(bob), "bob", "alice", messages)
        }))
        yield* stopAll(alice, bob)
      }),
    { timeout: 180_000 }
  )

  it.scopedLive(
    "SIGKILL of the sending daemon mid-burst: every message arrives exactly once, in order",
    () =>
      Effect.gen(function*() {
        const { alice, bob } = yield* linkedPair
        const messages = ids(2000, "burst")
        let confirmed = 0
        let pid = 0
        // The burst fails when the daemon dies under it: `confirmed` sends were durably accepted.
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* client(alice)
          const burst = yield* Effect.fork(sendAll(a, "bob", messages, (i) => {
            confirmed = i + 1
            if (i === 700) pid = Number.parseInt(Fs.readFileSync(Path.join(alice.home, "daemon.pid"), "utf8"), 10)
          }))
          yield* waitFor("the burst to be under way", Effect.sync(() => pid), (p) => p > 0)
          yield* kill(alice)
          const exit = yield* Fiber.await(burst)
          assert.strictEqual(exit._tag, "Failure", "the daemon died before the burst finished")
          yield* gone(pid)
        }))
        assert.isBelow(confirmed, messages.length)

        // Restart over the stale pid file, lock and socket; resend from the first unconfirmed message
        // with the same ids (a message that was in fact recorded is not queued twice).
        yield* start(alice)
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* client(alice)
          yield* sendAll(a, "bob", messages.slice(confirmed))
          yield* assertDeliveredExactlyOnce(a, yield* client(bob), "bob", "alice", messages)
        }))
        yield* stopAll(alice, bob)
      }),
    { timeout: 240_000 }
  )

  it.scopedLive(
    "SIGKILL of the receiving daemon mid-burst: every message arrives exactly once, in order",
    () =>
      Effect.gen(function*() {
        const { alice, bob } = yield* linkedPair
        const messages = ids(2000, "burst")
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* client(alice)
          const b = yield* client(bob)
          const burst = yield* Effect.fork(sendAll(a, "bob", messages))
          yield* waitFor("Bob to be receiving", b.messages.unread(), (u) => u.total >= 300)
          const pid = yield* kill(bob)
          yield* gone(pid)
          yield* Fiber.join(burst)
        }))

        yield* start(bob)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* assertDeliveredExactlyOnce(yield* client(alice), yield* client(bob), "bob", "alice", messages)
        }))
        yield* stopAll(alice, bob)
      }),
    { timeout: 240_000 }
  )

  it.scopedLive(
    "replay: a subscriber that was away sees each event it missed exactly once",
    () =>
      Effect.gen(function*() {
        const { alice, bob } = yield* linkedPair
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* client(alice)
          const b = yield* client(bob)
          // First session: read until the first message, remember its cursor, disconnect.
          yield* a.messages.send({ contact: "bob", body: "before" })
          const first = yield* Effect.scoped(Effect.gen(function*() {
            const watcher = yield* client(bob)
            return yield* watcher.events.subscribe({ from: 0 }).pipe(
              Stream.filter((e) => e.event._tag === "MessageReceived"),
              Stream.take(1),
              Stream.runHead,
              Effect.map((o) => (o._tag === "Some" ? o.value : undefined))
            )
          }))
          assert.isDefined(first)
          // While nobody watches, more messages arrive.
          const missed = ids(50, "missed")
          yield* sendAll(a, "bob", missed)
          yield* waitFor("Bob to store them", b.messages.unread(), (u) => u.total === 51)
          // Resubscribe from the remembered cursor: the 50 missed, then live ones, each once.
          const resumed = yield* Effect.scoped(Effect.gen(function*() {
            const watcher = yield* client(bob)
            const collected = yield* watcher.events.subscribe({ from: first!.cursor }).pipe(
              Stream.filter((e) => e.event._tag === "MessageReceived"),
              Stream.take(52),
              Stream.runCollect,
              Effect.fork
            )
            yield* a.messages.send({ contact: "bob", body: "live", id: MessageId.make("live-1") })
            yield* a.messages.send({ contact: "bob", body: "live", id: MessageId.make("live-2") })
            return [...(yield* Fiber.join(collected).pipe(Effect.timeout("30 seconds")))]
          }))
          const resumedIds = resumed.map((e) => (e.event._tag === "MessageReceived" ? e.event.id : ""))
          assert.deepStrictEqual(resumedIds, [...missed, "live-1", "live-2"])
          const cursors = resumed.map((e) => e.cursor)
          assert.deepStrictEqual(cursors, [...cursors].sort((x, y) => x - y), "cursors increase")
          assert.isTrue(cursors.every((c) => c > first!.cursor))
        }))
        yield* stopAll(alice, bob)
      }),
    { timeout: 120_000 }
  )
})
