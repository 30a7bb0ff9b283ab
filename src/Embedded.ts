/**
 * Embedding a whole Jarvis node in a process: one Layer from an unlocked identity and a transport,
 * either in memory (contacts given up front, nothing kept) or over the durable store in a data
 * directory (what the daemon runs). Tests, benchmarks and bots use this; the daemon builds on it.
 *
 * @since 2.0.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { Listener } from "./actors/Listener.js"
import type { PeerSupervisor } from "./actors/PeerSupervisor.js"
import * as RuntimeModule from "./actors/Runtime.js"
import * as Lock from "./daemon/Lock.js"
import * as Paths from "./daemon/Paths.js"
import type { Contact } from "./domain/Contact.js"
import type { IdentityError, TransportError } from "./domain/Errors.js"
import type { ContactBook } from "./services/ContactBook.js"
import * as ContactBookModule from "./services/ContactBook.js"
import * as ContactStore from "./services/ContactStore.js"
import type { EventLog } from "./services/EventLog.js"
import * as EventLogModule from "./services/EventLog.js"
import type { Events } from "./services/Events.js"
import * as EventsModule from "./services/Events.js"
import * as Identity from "./services/Identity.js"
import type { UnlockedIdentity } from "./services/Identity.js"
import * as InboxModule from "./services/Inbox.js"
import { LocalIdentity } from "./services/LocalIdentity.js"
import type { History } from "./services/MessageStore.js"
import * as MessageStore from "./services/MessageStore.js"
import * as OutboxModule from "./services/Outbox.js"
import type { RuntimeSettings } from "./services/RuntimeConfig.js"
import { defaults, RuntimeConfig } from "./services/RuntimeConfig.js"
import * as StoreModule from "./services/Store.js"
import * as TransportModule from "./services/Transport.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface EmbeddedOptions {
  readonly identity: UnlockedIdentity
  /** Defaults to TCP. Use `MemoryTransport.layer` for simulations. */
  readonly transport?: Layer.Layer<TransportModule.Transport> | undefined
  readonly settings?: Partial<RuntimeSettings> | undefined
}

/**
 * Services a running embedded node provides.
 *
 * @since 2.0.0
 * @category models
 */
export type EmbeddedServices = RuntimeModule.Runtime | PeerSupervisor | Listener | ContactBook | Events | LocalIdentity

const runtimeOver = <E, R>(options: EmbeddedOptions, services: Layer.Layer<R, E>) =>
  RuntimeModule.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        RuntimeConfig.layerWith(options.settings ?? {}),
        options.transport ?? TransportModule.layerTcp,
        LocalIdentity.layer(options.identity),
        services
      )
    )
  )

/**
 * Everything in memory: contacts from `contacts`, nothing survives the scope.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (
  options: EmbeddedOptions & {
    readonly contacts?: ReadonlyArray<Contact> | undefined
    /** Replaces the in-memory inbox (which publishes events and deduplicates recent ids). */
    readonly inbox?: Layer.Layer<InboxModule.Inbox, never, Events> | undefined
    /** Replaces the in-memory outbox (e.g. to simulate a store that is slow to settle acks). */
    readonly outbox?: Layer.Layer<OutboxModule.Outbox, never, Events> | undefined
  }
): Layer.Layer<EmbeddedServices, TransportError> =>
  runtimeOver(
    options,
    Layer.mergeAll(
      ContactBookModule.layerMemory(options.contacts ?? []),
      Layer.provideMerge(
        Layer.merge(
          options.outbox ?? OutboxModule.layerMemory(options.settings?.mailboxCapacity ?? defaults.mailboxCapacity),
          options.inbox ?? InboxModule.layerMemory
        ),
        EventsModule.layer
      )
    )
  )

/**
 * Over the durable store in `dataDir`: contacts, history, outbox and the event log are kept,
 * sealed with a key derived from the identity.
 *
 * @since 2.0.0
 * @category layers
 */
export const layerDurable = (
  options: EmbeddedOptions & {
    readonly dataDir: string
    /** Overrides the database file (`":memory:"` for a throwaway store). */
    readonly filename?: string | undefined
    readonly synchronous?: "FULL" | "NORMAL" | undefined
    readonly retention?: EventLogModule.RetentionOptions | undefined
  }
): Layer.Layer<EmbeddedServices | History | EventLog | StoreModule.Store, TransportError | SqlError> =>
  runtimeOver(
    options,
    MessageStore.layer({ capacity: options.settings?.mailboxCapacity ?? defaults.mailboxCapacity }).pipe(
      Layer.provideMerge(EventLogModule.layer(options.retention)),
      Layer.provideMerge(ContactStore.layer),
      Layer.provideMerge(StoreModule.layer({
        dataDir: options.dataDir,
        identityPrivateKey: options.identity.keyPair.privateKey,
        filename: options.filename,
        synchronous: options.synchronous
      }))
    )
  )

/**
 * A whole daemon's node inside this process: unlocks the identity in `dataDir` (as created by
 * `jarvis init`) and runs over its durable store. It takes the data directory's lock, so it
 * fails with `AlreadyRunning` while a `jarvis` daemon uses the same directory.
 *
 * @since 2.0.0
 * @category layers
 */
export const layerDataDir = (
  options: Omit<EmbeddedOptions, "identity"> & {
    /** Default: `$JARVIS_HOME`, else the platform's data directory. */
    readonly dataDir?: string | undefined
    readonly password: string
    readonly retention?: EventLogModule.RetentionOptions | undefined
  }
): Layer.Layer<
  EmbeddedServices | History | EventLog | StoreModule.Store,
  TransportError | SqlError | IdentityError | Lock.AlreadyRunning
> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const dataDir = options.dataDir ?? Paths.defaultDataDir()
    yield* Lock.acquire(Paths.make(dataDir).lock)
    const store = yield* Identity.make(dataDir).pipe(Effect.provide(NodeContext.layer))
    const identity = yield* store.unlock(options.password)
    return layerDurable({ ...options, dataDir, identity })
  }))
