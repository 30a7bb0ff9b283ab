/**
 * The durable event log: every event the runtime publishes is sealed and appended with a
 * monotonic cursor before subscribers see it. `stream(from)` replays what a subscriber missed,
 * then streams live; a subscriber that falls behind the live window is refilled from the log, so
 * it sees every retained event exactly once, in order. Old events are pruned by age and count.
 *
 * @since 2.0.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Chunk, Clock, Context, Duration, Effect, Layer, Option, Schedule, Schema, Stream } from "effect"
import type { EventEnvelope } from "../domain/Events.js"
import { RuntimeEvent } from "../domain/Events.js"
import { Events } from "./Events.js"
import * as Hub from "./internal/hub.js"
import { Store } from "./Store.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface EventLogShape {
  /** Events after `from`, then live ones; without `from`, live ones only. */
  readonly stream: (from?: number | undefined) => Stream.Stream<EventEnvelope, SqlError>
  /** The cursor of the newest event (0 when empty). */
  readonly latest: Effect.Effect<number, SqlError>
  /**
   * Runs `effect` in a store transaction and appends the events it implies in the same
   * transaction, so a crash keeps both or neither; subscribers see the events after the commit.
   */
  readonly record: <A, E>(
    effect: Effect.Effect<A, E, SqlClient.SqlClient>,
    events: (a: A) => ReadonlyArray<RuntimeEvent>
  ) => Effect.Effect<A, E | SqlError>
}

/**
 * @since 2.0.0
 * @category services
 */
export class EventLog extends Context.Tag("jarvis/EventLog")<EventLog, EventLogShape>() {}

/**
 * @since 2.0.0
 * @category models
 */
export interface RetentionOptions {
  readonly maxAge: Duration.Duration
  readonly maxEvents: number
}

/**
 * @since 2.0.0
 * @category constants
 */
export const defaultRetention: RetentionOptions = { maxAge: Duration.days(30), maxEvents: 1_000_000 }

const ad = (cursor: number) => `event:${cursor}`
const PAGE = 1000
const LIVE_WINDOW = 16_384
const decodeEvent = Schema.decodeUnknownOption(RuntimeEvent)
const encodeEvent = Schema.encodeSync(RuntimeEvent)

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (retention: RetentionOptions = defaultRetention) =>
  Effect.gen(function*() {
    const { sealed, sql, writeThen } = yield* Store
    const live = yield* Hub.make<EventEnvelope>(LIVE_WINDOW)
    const raw = yield* Hub.make<RuntimeEvent>(LIVE_WINDOW)

    const latest = Effect.map(
      sql<{ readonly cursor: number | null }>`SELECT max(cursor) AS cursor FROM events`,
      (rows) => rows[0]?.cursor ?? 0
    )

    // Cursors are assigned here rather than by SQLite, so each sealed event can be bound to its own
    // cursor in one insert. Appends run one at a time inside the store's writer, in commit order.
    let next = (yield* Effect.orDie(latest)) + 1

    /** Inserts the events inside the caller's transaction, assigning their cursors. */
    const stage = (events: ReadonlyArray<RuntimeEvent>, at: number) =>
      Effect.gen(function*() {
        if (events.length === 0) return []
        const sql = yield* SqlClient.SqlClient
        const envelopes = events.map((event, i): EventEnvelope => ({ cursor: next + i, at, event }))
        const rows = envelopes.map((e) => ({
          cursor: e.cursor,
          at,
          event: sealed.sealJson(ad(e.cursor), encodeEvent(e.event))
        }))
        for (let i = 0; i < rows.length; i += 300) {
          yield* sql`INSERT INTO events ${sql.insert(rows.slice(i, i + 300))}`
        }
        next += envelopes.length
        return envelopes
      }).pipe(
        Effect.tapError(() => Effect.flatMap(Effect.orDie(latest), (n) => Effect.sync(() => (next = n + 1))))
      )

    const announce = (envelopes: ReadonlyArray<EventEnvelope>) =>
      envelopes.length === 0
        ? Effect.void
        : Effect.sync(() => {
          live.publishAll(envelopes)
          if (raw.subscriberCount > 0) raw.publishAll(envelopes.map((e) => e.event))
        })

    const record = <A, E>(
      effect: Effect.Effect<A, E, SqlClient.SqlClient>,
      events: (a: A) => ReadonlyArray<RuntimeEvent>
    ): Effect.Effect<A, E | SqlError> =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        writeThen(
          Effect.flatMap(effect, (a) => Effect.map(stage(events(a), at), (envelopes) => [a, envelopes] as const)),
          ([, envelopes]) => announce(envelopes)
        )).pipe(Effect.map(([a]) => a))

    const append = (events: ReadonlyArray<RuntimeEvent>) => record(Effect.void, () => events).pipe(Effect.orDie)

    const readAfter = (after: number, upTo = Number.MAX_SAFE_INTEGER) =>
      Effect.map(
        sql<{ readonly cursor: number; readonly at: number; readonly event: Uint8Array }>`
          SELECT cursor, at, event FROM events WHERE cursor > ${after} AND cursor < ${upTo} ORDER BY cursor LIMIT ${PAGE}`,
        (rows) =>
          rows.flatMap((row): Array<EventEnvelope> => {
            const event = decodeEvent(sealed.openJson(ad(row.cursor), row.event))
            return event._tag === "Some" ? [{ cursor: row.cursor, at: row.at, event: event.value }] : []
          })
      )

    /** Every retained event in (after, before), page by page. */
    const replay = (after: number, before = Number.MAX_SAFE_INTEGER): Stream.Stream<EventEnvelope, SqlError> =>
      Stream.paginateEffect(after, (cursor: number) =>
        Effect.map(readAfter(cursor, before), (page) =>
          [
            page,
            page.length === PAGE ? Option.some(page[page.length - 1]!.cursor) : Option.none<number>()
          ] as const)).pipe(Stream.flattenIterables)

    const stream = (from?: number) =>
      Stream.unwrapScoped(
        Effect.gen(function*() {
          const subscription = yield* live.subscribe
          let last = from ?? (yield* latest)
          // `last` advances as each chunk is ordered (not when downstream sees it), so an envelope
          // already covered by a refill is never emitted again.
          const ordered = (chunk: Chunk.Chunk<EventEnvelope>): Stream.Stream<EventEnvelope, SqlError> => {
            const parts: Array<Stream.Stream<EventEnvelope, SqlError>> = []
            let run: Array<EventEnvelope> = []
            for (const envelope of chunk) {
              if (envelope.cursor <= last) continue
              if (envelope.cursor > last + 1) {
                // The live window slid past events this subscriber had not read: refill from the log.
                if (run.length > 0) parts.push(Stream.fromIterable(run))
                run = []
                parts.push(replay(last, envelope.cursor))
              }
              run.push(envelope)
              last = envelope.cursor
            }
            if (run.length > 0) parts.push(Stream.fromIterable(run))
            return parts.length === 1 ? parts[0]! : Stream.concatAll(Chunk.fromIterable(parts))
          }
          const history = from === undefined
            ? Stream.empty
            : Stream.tap(replay(from), (e) => Effect.sync(() => (last = Math.max(last, e.cursor))))
          const tail = Stream.fromQueue(subscription).pipe(Stream.chunks, Stream.flatMap(ordered))
          return Stream.concat(history, tail)
        })
      )

    const prune = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const newest = yield* latest
      yield* sql`DELETE FROM events WHERE at < ${now - Duration.toMillis(retention.maxAge)} OR cursor <= ${
        newest - retention.maxEvents
      }`
    })
    yield* Effect.forkScoped(Effect.repeat(Effect.ignore(prune), Schedule.spaced("1 hour")))

    const events = Events.of({
      publish: (event) => append([event]),
      publishAll: (events) => (events.length === 0 ? Effect.void : append(events)),
      subscribe: raw.subscribe,
      listen: raw.listen,
      stream: raw.stream
    })
    return { events, log: EventLog.of({ stream, latest, record }) }
  })

/**
 * Events (publishing into the log) and EventLog (reading it back).
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (retention?: RetentionOptions): Layer.Layer<Events | EventLog, never, Store> =>
  Layer.scopedContext(
    Effect.map(make(retention), ({ events, log }) => Context.make(Events, events).pipe(Context.add(EventLog, log)))
  )
