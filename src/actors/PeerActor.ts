/**
 * One actor per contact. It owns the contact's single link and walks the states
 * idle → dialing → handshaking → connected → backoff, publishing each transition. It dials with
 * a reconnection Schedule, takes authenticated inbound links from the listener, keeps exactly
 * one link when both sides dial at once, and runs the link (see internal/link.ts).
 *
 * Its mailbox is an event queue processed serially by one fiber; dials and the link's service
 * work are child fibers in its FiberSet, and the link itself is an object its scope closes, so
 * they all end with the actor's scope.
 *
 * @since 2.0.0
 */
import { Cause, Clock, Duration, Effect, Exit, Fiber, FiberSet, Mailbox, Option } from "effect"
import type { Types } from "effect"
import type { Contact } from "../domain/Contact.js"
import { NotConnected, TransportError } from "../domain/Errors.js"
import type { LinkState } from "../domain/Events.js"
import { LinkHealth } from "../domain/Events.js"
import { compareBytes } from "../domain/Keys.js"
import type { WireMessage } from "../domain/Messages.js"
import type { Channel } from "../protocol/Channel.js"
import * as LegacyChannel from "../protocol/LegacyChannel.js"
import * as SecureChannel from "../protocol/SecureChannel.js"
import { Events } from "../services/Events.js"
import { Inbox } from "../services/Inbox.js"
import { LocalIdentity } from "../services/LocalIdentity.js"
import { Outbox } from "../services/Outbox.js"
import { RuntimeConfig } from "../services/RuntimeConfig.js"
import { Transport } from "../services/Transport.js"
import * as Backoff from "./internal/backoff.js"
import * as Greeting from "./internal/greeting.js"
import { Link as LiveLink } from "./internal/link.js"
import type { LinkEnd, LinkHooks } from "./internal/link.js"
import { Timers } from "./Timers.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface PeerActor {
  readonly contact: Contact
  readonly health: Effect.Effect<LinkHealth>
  /** Hands an authenticated inbound channel to the actor, which then owns it. */
  readonly offerInbound: (channel: Channel) => Effect.Effect<void>
  /** Dials now if not connected or dialing (cancels a pending retry). */
  readonly connectNow: Effect.Effect<void>
  /** Best-effort messages (typing, read receipts): queued briefly, sent on the current or next link. */
  readonly sendControl: (message: WireMessage) => Effect.Effect<void>
  /** Round-trip time of one Ping on the current link. */
  readonly ping: Effect.Effect<number, NotConnected>
  /** The actor's loop; the supervisor runs it and restarts it after a defect. */
  readonly run: Effect.Effect<never>
  /** Counts a restart in the health record. */
  readonly restarted: Effect.Effect<void>
}

type ActorEvent =
  | { readonly _tag: "Inbound"; readonly channel: Channel }
  | { readonly _tag: "DialProgress"; readonly attempt: number }
  | { readonly _tag: "DialSucceeded"; readonly attempt: number; readonly channel: Channel }
  | { readonly _tag: "DialFailed"; readonly attempt: number; readonly error: string }
  | { readonly _tag: "DialTimeout"; readonly attempt: number; readonly detail: string }
  | { readonly _tag: "RetryNow" }
  | { readonly _tag: "ConnectNow" }
  | { readonly _tag: "LinkEnded"; readonly linkId: number; readonly exit: Exit.Exit<never, LinkEnd> }

interface Link {
  readonly id: number
  readonly channel: Channel
  readonly direction: "outbound" | "inbound"
  readonly establishedAt: number
  readonly live: LiveLink
}

type Mutable<A> = Types.Mutable<A>

const MAX_PENDING_EVENTS = 64
const BYE_TIMEOUT = Duration.seconds(1)

/** Best effort and bounded in time, also when run as a finalizer (hence interruptible). */
const sayByeAndClose = (channel: Channel, reason: "shutdown" | "duplicate" | "removed" | "locked") =>
  channel.send([{ _tag: "Bye", reason }]).pipe(
    Effect.interruptible,
    Effect.timeout(BYE_TIMEOUT),
    Effect.ignore,
    Effect.zipRight(channel.close)
  )

const errorMessage = (cause: Cause.Cause<{ readonly message: string }>) =>
  Cause.failureOption(cause).pipe(Option.match({ onNone: () => Cause.pretty(cause), onSome: (e) => e.message }))

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (contact: Contact) =>
  Effect.gen(function*() {
    const settings = yield* RuntimeConfig
    const transport = yield* Transport
    const outbox = yield* Outbox
    const inbox = yield* Inbox
    const events = yield* Events
    const identity = yield* LocalIdentity
    const timers = yield* Timers

    const mailbox = yield* Mailbox.make<ActorEvent>()
    /** Best-effort messages while no link is up: the newest 64. */
    let pendingControl: Array<WireMessage> = []
    let current: LiveLink | undefined
    const health: Mutable<Omit<LinkHealth, "contact" | "queueDepth">> = { state: "idle", retryCount: 0, restarts: 0 }
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(mailbox.clear, (pending) =>
        Effect.forEach(pending, (event) =>
          event._tag === "Inbound" || event._tag === "DialSucceeded" ? event.channel.close : Effect.void, {
          discard: true
        }))
    )

    const hello = Greeting.helloOf(identity.profile)
    const framing = Greeting.framingOf(settings)
    const canDial = contact.port > 0

    const patchHealth = (patch: Partial<typeof health>) => {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) {
          delete (health as Record<string, unknown>)[key]
        } else (health as Record<string, unknown>)[key] = value
      }
    }
    const updateHealth = (f: (h: typeof health) => Partial<typeof health>) =>
      Effect.sync(() =>
        patchHealth(f(health))
      )

    const setState = (state: LinkState, patch: Partial<typeof health> = {}, detail?: string) =>
      Effect.gen(function*() {
        const before = { state: health.state }
        patchHealth({ ...patch, state })
        if (before.state !== state) {
          const at = yield* Clock.currentTimeMillis
          yield* events.publish({
            _tag: "LinkStateChanged",
            contact: contact.uid,
            state,
            previous: before.state,
            at,
            ...(detail === undefined ? {} : { detail })
          })
        }
      })

    const handshake = (stream: Parameters<typeof SecureChannel.initiate>[0]) =>
      contact.legacy
        ? LegacyChannel.initiate(stream, contact.publicKey, {
          staticKeyPair: identity.keyPair,
          uid: identity.profile.uid,
          username: identity.profile.username,
          maxPayloadBytes: settings.maxMessageBytes
        })
        : SecureChannel.initiate(stream, contact.publicKey, { staticKeyPair: identity.keyPair, hello, framing })

    const dial = (attempt: number) =>
      Effect.gen(function*() {
        const stream = yield* transport.connect(contact.host, contact.port)
        yield* mailbox.offer({ _tag: "DialProgress", attempt })
        const channel = yield* handshake(stream).pipe(
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : stream.close))
        )
        yield* mailbox.offer({ _tag: "DialSucceeded", attempt, channel })
      }).pipe(
        Effect.catchAll((error) => mailbox.offer({ _tag: "DialFailed", attempt, error: error.message }))
      )

    const run: Effect.Effect<never> = Effect.scoped(
      Effect.gen(function*() {
        const children = yield* FiberSet.make<unknown, unknown>()
        const fork = yield* FiberSet.runtime(children)<never>()
        const clock = yield* Effect.clock
        const backoff = yield* Backoff.make(Backoff.delaysOf(settings))

        let link: Link | undefined
        let cancelRetry = () => {}
        let linkIds = 0
        let attempt = 0
        let dialing = false
        let dialFiber: Fiber.RuntimeFiber<unknown> | undefined
        let cancelDialDeadline = () => {}
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            cancelRetry()
            cancelDialDeadline()
          })
        )

        /**
         * The current dial stage's deadline (connect, then handshake) is an entry in the shared
         * timers that tells the actor, which then interrupts the dial: no timeout fiber per stage.
         */
        const armDialDeadline = (timeout: Duration.Duration, detail: string) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            cancelDialDeadline()
            const at = attempt
            cancelDialDeadline = timers.schedule(
              now + Duration.toMillis(timeout),
              Effect.asVoid(mailbox.offer({ _tag: "DialTimeout", attempt: at, detail }))
            )
          })

        yield* Effect.addFinalizer(() => {
          const last = link
          current = undefined
          if (last === undefined) return Effect.void
          last.live.stop()
          return sayByeAndClose(last.channel, "shutdown")
        })

        const startDial = Effect.gen(function*() {
          cancelRetry()
          dialing = true
          attempt++
          yield* setState("dialing", { nextRetryAt: undefined })
          yield* armDialDeadline(settings.connectTimeout, `connect to ${contact.host}:${contact.port}`)
          dialFiber = yield* FiberSet.run(children, dial(attempt))
        })

        const dialOver = () => {
          dialing = false
          dialFiber = undefined
          cancelDialDeadline()
        }

        const scheduleRetry = (reason: string) =>
          Effect.gen(function*() {
            if (dialing || link !== undefined) return
            if (!canDial) return yield* setState("idle", { lastError: reason }, reason)
            const delay = yield* backoff.next
            const now = yield* Clock.currentTimeMillis
            yield* setState(
              "backoff",
              { lastError: reason, nextRetryAt: now + Duration.toMillis(delay) },
              reason
            )
            yield* updateHealth((h) => ({ retryCount: h.retryCount + 1 }))
            cancelRetry = timers.schedule(
              now + Duration.toMillis(delay),
              Effect.asVoid(mailbox.offer({ _tag: "RetryNow" }))
            )
          })

        const initiatorKey = (l: Pick<Link, "direction">) =>
          l.direction === "outbound" ? identity.keyPair.publicKey : contact.publicKey

        const activate = (channel: Channel, direction: Link["direction"]) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const previous = link
            const id = ++linkIds
            cancelRetry()
            yield* backoff.reset
            if (previous !== undefined) {
              previous.live.stop()
              current = undefined
              yield* FiberSet.run(children, sayByeAndClose(previous.channel, "duplicate"))
            }
            // What the previous link left in flight goes first, on this one.
            yield* outbox.requeue(contact.uid)
            const hooks: LinkHooks = {
              onRtt: (rttMs) => {
                health.rttMs = rttMs
              },
              onActivity: (at) => {
                health.lastSeen = at
              },
              onEnd: (exit) => {
                mailbox.unsafeOffer({ _tag: "LinkEnded", linkId: id, exit })
              }
            }
            const pending = pendingControl
            pendingControl = []
            yield* setState("connected", {
              protocol: channel.protocol,
              direction,
              remoteAddress: channel.remoteAddress,
              connectedSince: now,
              lastSeen: now,
              retryCount: 0,
              nextRetryAt: undefined,
              rttMs: undefined
            })
            const live = new LiveLink({
              channel,
              contact,
              pending,
              events,
              hooks,
              inbox,
              outbox,
              settings,
              timers,
              clock,
              fork
            })
            link = { id, channel, direction, establishedAt: now, live }
            current = live
          })

        /** Exactly one link: within the duplicate window the link dialled by the smaller key wins. */
        const accept = (channel: Channel, direction: Link["direction"]) =>
          Effect.gen(function*() {
            if (link === undefined) return yield* activate(channel, direction)
            const now = yield* Clock.currentTimeMillis
            const stale = now - link.establishedAt > Duration.toMillis(settings.duplicateWindow)
            const order = compareBytes(initiatorKey({ direction }), initiatorKey(link))
            if (stale || order < 0 || (order === 0 && direction === link.direction)) {
              return yield* activate(channel, direction)
            }
            yield* FiberSet.run(children, sayByeAndClose(channel, "duplicate"))
          })

        const onEvent = (event: ActorEvent): Effect.Effect<void> =>
          Effect.gen(function*() {
            switch (event._tag) {
              case "Inbound":
                return yield* accept(event.channel, "inbound")
              case "DialProgress":
                if (event.attempt !== attempt || !dialing) return
                yield* armDialDeadline(settings.handshakeTimeout, "handshake")
                if (link === undefined) yield* setState("handshaking")
                return
              case "DialSucceeded":
                if (event.attempt === attempt) dialOver()
                return yield* accept(event.channel, "outbound")
              case "DialFailed": {
                if (event.attempt !== attempt || !dialing) return
                dialOver()
                yield* updateHealth(() => ({ lastError: event.error }))
                return yield* scheduleRetry(event.error)
              }
              case "DialTimeout": {
                if (event.attempt !== attempt || !dialing) return
                const fiber = dialFiber
                dialOver()
                // The dial's own finalizers close a half-open socket or channel.
                if (fiber !== undefined) yield* Fiber.interruptFork(fiber)
                const error = new TransportError({ reason: "Timeout", detail: event.detail }).message
                yield* updateHealth(() => ({ lastError: error }))
                return yield* scheduleRetry(error)
              }
              case "RetryNow":
              case "ConnectNow":
                if (link === undefined && !dialing && canDial) yield* startDial
                return
              case "LinkEnded": {
                if (link?.id !== event.linkId) return
                link = undefined
                current = undefined
                if (Exit.isFailure(event.exit) && Cause.isDie(event.exit.cause)) {
                  return yield* Effect.die(Cause.squash(event.exit.cause))
                }
                const reason = Exit.isFailure(event.exit) ? errorMessage(event.exit.cause) : "link closed"
                const at = yield* Clock.currentTimeMillis
                yield* events.publish({ _tag: "LinkError", contact: contact.uid, error: reason, at })
                yield* updateHealth(() => ({ lastError: reason, connectedSince: undefined, rttMs: undefined }))
                return yield* scheduleRetry(reason)
              }
            }
          })

        if (canDial) yield* startDial
        else yield* setState("idle")
        /** A channel whose event is cut short (a defect, an interruption) before the actor adopts it is closed. */
        const handleEvent = (event: ActorEvent) =>
          event._tag === "Inbound" || event._tag === "DialSucceeded"
            ? Effect.onExit(
              onEvent(event),
              (exit) => Exit.isFailure(exit) && link?.channel !== event.channel ? event.channel.close : Effect.void
            )
            : onEvent(event)

        // One event at a time: what a defect or an interruption leaves in the mailbox is still
        // there for the restarted actor (or closed by the finalizer above).
        while (true) yield* Effect.flatMap(Effect.orDie(mailbox.take), handleEvent)
      })
    )

    return {
      contact,
      health: Effect.map(
        outbox.depth(contact.uid),
        (queueDepth) => new LinkHealth({ ...health, contact: contact.uid, queueDepth }, true)
      ),
      offerInbound: (channel) =>
        Effect.suspend(() =>
          Option.getOrElse(mailbox.unsafeSize(), () => 0) >= MAX_PENDING_EVENTS
            ? channel.close
            : mailbox.offer({ _tag: "Inbound", channel })
        ),
      connectNow: Effect.asVoid(mailbox.offer({ _tag: "ConnectNow" })),
      sendControl: (message) =>
        Effect.suspend(
          () => {
            if (current === undefined) {
              return Effect.sync(() => {
                pendingControl.push(message)
                if (pendingControl.length > 64) pendingControl.shift()
              })
            }
            current.send(message)
            return Effect.void
          }
        ),
      ping: Effect.suspend(() =>
        current === undefined
          ? new NotConnected({ contact: contact.uid })
          : Effect.mapError(current.ping, (e) => new NotConnected({ contact: contact.uid, detail: e.reason }))
      ),
      run,
      restarted: updateHealth((h) => ({ restarts: h.restarts + 1 }))
    } satisfies PeerActor as PeerActor
  })
