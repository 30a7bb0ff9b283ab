/**
 * The IPC API: one RpcGroup of Schema-defined methods. The daemon serves it as JSON-RPC 2.0 over
 * a Unix socket (loopback TCP with a token on Windows), the typed client calls it, and
 * `jarvis api schema` describes it from these same Schemas.
 *
 * @since 2.0.0
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { ContactCodeError, ContactError, IdentityError, InvalidInput, MailboxFull, NotConnected } from "./Errors.js"
import { EventEnvelope, LinkHealth } from "./Events.js"
import { HistoryEntry, MessageStatus, PendingMessage, UnreadCounts } from "./History.js"
import { Fingerprint, Host, MessageId, Port, Uid, Username } from "./Ids.js"

/**
 * The daemon holds no unlocked identity.
 *
 * @since 2.0.0
 * @category errors
 */
export class Locked extends Schema.TaggedError<Locked>()("Locked", {
  reason: Schema.Literal("Locked", "NoIdentity")
}) {
  override get message() {
    return this.reason === "NoIdentity"
      ? "No identity yet: create one with `jarvis init`"
      : "The daemon is locked: run `jarvis unlock`"
  }
}

/**
 * A subscriber did not read its events fast enough; resubscribe from `resumeFrom`.
 *
 * @since 2.0.0
 * @category errors
 */
export class EventsOverflow extends Schema.TaggedError<EventsOverflow>()("EventsOverflow", {
  resumeFrom: Schema.Number
}) {
  override get message() {
    return `Event stream overflowed (client not reading); resubscribe with from=${this.resumeFrom}`
  }
}

/**
 * Every error a method can return.
 *
 * @since 2.0.0
 * @category errors
 */
export const ApiError = Schema.Union(
  Locked,
  IdentityError,
  ContactError,
  ContactCodeError,
  MailboxFull,
  InvalidInput,
  NotConnected,
  EventsOverflow
)
export type ApiError = typeof ApiError.Type

/**
 * @since 2.0.0
 * @category models
 */
export const ProfileView = Schema.Struct({
  uid: Uid,
  username: Username,
  fingerprint: Fingerprint,
  publicKey: Schema.String.annotations({ description: "base64 X25519 public key" }),
  listenPort: Port,
  createdAt: Schema.String
})
export type ProfileView = typeof ProfileView.Type

/**
 * @since 2.0.0
 * @category models
 */
export const ContactView = Schema.Struct({
  uid: Uid,
  username: Username,
  fingerprint: Fingerprint,
  publicKey: Schema.String,
  host: Host,
  port: Port,
  verified: Schema.Boolean,
  legacy: Schema.Boolean,
  signed: Schema.Boolean,
  notes: Schema.String,
  addedAt: Schema.Number,
  link: Schema.optional(LinkHealth)
})
export type ContactView = typeof ContactView.Type

/**
 * @since 2.0.0
 * @category models
 */
export const DaemonStatus = Schema.Struct({
  version: Schema.String,
  pid: Schema.Number,
  dataDir: Schema.String,
  startedAt: Schema.Number,
  state: Schema.Literal("no-identity", "locked", "unlocked"),
  profile: Schema.optional(ProfileView),
  listen: Schema.optional(Schema.Struct({ host: Schema.String, port: Port }))
})
export type DaemonStatus = typeof DaemonStatus.Type

/**
 * Overall link status, as the original showed it: green (all contacts connected), amber (some),
 * red (none), grey (locked: not listening), none (no contacts).
 *
 * @since 2.0.0
 * @category models
 */
export const LinksStatus = Schema.Struct({
  summary: Schema.Literal("green", "amber", "red", "grey", "none"),
  connected: Schema.Number,
  total: Schema.Number,
  links: Schema.Array(LinkHealth)
})
export type LinksStatus = typeof LinksStatus.Type

const ContactRef = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(64),
  Schema.annotations({ description: "a username, a uid, or a unique uid prefix" })
)

const Password = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024))

const common = { error: ApiError } as const

/**
 * @since 2.0.0
 * @category methods
 */
export class JarvisApi extends RpcGroup.make(
  // Does nothing: a liveness check for scripts, and what the IPC overhead is measured with.
  Rpc.make("daemon.ping", { ...common }),
  Rpc.make("daemon.status", { ...common, success: DaemonStatus }),
  Rpc.make("daemon.stop", { ...common }),
  Rpc.make("identity.create", {
    ...common,
    payload: { username: Username, password: Password, listenPort: Schema.optional(Port) },
    success: ProfileView
  }),
  Rpc.make("identity.unlock", { ...common, payload: { password: Password }, success: ProfileView }),
  Rpc.make("identity.lock", { ...common }),
  Rpc.make("identity.show", { ...common, success: ProfileView }),
  Rpc.make("identity.changePassword", { ...common, payload: { oldPassword: Password, newPassword: Password } }),
  Rpc.make("identity.linkCode", {
    ...common,
    payload: { host: Schema.optional(Host), port: Schema.optional(Port) },
    success: Schema.Struct({ code: Schema.String })
  }),
  Rpc.make("identity.card", {
    ...common,
    payload: { host: Schema.optional(Host), port: Schema.optional(Port) },
    success: Schema.Struct({ fileName: Schema.String, contents: Schema.String })
  }),
  Rpc.make("contacts.add", {
    ...common,
    payload: {
      code: Schema.optional(Schema.String.pipe(Schema.maxLength(65536))).annotations({
        description: "a jarvis:// link code or the contents of a .jcard file"
      }),
      fields: Schema.optional(Schema.Struct({
        uid: Uid,
        username: Username,
        publicKey: Schema.String,
        host: Host,
        port: Port
      })),
      legacy: Schema.optional(Schema.Boolean),
      verified: Schema.optional(Schema.Boolean),
      notes: Schema.optional(Schema.String.pipe(Schema.maxLength(4096)))
    },
    success: ContactView
  }),
  Rpc.make("contacts.list", { ...common, success: Schema.Array(ContactView) }),
  Rpc.make("contacts.show", { ...common, payload: { contact: ContactRef }, success: ContactView }),
  Rpc.make("contacts.remove", { ...common, payload: { contact: ContactRef } }),
  Rpc.make("contacts.verify", {
    ...common,
    payload: { contact: ContactRef, fingerprint: Schema.optional(Schema.String) },
    success: ContactView
  }),
  Rpc.make("contacts.update", {
    ...common,
    payload: {
      contact: ContactRef,
      host: Schema.optional(Host),
      port: Schema.optional(Port),
      legacy: Schema.optional(Schema.Boolean),
      notes: Schema.optional(Schema.String.pipe(Schema.maxLength(4096)))
    },
    success: ContactView
  }),
  Rpc.make("messages.send", {
    ...common,
    payload: {
      contact: ContactRef,
      body: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(65536)),
      id: Schema.optional(MessageId).annotations({ description: "your own id: resending it is a no-op" }),
      expiresAt: Schema.optional(Schema.Number).annotations({
        description: "epoch milliseconds: if the message is still queued then, it is dropped (status expired)"
      })
    },
    success: Schema.Struct({ id: MessageId, contact: Uid, sentAt: Schema.Number, status: MessageStatus })
  }),
  Rpc.make("messages.history", {
    ...common,
    payload: {
      contact: ContactRef,
      limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
      before: Schema.optional(Schema.Number)
    },
    success: Schema.Struct({ messages: Schema.Array(HistoryEntry), next: Schema.optional(Schema.Number) })
  }),
  Rpc.make("messages.markRead", {
    ...common,
    payload: { contact: ContactRef },
    success: Schema.Struct({ marked: Schema.Number })
  }),
  Rpc.make("messages.unread", { ...common, success: UnreadCounts }),
  Rpc.make("messages.typing", { ...common, payload: { contact: ContactRef, active: Schema.Boolean } }),
  Rpc.make("outbox.list", {
    ...common,
    payload: { contact: Schema.optional(ContactRef) },
    success: Schema.Array(PendingMessage)
  }),
  Rpc.make("outbox.cancel", {
    ...common,
    payload: { id: MessageId },
    success: Schema.Struct({ cancelled: Schema.Boolean })
  }),
  Rpc.make("links.status", { ...common, success: LinksStatus }),
  Rpc.make("links.health", { ...common, payload: { contact: ContactRef }, success: LinkHealth }),
  Rpc.make("links.connect", { ...common, payload: { contact: ContactRef } }),
  Rpc.make("links.ping", {
    ...common,
    payload: { contact: ContactRef },
    success: Schema.Struct({ rttMs: Schema.Number })
  }),
  Rpc.make("events.subscribe", {
    ...common,
    payload: {
      from: Schema.optional(Schema.Number).annotations({
        description: "replay events after this cursor first; omit for live events only"
      })
    },
    success: EventEnvelope,
    stream: true
  })
) {}
