/**
 * A whole node as one Layer: the peer supervisor, the listener, and a small facade to send
 * messages and watch links. The daemon and library embedders both build on it.
 *
 * @since 2.0.0
 */
import { Array as Arr, Context, Effect, Layer, Schema } from "effect"
import type { Queue, Scope, Stream } from "effect"
import { randomBytes } from "node:crypto"
import type { MailboxFull, NotConnected } from "../domain/Errors.js"
import { ContactError, InvalidInput } from "../domain/Errors.js"
import type { LinkHealth, RuntimeEvent } from "../domain/Events.js"
import * as Held from "../domain/Held.js"
import type { MessageId, Uid } from "../domain/Ids.js"
import { MessageId as MessageIdSchema } from "../domain/Ids.js"
import type { Text } from "../domain/Messages.js"
import { MAX_BODY_LENGTH, MAX_IDS } from "../domain/Messages.js"
import { ContactBook } from "../services/ContactBook.js"
import { Events } from "../services/Events.js"
import type { Profile } from "../services/Identity.js"
import type { WithUnsafe } from "../services/internal/unsafe.js"
import { withUnsafe } from "../services/internal/unsafe.js"
import { LocalIdentity } from "../services/LocalIdentity.js"
import { Outbox } from "../services/Outbox.js"
import type { ListenAddress } from "../services/Transport.js"
import { Listener } from "./Listener.js"
import * as ListenerModule from "./Listener.js"
import { PeerSupervisor } from "./PeerSupervisor.js"
import * as PeerSupervisorModule from "./PeerSupervisor.js"
import * as TimersModule from "./Timers.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface SendOptions {
  /** Your own id for the message: sending the same id twice is safe (idempotency key). */
  readonly id?: string | undefined
  /** Epoch ms after which the message is dropped if it has not been sent yet. */
  readonly expiresAt?: number | undefined
}

/**
 * Why `send` refuses a message.
 *
 * @since 2.1.0
 * @category models
 */
export type SendError = MailboxFull | ContactError | InvalidInput

/**
 * @since 2.0.0
 * @category models
 */
export interface RuntimeShape {
  readonly profile: Profile
  readonly address: ListenAddress
  /**
   * Queues a message until the contact acknowledges it. With the in-memory outbox it also runs
   * synchronously (`send.unsafe`, which returns the refusal instead of failing).
   */
  readonly send: WithUnsafe<
    (contact: Uid, body: string, options?: SendOptions) => Effect.Effect<Text, SendError>,
    (contact: Uid, body: string, options?: SendOptions) => Text | SendError
  >
  /** Removes the contact, closes its link and drops what was still queued for it. */
  readonly removeContact: (contact: Uid) => Effect.Effect<void, ContactError>
  readonly typing: (contact: Uid, active: boolean) => Effect.Effect<void, ContactError>
  /** Tells the contact these messages were read (best effort: queued briefly if the link is down). */
  readonly sendReadReceipts: (contact: Uid, ids: ReadonlyArray<MessageId>) => Effect.Effect<void, ContactError>
  readonly connectNow: (contact: Uid) => Effect.Effect<void, ContactError>
  /** Round-trip time in milliseconds of one ping on the contact's link. */
  readonly ping: (contact: Uid) => Effect.Effect<number, ContactError | NotConnected>
  readonly health: (contact: Uid) => Effect.Effect<LinkHealth, ContactError>
  readonly healthAll: Effect.Effect<ReadonlyArray<LinkHealth>>
  readonly events: Stream.Stream<RuntimeEvent>
  readonly subscribe: Effect.Effect<Queue.Dequeue<RuntimeEvent>, never, Scope.Scope>
  /** Calls `listener` with every event until the scope closes, without a fiber (see `Events.listen`). */
  readonly listen: (listener: (event: RuntimeEvent) => unknown) => Effect.Effect<void, never, Scope.Scope>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Runtime extends Context.Tag("jarvis/Runtime")<Runtime, RuntimeShape>() {}

const ID_RANDOM_BYTES = 10
const MAX_MILLIS = 0xffffffffffff
const MAX_LOW = 0xffffffff

/**
 * Makes message ids, 32 hex digits: the send time in milliseconds (12 digits, 48 bits), then 80
 * bits (48 high, 32 low) drawn from a CSPRNG at each new millisecond and incremented by one for
 * each further id within it, carrying from the low bits into the high ones (the monotonic mode
 * of ULIDs). A clock that goes back keeps the last millisecond. Ids made by one instance
 * therefore increase strictly: they land at the end of the store's `(contact, outgoing, id)`
 * index instead of on a random page, which more than halves the cost of storing a message on
 * both sides, and a receiver's duplicate check for them is one comparison. The peer already
 * learns the send time from `sentAt`.
 *
 * @since 2.0.0
 * @category constructors
 */
export class MessageIds {
  private pool: Uint8Array = new Uint8Array(0)
  private offset = 0
  private millis = -1
  private high = 0
  private low = 0
  /** The time and high bits of the current ids, as hex. */
  private prefix = ""

  /** `random(n)`: n bytes from a CSPRNG (called with a pool's worth at a time). */
  constructor(private readonly random: (bytes: number) => Uint8Array = randomBytes) {}

  next(sentAt: number): MessageId {
    const now = Math.max(0, Math.min(Math.floor(sentAt), MAX_MILLIS))
    if (now > this.millis) {
      this.draw(now)
    } else if (this.low < MAX_LOW) {
      this.low++
    } else if (this.high < MAX_MILLIS) {
      this.high++
      this.low = 0
      this.setPrefix()
    } else {
      this.draw(this.millis + 1) // 2^80 ids in one millisecond: borrow the next one
    }
    return (this.prefix + this.low.toString(16).padStart(8, "0")) as MessageId
  }

  private draw(millis: number): void {
    if (this.offset + ID_RANDOM_BYTES > this.pool.length) {
      this.pool = this.random(ID_RANDOM_BYTES * 400)
      this.offset = 0
    }
    const bytes = this.pool
    const at = this.offset
    this.offset += ID_RANDOM_BYTES
    this.millis = millis
    this.high = bytes[at]! * 2 ** 40 + bytes[at + 1]! * 2 ** 32 +
      ((bytes[at + 2]! << 24) >>> 0) + (bytes[at + 3]! << 16) + (bytes[at + 4]! << 8) + bytes[at + 5]!
    this.low = ((bytes[at + 6]! << 24) >>> 0) + (bytes[at + 7]! << 16) + (bytes[at + 8]! << 8) + bytes[at + 9]!
    this.setPrefix()
  }

  private setPrefix(): void {
    this.prefix = this.millis.toString(16).padStart(12, "0") + this.high.toString(16).padStart(12, "0")
  }
}

const messageIds = new MessageIds()

/**
 * A fresh message id from the runtime's {@link MessageIds}.
 *
 * @since 2.0.0
 * @category constructors
 */
export const newMessageId = (sentAt: number): MessageId => messageIds.next(sentAt)

const isMessageId = Schema.is(MessageIdSchema)

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const identity = yield* LocalIdentity
  const supervisor = yield* PeerSupervisor
  const listener = yield* Listener

  const outbox = yield* Outbox
  const contacts = yield* ContactBook
  const events = yield* Events
  const clock = yield* Effect.clock

  /** The message `send` would queue, or why it is refused. */
  const prepare = (contact: Uid, body: string, options?: SendOptions): Text | ContactError | InvalidInput => {
    if (contacts.unsafeGet(contact) === undefined) return new ContactError({ reason: "NotFound", detail: contact })
    if (typeof body !== "string" || body.length === 0 || body.length > MAX_BODY_LENGTH) {
      return new InvalidInput({ detail: `a message is 1 to ${MAX_BODY_LENGTH} characters` })
    }
    if (options?.id !== undefined && !isMessageId(options.id)) {
      return new InvalidInput({ detail: "a message id is 1-64 characters of [A-Za-z0-9._:-]" })
    }
    const sentAt = clock.unsafeCurrentTimeMillis()
    if (options?.expiresAt !== undefined && !(typeof options.expiresAt === "number" && options.expiresAt > sentAt)) {
      return new InvalidInput({ detail: "the expiry must be in the future (epoch ms)" })
    }
    return Held.text((options?.id as MessageId | undefined) ?? newMessageId(sentAt), body, sentAt)
  }

  const enqueueNow = outbox.enqueue.unsafe
  const sendNow = enqueueNow &&
    ((contact: Uid, body: string, options?: SendOptions): Text | SendError => {
      const message = prepare(contact, body, options)
      return message._tag !== "Text" ? message : enqueueNow(contact, message, options?.expiresAt) ?? message
    })

  const send = withUnsafe(
    (contact: Uid, body: string, options?: SendOptions): Effect.Effect<Text, SendError> =>
      Effect.suspend((): Effect.Effect<Text, SendError> => {
        if (sendNow !== undefined) {
          const sent = sendNow(contact, body, options)
          return sent._tag === "Text" ? Effect.succeed(sent) : Effect.fail(sent)
        }
        const message = prepare(contact, body, options)
        if (message._tag !== "Text") return Effect.fail(message)
        return Effect.as(outbox.enqueue(contact, message, options?.expiresAt), message)
      }),
    sendNow
  )

  return Runtime.of({
    profile: identity.profile,
    address: listener.address,
    send,
    removeContact: (contact) => Effect.zipRight(contacts.remove(contact), outbox.clear(contact)),
    typing: (contact, active) => supervisor.sendControl(contact, { _tag: "Typing", active }),
    sendReadReceipts: (contact, ids) =>
      Effect.forEach(
        Arr.chunksOf(ids, MAX_IDS),
        (part) => supervisor.sendControl(contact, { _tag: "Read", ids: part }),
        { discard: true }
      ),
    connectNow: supervisor.connectNow,
    ping: supervisor.ping,
    health: supervisor.health,
    healthAll: supervisor.healthAll,
    events: events.stream,
    subscribe: events.subscribe,
    listen: events.listen
  })
})

/**
 * The node: supervisor, listener and facade. Needs identity, config, transport, contacts,
 * outbox, inbox and the event bus.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = Layer.effect(Runtime, make).pipe(
  Layer.provideMerge(ListenerModule.layer),
  Layer.provideMerge(PeerSupervisorModule.layer),
  Layer.provideMerge(TimersModule.layer)
)
