import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Cause, Chunk, Context, Effect, Exit, Fiber, Layer, Scope, Stream, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { MessageId } from "../src/domain/Ids.js"
import type { Deliverable } from "../src/domain/Messages.js"
import { ContactBook } from "../src/services/ContactBook.js"
import * as ContactStore from "../src/services/ContactStore.js"
import * as EventLog from "../src/services/EventLog.js"
import { Events } from "../src/services/Events.js"
import { Inbox } from "../src/services/Inbox.js"
import * as MessageStore from "../src/services/MessageStore.js"
import { Outbox } from "../src/services/Outbox.js"
import * as Store from "../src/services/Store.js"
import { contactOf, makeIdentity } from "./support/node.js"
import { tempDir } from "./support/temp.js"

const owner = makeIdentity("owner", 5000)
const peer = contactOf(makeIdentity("peer", 5001), "127.0.0.1")

const storeLayer = (dataDir: string) =>
  MessageStore.layer({ capacity: 100 }).pipe(
    Layer.provideMerge(EventLog.layer()),
    Layer.provideMerge(ContactStore.layer),
    Layer.provideMerge(Store.layer({ dataDir, identityPrivateKey: owner.keyPair.privateKey }))
  )

/** Opens the store in `dir`, runs `f`, closes it (like a daemon restart). */
const session = <A, E>(
  dir: string,
  f: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof storeLayer>> | Scope.Scope>
) => Effect.scoped(Effect.provide(f, storeLayer(dir)))

/** The outbox, with `peer` among the contacts. */
const outboxWithPeer = Effect.gen(function*() {
  yield* (yield* ContactBook).add(peer)
  return yield* Outbox
})

const text = (i: number, body = `secret message ${i}`): Deliverable => ({
  _tag: "Text",
  id: `m${i}` as MessageId,
  body,
  sentAt: 1_700_000_000_000 + i
})

describe("durable store", () => {
  it.scoped("drops queued messages whose expiry passed, across a restart, and announces it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* outboxWithPeer
          yield* outbox.enqueue(peer.uid, text(0), 5_000)
          yield* outbox.enqueue(peer.uid, text(1))
          yield* outbox.enqueue(peer.uid, text(2), 60_000)
          const pending = yield* (yield* MessageStore.History).pending(peer.uid)
          assert.deepStrictEqual(pending.map((p) => `${p.id}:${p.expiresAt}`), ["m0:5000", "m1:undefined", "m2:60000"])
        })
      )
      yield* session(
        dir,
        Effect.gen(function*() {
          const history = yield* MessageStore.History
          const log = yield* EventLog.EventLog
          yield* TestClock.adjust("4 seconds")
          assert.strictEqual((yield* history.pending(peer.uid)).length, 3, "not yet")
          yield* TestClock.adjust("2 seconds")
          assert.deepStrictEqual((yield* history.pending(peer.uid)).map((p) => p.id), ["m1", "m2"])
          const page = yield* history.page(peer.uid, { limit: 10 })
          assert.deepStrictEqual(page.messages.map((m) => [m.id, m.status]), [
            ["m0", "expired"],
            ["m1", "queued"],
            ["m2", "queued"]
          ])
          const events = yield* log.stream(0).pipe(Stream.take(1), Stream.runCollect)
          assert.deepStrictEqual(
            Chunk.toReadonlyArray(events).map((e) => e.event),
            [{ _tag: "MessageExpired", contact: peer.uid, ids: ["m0" as MessageId], at: 5_000 }]
          )
          // In flight when it expires: left to its ack.
          const cursor = (yield* Outbox).attach(peer.uid, () => {})
          assert.deepStrictEqual(cursor.take(10, Infinity).map((m) => m.id), ["m1", "m2"])
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual((yield* history.pending(peer.uid)).map((p) => p.id), ["m1", "m2"])
        })
      )
    }))

  it.scoped("keeps contacts, the outbox and history across reopenings; acks move messages to delivered", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* outboxWithPeer
          for (let i = 0; i < 5; i++) yield* outbox.enqueue(peer.uid, text(i))
          yield* outbox.enqueue(peer.uid, text(0))
          assert.strictEqual(yield* outbox.depth(peer.uid), 5, "the same id twice is one message")
        })
      )
      yield* session(
        dir,
        Effect.gen(function*() {
          const contacts = yield* ContactBook
          const outbox = yield* Outbox
          const history = yield* MessageStore.History
          assert.deepStrictEqual((yield* contacts.list).map((c) => c.uid), [peer.uid])
          assert.strictEqual(yield* outbox.depth(peer.uid), 5, "the outbox survived")
          const cursor = outbox.attach(peer.uid, () => {})
          const taken = cursor.take(3, Infinity)
          assert.deepStrictEqual(taken.map((m) => m.id), ["m0", "m1", "m2"])
          assert.deepStrictEqual(
            yield* outbox.ack(peer.uid, ["m0", "m1"] as Array<MessageId>, 1_000),
            ["m0", "m1"] as Array<MessageId>
          )
          const page = yield* history.page(peer.uid, { limit: 10 })
          assert.deepStrictEqual(page.messages.map((m) => [m.id, m.status]), [
            ["m0", "delivered"],
            ["m1", "delivered"],
            ["m2", "queued"],
            ["m3", "queued"],
            ["m4", "queued"]
          ])
          assert.isTrue(yield* history.cancel("m4" as MessageId))
          assert.isFalse(yield* history.cancel("m2" as MessageId), "in flight: too late to cancel")
          yield* outbox.requeue(peer.uid) // the link dropped with m2 in flight
        })
      )
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* Outbox
          const history = yield* MessageStore.History
          assert.strictEqual(yield* outbox.depth(peer.uid), 2, "m2 (in flight, unacked) and m3 remain")
          const statuses = (yield* history.page(peer.uid, { limit: 10 })).messages.map((m) => m.status)
          assert.deepStrictEqual(statuses, ["delivered", "delivered", "queued", "queued", "cancelled"])
          assert.deepStrictEqual(
            (yield* history.pending(peer.uid)).map((p) => [p.id, p.attempts]),
            [["m2", 1], ["m3", 0]],
            "attempts survive a restart"
          )
          yield* outbox.clear(peer.uid) // the contact was removed
        })
      )
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* Outbox
          const history = yield* MessageStore.History
          assert.strictEqual(yield* outbox.depth(peer.uid), 0, "a removed contact's queue is gone for good")
          const statuses = (yield* history.page(peer.uid, { limit: 10 })).messages.map((m) => m.status)
          assert.deepStrictEqual(statuses, ["delivered", "delivered", "cancelled", "cancelled", "cancelled"])
        })
      )
    }))

  it.scoped("a store of schema 1 (a separate outbox table) migrates with its queue, attempts and expiries", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* outboxWithPeer
          yield* outbox.enqueue(peer.uid, text(0))
          yield* outbox.enqueue(peer.uid, text(1), 4_000_000_000_000)
          yield* outbox.enqueue(peer.uid, text(2))
          outbox.attach(peer.uid, () => {}).take(1, Infinity) // m0: one attempt
          yield* outbox.ack(peer.uid, ["m0"] as Array<MessageId>, 1_000)
          yield* outbox.requeue(peer.uid)
        })
      )
      // Back to schema 1, as a daemon of the previous release left it: the queue in `outbox`.
      const db = new Database(Path.join(dir, Store.FILE_NAME))
      db.exec(`
        CREATE TABLE outbox (
          message_seq INTEGER PRIMARY KEY REFERENCES messages (seq) ON DELETE CASCADE,
          contact TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          expires_at INTEGER
        );
        CREATE INDEX outbox_by_contact ON outbox (contact, message_seq);
        INSERT INTO outbox (message_seq, contact, attempts, expires_at)
          SELECT seq, contact, 2, expires_at FROM messages WHERE pending = 1;
        DROP INDEX messages_pending;
        ALTER TABLE messages DROP COLUMN pending;
        ALTER TABLE messages DROP COLUMN attempts;
        ALTER TABLE messages DROP COLUMN expires_at;
        PRAGMA user_version = 1;
      `)
      db.close()
      yield* session(
        dir,
        Effect.gen(function*() {
          const history = yield* MessageStore.History
          const outbox = yield* Outbox
          assert.deepStrictEqual(
            (yield* history.pending(peer.uid)).map((p) => [p.id, p.attempts, p.expiresAt]),
            [["m1", 2, 4_000_000_000_000], ["m2", 2, undefined]]
          )
          yield* outbox.ack(peer.uid, outbox.attach(peer.uid, () => {}).take(2, Infinity).map((m) => m.id), 2_000)
          const statuses = (yield* history.page(peer.uid, { limit: 10 })).messages.map((m) => m.status)
          assert.deepStrictEqual(statuses, ["delivered", "delivered", "delivered"])
        })
      )
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* Outbox
          assert.strictEqual(yield* outbox.depth(peer.uid), 0, "acknowledged after the migration: gone for good")
        })
      )
    }))

  it.scoped("stores received messages once, pages history, counts and clears unread", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const history = yield* MessageStore.History
          const events = yield* Events
          const seen = yield* events.subscribe
          const acked = yield* inbox.deliver(peer, [text(1), text(2), text(1)], 10)
          assert.deepStrictEqual(acked, ["m1", "m2", "m1"] as Array<MessageId>, "duplicates are acknowledged too")
          yield* inbox.deliver(peer, [text(2), text(3)], 11)
          const announced = Chunk.toReadonlyArray(yield* seen.takeAll).flatMap((
            e
          ) => (e._tag === "MessageReceived" ? [e.id] : []))
          assert.deepStrictEqual(announced, ["m1", "m2", "m3"], "each message announced exactly once")
          assert.deepStrictEqual(yield* history.unread, { total: 3, byContact: { [peer.uid]: 3 } })
          const last = yield* history.page(peer.uid, { limit: 2 })
          assert.deepStrictEqual(last.messages.map((m) => m.id), ["m2", "m3"])
          const first = yield* history.page(peer.uid, { limit: 2, before: last.next })
          assert.deepStrictEqual(
            first.messages.map((m) => m.id),
            ["m1"]
          )
          assert.deepStrictEqual(yield* history.markRead(peer.uid), ["m1", "m2", "m3"] as Array<MessageId>)
          assert.strictEqual((yield* history.unread).total, 0)
        })
      )
    }))

  it.scoped(
    "the event log replays from a cursor, then streams live, each event once and in order",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir()
        yield* session(
          dir,
          Effect.gen(function*() {
            const events = yield* Events
            const log = yield* EventLog.EventLog
            for (let i = 0; i < 5; i++) {
              yield* events.publish({ _tag: "TypingChanged", contact: peer.uid, active: i % 2 === 0, at: i })
            }
            assert.strictEqual(yield* log.latest, 5)
            const reader = yield* Effect.fork(Stream.runCollect(Stream.take(log.stream(2), 6)))
            yield* Effect.repeatN(Effect.yieldNow(), 50)
            for (let i = 5; i < 8; i++) {
              yield* events.publish({ _tag: "TypingChanged", contact: peer.uid, active: true, at: i })
            }
            const got = Chunk.toReadonlyArray(yield* Fiber.join(reader))
            assert.deepStrictEqual(
              got.map((e) => e.cursor),
              [3, 4, 5, 6, 7, 8]
            )
            assert.deepStrictEqual(
              got.map((e) => e.event._tag === "TypingChanged" && e.event.at),
              [2, 3, 4, 5, 6, 7]
            )
          })
        )
        yield* session(
          dir,
          Effect.gen(function*() {
            const log = yield* EventLog.EventLog
            const replayed = yield* Stream.runCollect(Stream.take(log.stream(0), 8))
            assert.strictEqual(Chunk.size(replayed), 8, "the log survives a restart")
          })
        )
      }),
    { timeout: 20_000 }
  )

  it.scoped("subscribers see each event of a concurrent burst exactly once, in cursor order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const log = yield* EventLog.EventLog
          const events = yield* Events
          const count = 3000
          const readers = yield* Effect.forEach([0, 0, 0], (from) =>
            log.stream(from).pipe(
              Stream.take(count),
              Stream.map((e) => e.cursor),
              Stream.runCollect,
              Effect.fork
            ))
          yield* Effect.forEach(
            Array.from({ length: count }, (_, i) => i),
            (i) => events.publish({ _tag: "TypingChanged", contact: peer.uid, active: i % 2 === 0, at: i }),
            { concurrency: 64 }
          )
          for (const reader of readers) {
            const cursors = Chunk.toReadonlyArray(yield* Fiber.join(reader))
            assert.deepStrictEqual(cursors, Array.from({ length: count }, (_, i) => i + 1))
          }
          const more = yield* log.stream(count - 1).pipe(Stream.take(1), Stream.runCollect)
          assert.deepStrictEqual(Chunk.toReadonlyArray(more).map((e) => e.cursor), [count])
        })
      )
    }))

  it.scoped("a failing write leaves nothing behind and does not fail the writes committed with it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const store = yield* Store.Store
          const insert = (id: string) =>
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) =>
                sql`INSERT INTO messages (contact, id, outgoing, sent_at, status, body)
                  VALUES ('c', ${id}, 1, 0, 'queued', x'00')`
            )
          // Offered together, so they share a batch: the failing one is in the middle of it.
          let failingRuns = 0
          const failing = Effect.zipRight(
            Effect.sync(() => failingRuns++),
            Effect.zipRight(insert("a"), Effect.fail("boom"))
          )
          const results = yield* Effect.all([
            Effect.either(store.write(insert("x"))),
            Effect.either(store.write(failing)),
            Effect.either(store.write(insert("b")))
          ], { concurrency: "unbounded" })
          assert.deepStrictEqual(results.map((r) => r._tag), ["Right", "Left", "Right"])
          assert.strictEqual(failingRuns, 1, "the failing body is not run again")
          const rows = yield* store.sql<
            { readonly id: string }
          >`SELECT id FROM messages WHERE contact = 'c' ORDER BY seq`
          assert.deepStrictEqual(rows.map((r) => r.id), ["x", "b"])
        })
      )
    }))

  it.scoped("a send whose caller is interrupted while it commits still joins the queue (and is not lost)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* outboxWithPeer
          const sending = yield* Effect.fork(outbox.enqueue(peer.uid, text(1)))
          yield* Effect.yieldNow()
          yield* Fiber.interrupt(sending) // e.g. the IPC client cancelled or went away
          for (let i = 0; i < 100 && (yield* outbox.depth(peer.uid)) === 0; i++) yield* Effect.yieldNow()
          assert.strictEqual(yield* outbox.depth(peer.uid), 1, "committed, so queued for delivery now")
          const retry = yield* Effect.exit(outbox.enqueue(peer.uid, text(1)))
          assert.isTrue(Exit.isSuccess(retry))
          assert.strictEqual(yield* outbox.depth(peer.uid), 1, "the caller's retry does not queue it twice")
        })
      )
    }))

  it.scoped("writes still waiting when the store closes fail instead of hanging, and later ones fail at once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const scope = yield* Scope.make()
      const store = Context.get(
        yield* Layer.buildWithScope(Store.layer({ dataDir: dir, identityPrivateKey: owner.keyPair.privateKey }), scope),
        Store.Store
      )
      // The first write's body never ends (TestClock), so the writer is busy when the store closes.
      const stuck = yield* Effect.fork(store.write(Effect.zipRight(Effect.sleep("1 hour"), Effect.void)))
      const queued = yield* Effect.fork(store.write(Effect.void))
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      for (const fiber of [stuck, queued]) {
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), String(exit))
      }
      const late = yield* Effect.exit(store.write(Effect.void))
      assert.isTrue(Exit.isFailure(late) && Cause.isDie(late.cause), "a write after closing fails at once")
    }))

  it.scoped("without the key, the data directory reveals no message text", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const marker = "PINEAPPLE-PIZZA-CONSPIRACY"
      yield* session(
        dir,
        Effect.gen(function*() {
          const outbox = yield* outboxWithPeer
          const inbox = yield* Inbox
          yield* outbox.enqueue(peer.uid, text(1, `outgoing ${marker}`))
          yield* inbox.deliver(peer, [text(2, `incoming ${marker}`)], 1)
        })
      )
      for (const file of Fs.readdirSync(dir)) {
        const bytes = Fs.readFileSync(Path.join(dir, file))
        assert.isFalse(bytes.includes(marker), `${file} leaks the text`)
        assert.isFalse(bytes.includes("peer"), `${file} leaks the contact's name`)
      }
      const other = makeIdentity("thief", 1)
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const scope = yield* Scope.make()
        const store = yield* Scope.extend(
          Store.make({ dataDir: dir, identityPrivateKey: other.keyPair.privateKey }),
          scope
        )
        const rows = yield* store.sql<{ readonly body: Uint8Array }>`SELECT body FROM messages`
        return rows.map((r) => store.sealed.open("x", r.body))
      })))
      assert.isTrue(Exit.isSuccess(exit) && exit.value.every((b) => b === undefined), "another key opens nothing")
    }))
})
