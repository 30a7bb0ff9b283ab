/**
 * Embedding a whole Jarvis node in a process: one Layer from an unlocked identity, contacts and a
 * transport, with everything else in memory. The daemon builds the same runtime over durable
 * storage; tests, benchmarks and bots use this.
 *
 * @since 2.0.0
 */
import { Layer } from "effect"
import type { Listener } from "./actors/Listener.js"
import type { PeerSupervisor } from "./actors/PeerSupervisor.js"
import * as RuntimeModule from "./actors/Runtime.js"
import type { Contact } from "./domain/Contact.js"
import type { TransportError } from "./domain/Errors.js"
import type { ContactBook } from "./services/ContactBook.js"
import * as ContactBookModule from "./services/ContactBook.js"
import type { Events } from "./services/Events.js"
import * as EventsModule from "./services/Events.js"
import type { UnlockedIdentity } from "./services/Identity.js"
import * as InboxModule from "./services/Inbox.js"
import { LocalIdentity } from "./services/LocalIdentity.js"
import * as OutboxModule from "./services/Outbox.js"
import type { RuntimeSettings } from "./services/RuntimeConfig.js"
import { RuntimeConfig } from "./services/RuntimeConfig.js"
import * as TransportModule from "./services/Transport.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface EmbeddedOptions {
  readonly identity: UnlockedIdentity
  readonly contacts?: ReadonlyArray<Contact> | undefined
  /** Defaults to TCP. Use `MemoryTransport.layer` for simulations. */
  readonly transport?: Layer.Layer<TransportModule.Transport> | undefined
  readonly settings?: Partial<RuntimeSettings> | undefined
  /** Replaces the in-memory inbox (which publishes events and deduplicates recent ids). */
  readonly inbox?: Layer.Layer<InboxModule.Inbox, never, Events> | undefined
}

/**
 * Services a running embedded node provides.
 *
 * @since 2.0.0
 * @category models
 */
export type EmbeddedServices = RuntimeModule.Runtime | PeerSupervisor | Listener | ContactBook | Events | LocalIdentity

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = (options: EmbeddedOptions): Layer.Layer<EmbeddedServices, TransportError> => {
  const settings = options.settings ?? {}
  const events = EventsModule.layer
  const infra = Layer.mergeAll(
    RuntimeConfig.layerWith(settings),
    options.transport ?? TransportModule.layerTcp,
    ContactBookModule.layerMemory(options.contacts ?? []),
    OutboxModule.layerMemory(settings.mailboxCapacity ?? 10_000),
    LocalIdentity.layer(options.identity),
    Layer.provideMerge(options.inbox ?? InboxModule.layerMemory, events)
  )
  return RuntimeModule.layer.pipe(Layer.provideMerge(infra))
}
