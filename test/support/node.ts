import { Context, DateTime, Effect, Layer, Queue } from "effect"
import { Listener } from "../../src/actors/Listener.js"
import { PeerSupervisor } from "../../src/actors/PeerSupervisor.js"
import * as Runtime from "../../src/actors/Runtime.js"
import { Contact } from "../../src/domain/Contact.js"
import type { Uid } from "../../src/domain/Ids.js"
import type { PublicKey } from "../../src/domain/Keys.js"
import { fingerprintOf } from "../../src/domain/Keys.js"
import * as Embedded from "../../src/Embedded.js"
import type { Channel } from "../../src/protocol/Channel.js"
import { generateKeyPair } from "../../src/protocol/crypto/X25519.js"
import { ByteQueue } from "../../src/protocol/internal/ByteQueue.js"
import * as Preamble from "../../src/protocol/Preamble.js"
import * as SecureChannel from "../../src/protocol/SecureChannel.js"
import { ContactBook } from "../../src/services/ContactBook.js"
import { Events } from "../../src/services/Events.js"
import type { UnlockedIdentity } from "../../src/services/Identity.js"
import { Profile } from "../../src/services/Identity.js"
import type { Inbox } from "../../src/services/Inbox.js"
import type { Outbox } from "../../src/services/Outbox.js"
import type { RuntimeSettings } from "../../src/services/RuntimeConfig.js"
import type { TransportShape } from "../../src/services/Transport.js"
import { Transport } from "../../src/services/Transport.js"

let counter = 0

export const makeIdentity = (username: string, listenPort: number): UnlockedIdentity => {
  const keyPair = generateKeyPair()
  counter++
  return {
    keyPair,
    profile: new Profile({
      uid: counter.toString(16).padStart(32, "0") as Uid,
      username,
      publicKey: keyPair.publicKey as PublicKey,
      fingerprint: fingerprintOf(keyPair.publicKey),
      listenPort,
      createdAt: "2026-01-01T00:00:00.000000+00:00"
    })
  }
}

export const contactOf = (
  identity: UnlockedIdentity,
  host: string,
  options: { readonly legacy?: boolean; readonly port?: number } = {}
) =>
  new Contact({
    uid: identity.profile.uid,
    username: identity.profile.username,
    publicKey: identity.profile.publicKey,
    fingerprint: identity.profile.fingerprint,
    host,
    port: options.port ?? identity.profile.listenPort,
    verified: false,
    legacy: options.legacy ?? false,
    signed: true,
    notes: "",
    addedAt: 0
  })

export interface NodeOptions {
  readonly identity: UnlockedIdentity
  readonly contacts: ReadonlyArray<Contact>
  readonly transport: TransportShape
  readonly settings?: Partial<RuntimeSettings>
  /** Replaces the in-memory inbox (e.g. to inject a failure). */
  readonly inbox?: Layer.Layer<Inbox, never, Events> | undefined
  /** Replaces the in-memory outbox. */
  readonly outbox?: Layer.Layer<Outbox, never, Events> | undefined
}

/** Builds a whole node in the current scope and returns its services. */
export const startNode = (options: NodeOptions) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Embedded.layer({
      identity: options.identity,
      contacts: options.contacts,
      transport: Layer.succeed(Transport, options.transport),
      settings: { bindAddress: "127.0.0.1", ...options.settings },
      inbox: options.inbox,
      outbox: options.outbox
    }))
    return {
      identity: options.identity,
      runtime: Context.get(context, Runtime.Runtime),
      supervisor: Context.get(context, PeerSupervisor),
      listener: Context.get(context, Listener),
      contacts: Context.get(context, ContactBook),
      events: Context.get(context, Events)
    }
  })

export const now = Effect.map(DateTime.now, DateTime.toEpochMillis)

/** A peer driven by the test: it accepts v2 links at `host:port` and hands each channel over. */
export const scriptedPeer = (transport: TransportShape, identity: UnlockedIdentity, host: string) =>
  Effect.gen(function*() {
    const channels = yield* Queue.unbounded<Channel>()
    yield* transport.listen({ host, port: identity.profile.listenPort }, (stream) =>
      Effect.gen(function*() {
        const queue = new ByteQueue()
        yield* Preamble.sniff(stream, queue)
        const channel = yield* SecureChannel.respond(stream, queue, {
          staticKeyPair: identity.keyPair,
          hello: {
            _tag: "Hello",
            uid: identity.profile.uid,
            username: identity.profile.username,
            listenPort: identity.profile.listenPort,
            agent: "scripted",
            features: []
          },
          authorize: () => Effect.void
        })
        yield* Queue.offer(channels, channel)
      }).pipe(Effect.ignore))
    return channels
  })
