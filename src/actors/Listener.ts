/**
 * Accepts TCP on the identity's port, tells v1 from v2, runs the responder handshake under a
 * timeout and hands the authenticated channel to the contact's actor. Unknown keys, v1 from a
 * contact not marked legacy, and anything malformed are closed, logged and counted; nothing is
 * kept for them. At most `maxPendingHandshakes` handshakes run at once; more are closed at once.
 *
 * @since 2.0.0
 */
import { Clock, Context, Duration, Effect, Exit, Layer, Metric, Option, Ref } from "effect"
import { ProtocolError, TransportError } from "../domain/Errors.js"
import type { PublicKey } from "../domain/Keys.js"
import type { ByteStream } from "../protocol/ByteStream.js"
import { ByteQueue } from "../protocol/internal/ByteQueue.js"
import * as LegacyChannel from "../protocol/LegacyChannel.js"
import * as Preamble from "../protocol/Preamble.js"
import * as SecureChannel from "../protocol/SecureChannel.js"
import { ContactBook } from "../services/ContactBook.js"
import { LocalIdentity } from "../services/LocalIdentity.js"
import { RuntimeConfig } from "../services/RuntimeConfig.js"
import type { ListenAddress } from "../services/Transport.js"
import { Transport } from "../services/Transport.js"
import { framingOf, helloOf } from "./internal/greeting.js"
import { PeerSupervisor } from "./PeerSupervisor.js"
import { Timers } from "./Timers.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface ListenerShape {
  readonly address: ListenAddress
  /** Connections closed before they reached an actor (unknown key, bad bytes, timeout, overload). */
  readonly rejected: Effect.Effect<number>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Listener extends Context.Tag("jarvis/Listener")<Listener, ListenerShape>() {}

const rejectedCounter = Metric.counter("jarvis_inbound_rejected_total", {
  description: "inbound connections closed before authentication"
})

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const settings = yield* RuntimeConfig
  const transport = yield* Transport
  const contacts = yield* ContactBook
  const supervisor = yield* PeerSupervisor
  const identity = yield* LocalIdentity
  const timers = yield* Timers
  const rejected = yield* Ref.make(0)
  const handshakeMs = Duration.toMillis(settings.handshakeTimeout)
  let handshaking = 0

  const hello = helloOf(identity.profile)
  const framing = framingOf(settings)

  const handshake = (stream: ByteStream) =>
    Effect.gen(function*() {
      const queue = new ByteQueue()
      const version = yield* Preamble.sniff(stream, queue)
      const lookup = (key: PublicKey) =>
        Effect.flatMap(contacts.byKey(key), (contact) => {
          if (Option.isNone(contact)) {
            return new ProtocolError({ reason: "UnknownPeer", detail: "key is not a contact" })
          }
          if (version === "v1" && !contact.value.legacy) {
            return new ProtocolError({
              reason: "UnknownPeer",
              detail: `v1 from ${contact.value.username}, not marked legacy`
            })
          }
          return Effect.succeed(contact.value)
        })
      const authorize = (key: PublicKey) => Effect.asVoid(lookup(key))
      const channel = version === "v2"
        ? yield* SecureChannel.respond(stream, queue, { staticKeyPair: identity.keyPair, hello, framing, authorize })
        : yield* LegacyChannel.respond(stream, queue, {
          staticKeyPair: identity.keyPair,
          uid: identity.profile.uid,
          username: identity.profile.username,
          maxPayloadBytes: settings.maxMessageBytes,
          authorize
        })
      const contact = yield* lookup(channel.remoteStatic).pipe(Effect.tapError(() => channel.close))
      yield* supervisor.offerInbound(contact.uid, channel)
    })

  /**
   * The deadline is an entry in the shared timers that closes the stream (failing the read the
   * handshake waits on), not a timeout fiber per connection.
   */
  const accept = (stream: ByteStream) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      let timedOut = false
      const cancelDeadline = timers.schedule(
        now + handshakeMs,
        Effect.suspend(() => {
          timedOut = true
          return stream.close
        })
      )
      return handshake(stream).pipe(
        Effect.mapError((error) =>
          timedOut ? new TransportError({ reason: "Timeout", detail: "inbound handshake" }) : error
        ),
        Effect.ensuring(Effect.sync(cancelDeadline)),
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : stream.close)),
        Effect.catchAll((error) =>
          Effect.all([
            Ref.update(rejected, (n) => n + 1),
            Metric.increment(rejectedCounter),
            Effect.logInfo("inbound connection rejected", { from: stream.remoteAddress, error: error.message })
          ], { discard: true })
        )
      )
    })

  const handler = (stream: ByteStream) =>
    Effect.suspend(() => {
      if (handshaking >= settings.maxPendingHandshakes) {
        return Effect.zipRight(stream.close, Ref.update(rejected, (n) => n + 1))
      }
      handshaking++
      return Effect.ensuring(
        accept(stream),
        Effect.sync(() => {
          handshaking--
        })
      )
    })

  const address = yield* transport.listen(
    { host: settings.bindAddress, port: settings.listenPort ?? identity.profile.listenPort },
    handler
  )
  yield* Effect.logInfo(`listening on ${address.host}:${address.port}`)
  return Listener.of({ address, rejected: Ref.get(rejected) })
}).pipe(Effect.annotateLogs({ module: "Jarvis/Listener" }))

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = Layer.scoped(Listener, make)
