/**
 * The daemon's durable store: SQLite (WAL) in the data directory, opened only once the identity
 * is unlocked. Personal data (message bodies, contact records, events) is sealed with a key
 * derived from the identity (see internal/sealedBox.ts). Writes go through one group-commit
 * writer: every write waits for its transaction, and writes that arrive together share it.
 *
 * @since 2.0.0
 */
import { SqlClient } from "@effect/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
import type { Scope } from "effect"
import * as Path from "node:path"
import type { SealedBox } from "./internal/sealedBox.js"
import * as Sealed from "./internal/sealedBox.js"

/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
 * how many ran. Never edit a released migration; append.
 *
 * @since 2.0.0
 * @category migrations
 */
export const migrations: ReadonlyArray<ReadonlyArray<string>> = [
  [
    `CREATE TABLE contacts (
      uid TEXT PRIMARY KEY,
      record BLOB NOT NULL,
      added_at INTEGER NOT NULL
    )`,
    `CREATE TABLE messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      contact TEXT NOT NULL,
      id TEXT NOT NULL,
      outgoing INTEGER NOT NULL,
      sent_at INTEGER NOT NULL,
      received_at INTEGER,
      delivered_at INTEGER,
      read_at INTEGER,
      status TEXT NOT NULL,
      group_id TEXT,
      body BLOB NOT NULL,
      UNIQUE (contact, outgoing, id)
    )`,
    `CREATE INDEX messages_by_contact ON messages (contact, seq)`,
    `CREATE INDEX messages_unread ON messages (contact) WHERE outgoing = 0 AND read_at IS NULL`,
    `CREATE TABLE outbox (
      message_seq INTEGER PRIMARY KEY REFERENCES messages (seq) ON DELETE CASCADE,
      contact TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      expires_at INTEGER
    )`,
    `CREATE INDEX outbox_by_contact ON outbox (contact, message_seq)`,
    `CREATE TABLE events (
      cursor INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      event BLOB NOT NULL
    )`,
    `CREATE TABLE groups (
      group_id TEXT PRIMARY KEY,
      record BLOB NOT NULL
    )`,
    `CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`
  ],
  // The outbox becomes columns of the message (one insert per send instead of two; an ack no
  // longer deletes rows elsewhere): pending = still to be acknowledged.
  [
    `ALTER TABLE messages ADD COLUMN pending INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE messages ADD COLUMN expires_at INTEGER`,
    `UPDATE messages SET pending = 1,
      attempts = (SELECT o.attempts FROM outbox o WHERE o.message_seq = messages.seq),
      expires_at = (SELECT o.expires_at FROM outbox o WHERE o.message_seq = messages.seq)
      WHERE seq IN (SELECT message_seq FROM outbox)`,
    `DROP TABLE outbox`,
    `CREATE INDEX messages_pending ON messages (seq) WHERE pending = 1`
  ]
]

/**
 * @since 2.0.0
 * @category models
 */
export interface StoreShape {
  readonly sql: SqlClient.SqlClient
  readonly sealed: SealedBox
  /**
   * Runs `effect` inside the next group-committed transaction and waits for the commit. A failure
   * of `effect` fails only this caller; the transaction commits the others.
   */
  readonly write: <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.Effect<A, E | SqlError>
  /**
   * Like `write`; once the transaction commits, `afterCommit` runs with the result, in commit
   * order across all writers (for announcing what was written in the order it was written).
   */
  readonly writeThen: <A, E>(
    effect: Effect.Effect<A, E, SqlClient.SqlClient>,
    afterCommit: (a: A) => Effect.Effect<void>
  ) => Effect.Effect<A, E | SqlError>
  /**
   * Runs one statement on the writer's transaction, straight on its connection: for the hot
   * statements of a write body (no statement compilation, span or scope per call). Only inside a
   * `write`/`writeThen` body.
   */
  readonly exec: <Row = unknown>(
    statement: string,
    params: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, SqlError>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Store extends Context.Tag("jarvis/Store")<Store, StoreShape>() {}

/**
 * @since 2.0.0
 * @category constants
 */
export const FILE_NAME = "jarvis.db"

interface PendingWrite {
  readonly effect: Effect.Effect<unknown, unknown, SqlClient.SqlClient>
  readonly afterCommit: ((a: unknown) => Effect.Effect<void>) | undefined
  readonly resume: (outcome: Effect.Effect<unknown, unknown>) => void
}

/** Why a batch's transaction was rolled back: one of its bodies failed. */
const bodyFailed = Symbol("jarvis/Store/bodyFailed")

/** The outcome of a write the store closed under (the daemon locking or stopping). */
const closed = Exit.die("the store was closed before this write was committed")

const MAX_BATCH = 4096

const migrate = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    const [row] = yield* sql<{ readonly user_version: number }>`PRAGMA user_version`
    const applied = row?.user_version ?? 0
    for (let i = applied; i < migrations.length; i++) {
      yield* sql.withTransaction(
        Effect.gen(function*() {
          for (const statement of migrations[i]!) yield* sql.unsafe(statement)
          yield* sql.unsafe(`PRAGMA user_version = ${i + 1}`)
        })
      )
    }
  })

/**
 * Opens (and migrates) the store of an unlocked identity.
 *
 * @since 2.0.0
 * @category constructors
 */
export const make = (options: {
  readonly dataDir: string
  readonly identityPrivateKey: Uint8Array
  /** `":memory:"` keeps everything in memory (tests, the in-memory benchmark baseline). */
  readonly filename?: string | undefined
  /** SQLite `synchronous`: FULL survives power loss, NORMAL survives a killed process. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}): Effect.Effect<StoreShape, SqlError, Scope.Scope> =>
  Effect.gen(function*() {
    const filename = options.filename ?? Path.join(options.dataDir, FILE_NAME)
    const context = yield* Layer.build(SqliteClient.layer({ filename })).pipe(
      Effect.catchTag("ConfigError", (e) => Effect.die(e))
    )
    const sql: SqlClient.SqlClient = Context.get(context, SqliteClient.SqliteClient)
    yield* sql.unsafe(`PRAGMA synchronous = ${options.synchronous ?? "FULL"}`)
    yield* sql.unsafe("PRAGMA foreign_keys = ON")
    yield* sql.unsafe("PRAGMA busy_timeout = 5000")
    yield* migrate(sql)

    const exec = <Row = unknown>(statement: string, params: ReadonlyArray<unknown>) =>
      Effect.flatMap(
        Effect.serviceOption(SqlClient.TransactionConnection),
        (transaction): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
          Option.isSome(transaction)
            ? transaction.value[0].execute(statement, params, undefined) as Effect.Effect<ReadonlyArray<Row>, SqlError>
            : Effect.dieMessage("Store.exec outside a write")
      )

    // Writes waiting for the writer, and a wake-up for it when it is idle. Plain state rather
    // than a Queue: the writer takes a batch and records it in one synchronous step, so a store
    // closing at any instant knows every write it has to answer.
    let waiting: Array<PendingWrite> = []
    let current: ReadonlyArray<PendingWrite> = []
    let wake: (() => void) | undefined
    let open = true
    const settle = (w: PendingWrite, exit: Exit.Exit<unknown, unknown>) =>
      Exit.isSuccess(exit) && w.afterCommit !== undefined
        ? Effect.map(w.afterCommit(exit.value), () => w.resume(exit))
        : Effect.sync(() => w.resume(exit))
    // The whole batch in one transaction. Bodies almost never fail (their SQL is written not to),
    // so none gets a savepoint of its own. If one does fail, the transaction is rolled back, that
    // write gets its failure, and the rest of the batch is committed again without it: a failing
    // body fails only its caller and runs once. (The others ran in the rolled-back transaction
    // too, so in-memory counters they advanced, like the event log's next cursor, skip a few
    // values: cursors stay strictly increasing, not contiguous.)
    const commit = (batch: ReadonlyArray<PendingWrite>): Effect.Effect<void, never, SqlClient.SqlClient> =>
      Effect.gen(function*() {
        if (batch.length === 0) return
        const exits: Array<Exit.Exit<unknown, unknown>> = []
        const together = yield* Effect.exit(sql.withTransaction(
          Effect.forEach(
            batch,
            (w) =>
              Effect.flatMap(Effect.exit(w.effect), (exit) => {
                exits.push(exit)
                return Exit.isSuccess(exit) ? Effect.void : Effect.fail(bodyFailed)
              }),
            { discard: true }
          )
        ))
        if (Exit.isSuccess(together)) {
          return yield* Effect.forEach(batch, (w, i) => settle(w, exits[i]!), { discard: true })
        }
        if (Option.getOrUndefined(Cause.failureOption(together.cause)) !== bodyFailed) {
          return yield* Effect.sync(() => batch.forEach((w) => w.resume(Exit.failCause(together.cause))))
        }
        const failed = exits.length - 1
        batch[failed]!.resume(exits[failed]!)
        yield* commit([...batch.slice(0, failed), ...batch.slice(failed + 1)])
      })
    // Everything waiting when the writer gets to run (so writes offered together share a batch),
    // taken and recorded in one step.
    const takeBatch = Effect.sync(() => {
      const batch = waiting.length <= MAX_BATCH ? waiting : waiting.slice(0, MAX_BATCH)
      waiting = waiting.length <= MAX_BATCH ? [] : waiting.slice(MAX_BATCH)
      current = batch
      return batch
    })
    const nextBatch = Effect.flatMap(
      Effect.async<void>((resume) => {
        if (waiting.length > 0) return resume(Effect.void)
        wake = () => {
          wake = undefined
          resume(Effect.void)
        }
        return Effect.sync(() => {
          wake = undefined
        })
      }),
      () => takeBatch
    )
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(nextBatch, commit)).pipe(
        // Closing (lock, stop): every write not committed yet fails rather than waiting forever,
        // and later writes fail at once.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            open = false
            const unanswered = [...current, ...waiting]
            waiting = []
            for (const w of unanswered) w.resume(closed)
          })
        ),
        // The writer's context holds only the client: @effect/sql scopes every statement, and each
        // scope copies the context it runs in (the daemon's has ~40 services). No spans either.
        Effect.mapInputContext((_: Context.Context<never>) => Context.make(SqlClient.SqlClient, sql)),
        Effect.withTracerEnabled(false)
      )
    )

    // The caller waits on a callback rather than a Deferred (cheaper); it is answered once, by the
    // writer or by the store closing.
    const writeThen = <A, E>(
      effect: Effect.Effect<A, E, SqlClient.SqlClient>,
      afterCommit?: (a: A) => Effect.Effect<void>
    ): Effect.Effect<A, E | SqlError> =>
      Effect.async<A, E | SqlError>((resume) => {
        let answered = false
        const once = (outcome: Effect.Effect<unknown, unknown>) => {
          if (answered) return
          answered = true
          resume(outcome as Effect.Effect<A, E | SqlError>)
        }
        if (!open) return once(closed)
        waiting.push({ effect, afterCommit: afterCommit as PendingWrite["afterCommit"], resume: once })
        wake?.()
      })

    return {
      sql,
      sealed: Sealed.make(Sealed.deriveStoreKey(options.identityPrivateKey)),
      write: (effect) => writeThen(effect),
      writeThen,
      exec
    }
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = (options: Parameters<typeof make>[0]): Layer.Layer<Store, SqlError> =>
  Layer.scoped(Store, make(options))
