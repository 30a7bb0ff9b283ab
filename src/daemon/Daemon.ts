/**
 * The daemon's state: locked (no keys in memory, not listening) or unlocked (a whole durable
 * runtime running in its own scope). Unlocking builds the runtime; locking closes its scope, which
 * says goodbye to every peer, flushes the store and forgets the keys. Stopping does the same and
 * ends the process.
 *
 * @since 2.0.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, Clock, Context, Deferred, Effect, Exit, Layer, Option, Ref, Scope } from "effect"
import { Listener } from "../actors/Listener.js"
import { Locked } from "../domain/Api.js"
import type { DaemonStatus, ProfileView } from "../domain/Api.js"
import type { IdentityError } from "../domain/Errors.js"
import { InvalidInput } from "../domain/Errors.js"
import * as Embedded from "../Embedded.js"
import * as ApiSchema from "../protocol/ApiSchema.js"
import type { EventLog, RetentionOptions } from "../services/EventLog.js"
import type { UnlockedIdentity } from "../services/Identity.js"
import { IdentityStore, profileView } from "../services/Identity.js"
import type { History } from "../services/MessageStore.js"
import type { RuntimeSettings } from "../services/RuntimeConfig.js"
import type { Store } from "../services/Store.js"
import type { Transport } from "../services/Transport.js"

/**
 * @since 2.0.0
 * @category constants
 */
export const VERSION = ApiSchema.VERSION

/**
 * The services of an unlocked daemon.
 *
 * @since 2.0.0
 * @category models
 */
export type UnlockedServices = Embedded.EmbeddedServices | History | EventLog | Store

/**
 * @since 2.0.0
 * @category models
 */
export interface Unlocked {
  readonly identity: UnlockedIdentity
  readonly context: Context.Context<UnlockedServices>
  readonly scope: Scope.CloseableScope
}

/**
 * @since 2.0.0
 * @category models
 */
export interface DaemonShape {
  readonly dataDir: string
  readonly status: Effect.Effect<DaemonStatus>
  readonly create: (input: {
    readonly username: string
    readonly password: string
    readonly listenPort?: number | undefined
  }) => Effect.Effect<ProfileView, IdentityError>
  readonly unlock: (password: string) => Effect.Effect<ProfileView, IdentityError | InvalidInput>
  readonly lock: Effect.Effect<void>
  /** The unlocked services, or `Locked`. */
  readonly unlocked: Effect.Effect<Unlocked, Locked>
  /** Asks the daemon to stop (graceful). */
  readonly stop: Effect.Effect<void>
  /** Completes when a stop was asked for. */
  readonly stopped: Effect.Effect<void>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Daemon extends Context.Tag("jarvis/Daemon")<Daemon, DaemonShape>() {}

/**
 * @since 2.0.0
 * @category models
 */
export interface DaemonOptions {
  readonly dataDir: string
  readonly settings: Partial<RuntimeSettings>
  readonly transport: Layer.Layer<Transport>
  readonly synchronous?: "FULL" | "NORMAL" | undefined
  /** Overrides the database file (`":memory:"`: nothing kept; for benchmarks). */
  readonly filename?: string | undefined
  /** How long the event log keeps events for replay. */
  readonly retention?: RetentionOptions | undefined
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (options: DaemonOptions) =>
  Effect.gen(function*() {
    const identities = yield* IdentityStore
    const startedAt = yield* Clock.currentTimeMillis
    const state = yield* Ref.make<Option.Option<Unlocked>>(Option.none())
    const transitions = yield* Effect.makeSemaphore(1)
    const stopRequested = yield* Deferred.make<void>()

    const close = (unlocked: Unlocked) => Scope.close(unlocked.scope, Exit.void)

    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.getAndSet(state, Option.none()), Option.match({ onNone: () => Effect.void, onSome: close }))
    )

    const start = (identity: UnlockedIdentity) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const built = yield* Layer.buildWithScope(
          Embedded.layerDurable({
            identity,
            dataDir: options.dataDir,
            transport: options.transport,
            settings: options.settings,
            synchronous: options.synchronous,
            filename: options.filename,
            retention: options.retention
          }),
          scope
        ).pipe(Effect.exit)
        if (Exit.isFailure(built)) {
          yield* Scope.close(scope, built)
          yield* Effect.logError("cannot start networking and storage", built.cause)
          const failure = Cause.failureOption(built.cause)
          return yield* new InvalidInput({
            detail: `cannot start networking and storage: ${
              Option.isSome(failure)
                ? (failure.value as TransportErrorLike | SqlError).message
                : "internal error (see the daemon log)"
            }`
          })
        }
        return { identity, context: built.value, scope } satisfies Unlocked
      })

    const unlock = (password: string) =>
      transitions.withPermits(1)(
        Effect.gen(function*() {
          const identity = yield* identities.unlock(password)
          const current = yield* Ref.get(state)
          if (Option.isSome(current)) return profileView(current.value.identity.profile)
          const unlocked = yield* start(identity)
          yield* Ref.set(state, Option.some(unlocked))
          yield* Effect.logInfo(`unlocked ${identity.profile.username} (${identity.profile.uid})`)
          return profileView(identity.profile)
        })
      )

    const lock = transitions.withPermits(1)(
      Effect.flatMap(
        Ref.getAndSet(state, Option.none()),
        Option.match({
          onNone: () => Effect.void,
          onSome: (unlocked) => Effect.zipRight(close(unlocked), Effect.logInfo("locked"))
        })
      )
    )

    const status = Effect.gen(function*() {
      const current = yield* Ref.get(state)
      // Unlocked implies it exists: status stays off the disk in the common case.
      const exists = Option.isSome(current) || (yield* identities.exists)
      const listener = Option.map(current, (u) => Context.get(u.context, Listener).address)
      return {
        version: VERSION,
        pid: process.pid,
        dataDir: options.dataDir,
        startedAt,
        state: Option.isSome(current) ? "unlocked" : exists ? "locked" : "no-identity",
        ...(Option.isSome(current) ? { profile: profileView(current.value.identity.profile) } : {}),
        ...(Option.isSome(listener) ? { listen: listener.value } : {})
      } satisfies DaemonStatus
    })

    return Daemon.of({
      dataDir: options.dataDir,
      status,
      create: (input) =>
        Effect.map(
          identities.create({
            username: input.username,
            password: input.password,
            listenPort: input.listenPort ?? 5000
          }),
          (identity) => profileView(identity.profile)
        ),
      unlock,
      lock,
      unlocked: Effect.flatMap(
        Ref.get(state),
        Option.match({
          onSome: Effect.succeed,
          onNone: () =>
            Effect.flatMap(identities.exists, (exists) => new Locked({ reason: exists ? "Locked" : "NoIdentity" }))
        })
      ),
      stop: Deferred.succeed(stopRequested, undefined).pipe(Effect.asVoid),
      stopped: Deferred.await(stopRequested)
    })
  }).pipe(Effect.annotateLogs({ module: "Jarvis/Daemon" }))

interface TransportErrorLike {
  readonly message: string
}
