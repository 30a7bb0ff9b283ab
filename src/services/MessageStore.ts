/**
 * Messages on disk, and the durable Outbox and Inbox built on them. A sent message is recorded in
 * the history as pending (the durable outbox: `pending = 1`, with its attempts and expiry) by one
 * statement before `send` returns; it leaves the outbox only when the peer's ack is committed. A
 * received message is stored (deduplicated by id) before the link acknowledges it. Ready outgoing
 * messages are mirrored in memory, so sending never reads the disk, and the mirror is rebuilt
 * from the pending messages when the store opens.
 *
 * @since 2.0.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Array as Arr, Clock, Context, Effect, Layer, Option, Schedule } from "effect"
import type { Contact } from "../domain/Contact.js"
import { MailboxFull } from "../domain/Errors.js"
import type { MessageReceived } from "../domain/Events.js"
import * as Held from "../domain/Held.js"
import type { HistoryEntry, MessageStatus, PendingMessage, UnreadCounts } from "../domain/History.js"
import type { GroupId, MessageId, Uid } from "../domain/Ids.js"
import type { Deliverable } from "../domain/Messages.js"
import { EventLog } from "./EventLog.js"
import { Inbox, receivedEvent } from "./Inbox.js"
import { Box, Outbox } from "./Outbox.js"
import { Store } from "./Store.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface HistoryShape {
  /** The `limit` messages before `before` (a cursor), oldest first, and the cursor of the page. */
  readonly page: (
    contact: Uid,
    options: { readonly limit: number; readonly before?: number | undefined }
  ) => Effect.Effect<{ readonly messages: ReadonlyArray<HistoryEntry>; readonly next: number | undefined }, SqlError>
  readonly unread: Effect.Effect<UnreadCounts, SqlError>
  /** Marks received messages read; returns their ids (for read receipts). */
  readonly markRead: (contact: Uid) => Effect.Effect<ReadonlyArray<MessageId>, SqlError>
  readonly pending: (contact?: Uid | undefined) => Effect.Effect<ReadonlyArray<PendingMessage>>
  /** Cancels a message that has not been sent yet; false if it is unknown or already on the wire. */
  readonly cancel: (id: MessageId) => Effect.Effect<boolean, SqlError>
  /** Drops a removed contact's queue and history. */
  readonly forget: (contact: Uid) => Effect.Effect<void, SqlError>
}

/**
 * @since 2.0.0
 * @category services
 */
export class History extends Context.Tag("jarvis/History")<History, HistoryShape>() {}

interface Row {
  readonly seq: number
  readonly contact: string
  readonly id: string
  readonly outgoing: number
  readonly sent_at: number
  readonly received_at: number | null
  readonly delivered_at: number | null
  readonly read_at: number | null
  readonly status: string
  readonly group_id: string | null
  readonly body: Uint8Array
}

const ad = (contact: string, outgoing: boolean, id: string) => `message:${contact}:${outgoing ? "out" : "in"}:${id}`

const CHUNK = 500

const INSERT_OUTGOING =
  `INSERT INTO messages (contact, id, outgoing, sent_at, status, group_id, body, pending, expires_at)
  VALUES (?, ?, 1, ?, 'queued', ?, ?, 1, ?)
  ON CONFLICT (contact, outgoing, id) DO NOTHING
  RETURNING seq`
const UPDATE_ATTEMPTS = "UPDATE messages SET attempts = ? WHERE contact = ? AND outgoing = 1 AND id = ?"

const chunks = <A>(items: ReadonlyArray<A>) => Arr.chunksOf(items, CHUNK)

/** Removes these outgoing messages of `contact` from the durable outbox (at most CHUNK ids). */
const unqueue = (sql: SqlClient.SqlClient, contact: Uid, ids: ReadonlyArray<MessageId>) =>
  sql`UPDATE messages SET pending = 0
    WHERE contact = ${contact} AND outgoing = 1 AND pending = 1 AND ${sql.in("id", ids)}`

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (options: { readonly capacity: number }) =>
  Effect.gen(function*() {
    const store = yield* Store
    const log = yield* EventLog
    const { sealed, sql } = store
    const boxes = new Map<Uid, Box>()
    // Per queued message, keyed by contact and id (ids are unique only per contact; a uid is 32
    // hex digits, so the concatenation is unambiguous). A message's queue time is its sentAt.
    const attempts = new Map<string, number>()
    const expiries = new Map<string, number>()
    const keyOf = (contact: Uid, id: MessageId) => contact + id

    const box = (contact: Uid): Box => {
      let b = boxes.get(contact)
      if (b === undefined) boxes.set(contact, b = new Box())
      return b
    }

    const forgetMessage = (contact: Uid, id: MessageId) => {
      attempts.delete(keyOf(contact, id))
      expiries.delete(keyOf(contact, id))
    }

    /** Forgets a contact's queue: its boxes and the metadata of everything in them. */
    const dropBox = (contact: Uid) => {
      const b = boxes.get(contact)
      if (b === undefined) return
      for (const m of [...b.inflightMessages(), ...b.readyMessages()]) forgetMessage(contact, m.id)
      boxes.delete(contact)
    }

    const expiryOf = (contact: Uid, id: MessageId): { readonly expiresAt?: number } => {
      const at = expiries.get(keyOf(contact, id))
      return at === undefined ? {} : { expiresAt: at }
    }

    const rows = yield* sql<Row>`
      SELECT seq, contact, id, outgoing, sent_at, received_at, delivered_at, read_at, status, group_id, body,
             attempts, expires_at
      FROM messages WHERE pending = 1
      ORDER BY seq`
    for (const row of rows as ReadonlyArray<Row & { readonly attempts: number; readonly expires_at: number | null }>) {
      const opened = sealed.openJson(ad(row.contact, true, row.id), row.body) as { readonly body: string } | undefined
      if (opened === undefined) continue
      const message: Deliverable = row.group_id === null
        ? { _tag: "Text", id: row.id as MessageId, body: opened.body, sentAt: row.sent_at }
        : {
          _tag: "GroupText",
          groupId: row.group_id as GroupId,
          id: row.id as MessageId,
          body: opened.body,
          sentAt: row.sent_at
        }
      box(row.contact as Uid).push(message)
      attempts.set(keyOf(row.contact as Uid, message.id), row.attempts)
      if (row.expires_at !== null) expiries.set(keyOf(row.contact as Uid, message.id), row.expires_at)
    }

    const toEntry = (row: Row): HistoryEntry | undefined => {
      const opened = sealed.openJson(ad(row.contact, row.outgoing === 1, row.id), row.body) as
        | { readonly body: string }
        | undefined
      if (opened === undefined) return undefined
      return {
        cursor: row.seq,
        id: row.id as MessageId,
        contact: row.contact as Uid,
        direction: row.outgoing === 1 ? "out" : "in",
        body: opened.body,
        sentAt: row.sent_at,
        status: row.status as MessageStatus,
        ...(row.received_at === null ? {} : { receivedAt: row.received_at }),
        ...(row.delivered_at === null ? {} : { deliveredAt: row.delivered_at }),
        ...(row.read_at === null ? {} : { readAt: row.read_at }),
        ...(row.group_id === null ? {} : { groupId: row.group_id as GroupId })
      }
    }

    const outbox = Outbox.of({
      enqueue: (contact, message, expiresAt) =>
        Effect.gen(function*() {
          const b = box(contact)
          if (b.size >= options.capacity) {
            return yield* new MailboxFull({ capacity: options.capacity, detail: `outbox for ${contact}` })
          }
          const groupId = message._tag === "GroupText" ? message.groupId : null
          const body = sealed.sealJson(ad(contact, true, message.id), { body: message.body })
          // The hot path of sending: one statement, straight to the writer's connection. A message
          // id that was already sent is left alone (the caller's retry), and not queued again.
          // The committed message joins the in-memory queue from the writer, in commit order, even
          // if the caller is interrupted meanwhile (a cancelled request, a client gone).
          yield* store.writeThen(
            Effect.map(
              store.exec<{ readonly seq: number }>(INSERT_OUTGOING, [
                contact,
                message.id,
                message.sentAt,
                groupId,
                body,
                expiresAt ?? null
              ]),
              (created) => created.length > 0
            ),
            (inserted) =>
              Effect.sync(() => {
                if (!inserted) return
                if (expiresAt !== undefined) expiries.set(keyOf(contact, message.id), expiresAt)
                b.push(message)
              })
          ).pipe(Effect.orDie)
        }),
      attach: (contact, onReady) => {
        const cursor = box(contact).attach(onReady)
        return {
          ...cursor,
          take: (max, maxBytes) => {
            const taken = cursor.take(max, maxBytes)
            for (const m of taken) attempts.set(keyOf(contact, m.id), (attempts.get(keyOf(contact, m.id)) ?? 0) + 1)
            return taken
          }
        }
      },
      ack: (contact, ids, at) =>
        Effect.gen(function*() {
          const acked = boxes.get(contact)?.ack(ids) ?? []
          if (acked.length === 0) return acked
          yield* log.record(
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              // Out of the outbox, and delivered unless a read receipt overtook the ack.
              for (const part of chunks(acked)) {
                yield* sql`UPDATE messages SET pending = 0,
                  delivered_at = CASE WHEN status = 'queued' THEN ${at} ELSE delivered_at END,
                  status = CASE WHEN status = 'queued' THEN 'delivered' ELSE status END
                  WHERE contact = ${contact} AND outgoing = 1 AND pending = 1 AND ${sql.in("id", part)}`
              }
            }),
            () => [Held.receiptReceived(contact, "delivered", acked, at)]
          ).pipe(Effect.orDie)
          for (const id of acked) forgetMessage(contact, id)
          return acked
        }),
      // The link dropped: what was in flight goes back to the queue, each a failed attempt, and the
      // counts are written so that `outbox.list` still shows them after a restart.
      requeue: (contact) =>
        Effect.suspend(() => {
          const b = boxes.get(contact)
          if (b === undefined) return Effect.void
          const inflight = b.inflightMessages()
          b.requeue()
          if (inflight.length === 0) return Effect.void
          return store.write(Effect.forEach(
            inflight,
            (m) => store.exec(UPDATE_ATTEMPTS, [attempts.get(keyOf(contact, m.id)) ?? 0, contact, m.id]),
            { discard: true }
          )).pipe(Effect.orDie)
        }),
      depth: (contact) => Effect.sync(() => boxes.get(contact)?.size ?? 0),
      // The contact is gone: its queued messages will never be delivered. They stay in the history
      // as cancelled (the daemon then deletes that history too).
      clear: (contact) =>
        Effect.suspend(() => {
          if (!boxes.has(contact)) return Effect.void
          dropBox(contact)
          return store.write(
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              yield* sql`UPDATE messages SET pending = 0 WHERE contact = ${contact} AND pending = 1`
              yield* sql`UPDATE messages SET status = 'cancelled'
                WHERE contact = ${contact} AND outgoing = 1 AND status = 'queued'`
            })
          ).pipe(Effect.orDie)
        })
    })

    const inbox = Inbox.of({
      deliver: (contact: Contact, messages: ReadonlyArray<Deliverable>, receivedAt: number) =>
        // The messages and their MessageReceived events commit together: after a crash, a message
        // is either stored and announced in the event log, or neither (and the peer resends it).
        log.record(
          Effect.gen(function*() {
            const sql = yield* SqlClient.SqlClient
            const inserted = new Set<string>()
            for (const part of chunks(messages)) {
              const values = part.map((m) => ({
                contact: contact.uid,
                id: m.id,
                outgoing: 0,
                sent_at: m.sentAt,
                received_at: receivedAt,
                status: "received",
                group_id: m._tag === "GroupText" ? m.groupId : null,
                body: sealed.sealJson(ad(contact.uid, false, m.id), { body: m.body })
              }))
              const created = yield* sql<{ readonly id: string }>`
                INSERT INTO messages ${sql.insert(values)}
                ON CONFLICT (contact, outgoing, id) DO NOTHING
                RETURNING id`
              for (const row of created) inserted.add(row.id)
            }
            return inserted
          }),
          (fresh: Set<string>) => {
            const received: Array<MessageReceived> = []
            for (const m of messages) {
              if (!fresh.has(m.id)) continue
              fresh.delete(m.id)
              received.push(receivedEvent(contact.uid, m, receivedAt))
            }
            return received
          }
        ).pipe(Effect.orDie, Effect.as(messages.map((m) => m.id))),
      receipt: (contact, kind, ids, at) =>
        Effect.gen(function*() {
          if (ids.length === 0) return
          yield* log.record(
            Effect.gen(function*() {
              if (kind !== "read") return
              const sql = yield* SqlClient.SqlClient
              for (const part of chunks(ids)) {
                yield* sql`UPDATE messages SET status = 'read', read_at = ${at}
                  WHERE contact = ${contact.uid} AND outgoing = 1 AND status IN ('queued', 'delivered')
                  AND ${sql.in("id", part)}`
              }
            }),
            () => [Held.receiptReceived(contact.uid, kind, ids, at)]
          ).pipe(Effect.orDie)
        })
    })

    const history = History.of({
      page: (contact, { before, limit }) =>
        Effect.gen(function*() {
          const rows = yield* sql<Row>`
            SELECT seq, contact, id, outgoing, sent_at, received_at, delivered_at, read_at, status, group_id, body
            FROM messages
            WHERE contact = ${contact} AND seq < ${before ?? Number.MAX_SAFE_INTEGER}
            ORDER BY seq DESC LIMIT ${limit}`
          const messages = rows.flatMap((row) => Option.toArray(Option.fromNullable(toEntry(row)))).reverse()
          return { messages, next: rows.length === limit ? messages[0]?.cursor : undefined }
        }),
      unread: Effect.gen(function*() {
        const rows = yield* sql<{ readonly contact: string; readonly n: number }>`
          SELECT contact, count(*) AS n FROM messages WHERE outgoing = 0 AND read_at IS NULL GROUP BY contact`
        const byContact: Record<string, number> = {}
        let total = 0
        for (const row of rows) {
          byContact[row.contact] = row.n
          total += row.n
        }
        return { total, byContact }
      }),
      markRead: (contact) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const rows = yield* store.write(
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              sql<{ readonly id: string }>`
                UPDATE messages SET read_at = ${now}, status = 'read'
                WHERE contact = ${contact} AND outgoing = 0 AND read_at IS NULL
                RETURNING id`)
          )
          return rows.map((r) => r.id as MessageId)
        }),
      pending: (contact) =>
        Effect.sync(() => {
          const out: Array<PendingMessage> = []
          for (const [uid, b] of boxes) {
            if (contact !== undefined && uid !== contact) continue
            for (
              const [state, messages] of [["in-flight", b.inflightMessages()], ["queued", b.readyMessages()]] as const
            ) {
              for (const m of messages) {
                out.push({
                  id: m.id,
                  contact: uid,
                  state,
                  attempts: attempts.get(keyOf(uid, m.id)) ?? 0,
                  queuedAt: m.sentAt,
                  ...expiryOf(uid, m.id)
                })
              }
            }
          }
          return out
        }),
      cancel: (id) =>
        Effect.gen(function*() {
          for (const [contact, b] of boxes) {
            if (!b.remove(id)) continue
            yield* store.write(
              Effect.gen(function*() {
                const sql = yield* SqlClient.SqlClient
                yield* unqueue(sql, contact, [id])
                yield* sql`UPDATE messages SET status = 'cancelled'
                  WHERE contact = ${contact} AND outgoing = 1 AND id = ${id}`
              })
            )
            forgetMessage(contact, id)
            return true
          }
          return false
        }),
      forget: (contact) =>
        Effect.gen(function*() {
          dropBox(contact)
          yield* store.write(
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              yield* sql`DELETE FROM messages WHERE contact = ${contact}`
            })
          )
        })
    })

    /** Drops queued messages whose expiry passed; one in flight is left to its ack. */
    const expire = Effect.gen(function*() {
      if (expiries.size === 0) return
      const now = yield* Clock.currentTimeMillis
      for (const [contact, b] of boxes) {
        const expired = b.removeWhere((m) => (expiries.get(keyOf(contact, m.id)) ?? Infinity) <= now)
        if (expired.length === 0) continue
        const ids = expired.map((m) => m.id)
        yield* log.record(
          Effect.gen(function*() {
            const sql = yield* SqlClient.SqlClient
            for (const part of chunks(ids)) {
              yield* unqueue(sql, contact, part)
              yield* sql`UPDATE messages SET status = 'expired'
                WHERE contact = ${contact} AND outgoing = 1 AND ${sql.in("id", part)}`
            }
          }),
          () => [{ _tag: "MessageExpired", contact, ids, at: now }]
        )
        for (const id of ids) forgetMessage(contact, id)
      }
    })
    yield* Effect.forkScoped(Effect.repeat(Effect.ignore(expire), Schedule.spaced("1 second")))

    return { outbox, inbox, history }
  })

/**
 * Outbox, Inbox and History over the Store.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (
  options: { readonly capacity: number }
): Layer.Layer<Outbox | Inbox | History, SqlError, Store | EventLog> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ history, inbox, outbox }) =>
      Context.make(Outbox, outbox).pipe(Context.add(Inbox, inbox), Context.add(History, history)))
  )
