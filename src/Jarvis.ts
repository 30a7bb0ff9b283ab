/**
 * Jarvis without Effect: a whole node behind Promises and plain callbacks, for applications that
 * do not use Effect themselves. It is the same runtime as `Embedded` (links, supervision,
 * keepalive, reconnection, acknowledgements); failures reject with the same typed errors
 * (`MailboxFull`, `ContactError`, `InvalidInput`, `NotConnected`, …), told apart by `_tag`.
 *
 * ```ts
 * const bot = await Jarvis.start({ username: "bot", settings: { listenPort: 5000 } })
 * bot.on(async (event) => {
 *   if (event._tag === "MessageReceived") await bot.send(event.contact, `echo: ${event.body}`)
 * })
 * await bot.addContact(linkCodeFromAFriend)
 * ```
 *
 * Listeners are called in a microtask after each event, with no fiber and no queue, and a send
 * over the in-memory outbox queues the message before it returns: the lowest-latency way to drive
 * a node.
 *
 * @since 2.1.0
 */
import { Cause, Clock, Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Schema, Scope } from "effect"
import type { RuntimeShape, SendError, SendOptions } from "./actors/Runtime.js"
import { Runtime } from "./actors/Runtime.js"
import { Contact } from "./domain/Contact.js"
import { isOwn, toContact } from "./domain/ContactCard.js"
import { ContactError, InvalidInput, NodeClosed } from "./domain/Errors.js"
import type { LinkHealth, RuntimeEvent } from "./domain/Events.js"
import type { HistoryEntry, PendingMessage, UnreadCounts } from "./domain/History.js"
import type { MessageId, Uid } from "./domain/Ids.js"
import { MessageId as MessageIdSchema } from "./domain/Ids.js"
import type { Text } from "./domain/Messages.js"
import * as Embedded from "./Embedded.js"
import * as ContactCode from "./protocol/ContactCode.js"
import type { ContactBookShape } from "./services/ContactBook.js"
import { ContactBook } from "./services/ContactBook.js"
import * as Identity from "./services/Identity.js"
import type { Profile, UnlockedIdentity } from "./services/Identity.js"
import { LocalIdentity } from "./services/LocalIdentity.js"
import type { HistoryShape } from "./services/MessageStore.js"
import { History } from "./services/MessageStore.js"
import type { RuntimeSettings, SettingsInput } from "./services/RuntimeConfig.js"
import { defaults, fromInput } from "./services/RuntimeConfig.js"
import type { ListenAddress, Transport } from "./services/Transport.js"
import { lanAddress } from "./services/Transport.js"

/**
 * @since 2.1.0
 * @category models
 */
export interface StartOptions {
  /** Default: a new identity, kept only as long as the node runs. */
  readonly identity?: UnlockedIdentity | undefined
  /** The new identity's name (default "jarvis"); ignored with `identity`. Its port: `settings.listenPort`, else 5000. */
  readonly username?: string | undefined
  readonly contacts?: ReadonlyArray<Contact> | undefined
  /** `RuntimeConfig`'s settings; durations in milliseconds or as text ("10 seconds"). */
  readonly settings?: SettingsInput | undefined
  /** Default TCP; `MemoryTransport.layer` for simulations. */
  readonly transport?: Layer.Layer<Transport> | undefined
  /** What the node logs (logfmt lines on stderr); default "Warning". */
  readonly logLevel?: LogLevel.Literal | undefined
}

/**
 * @since 2.1.0
 * @category models
 */
export interface OpenOptions {
  readonly password: string
  /** Default: `$JARVIS_HOME`, else the platform's data directory. */
  readonly dataDir?: string | undefined
  readonly settings?: SettingsInput | undefined
  /** What the node logs (logfmt lines on stderr); default "Warning". */
  readonly logLevel?: LogLevel.Literal | undefined
}

/**
 * @since 2.1.0
 * @category models
 */
export interface AddContactOptions {
  /** You compared fingerprints out of band. */
  readonly verified?: boolean | undefined
  /** The contact runs the original v1 Jarvis. */
  readonly legacy?: boolean | undefined
  readonly notes?: string | undefined
}

/** A new identity's port when `settings.listenPort` is not given, as with `jarvis init`. */
const DEFAULT_PORT = 5000

type Services = Runtime | ContactBook | LocalIdentity

const decodeIds = Schema.decodeUnknown(Schema.Array(MessageIdSchema))

/** A value the constructor checks; its ParseError becomes `InvalidInput`. */
const validated = <A>(make: () => A): Effect.Effect<A, InvalidInput> =>
  Effect.try({
    try: make,
    catch: (error) => new InvalidInput({ detail: error instanceof Error ? error.message : String(error) })
  })

const valueOf = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/**
 * A running node. Once `close` was called, every method that reaches the node rejects with
 * `NodeClosed` (`on` throws it).
 *
 * @since 2.1.0
 * @category models
 */
export class JarvisNode {
  readonly profile: Profile
  readonly address: ListenAddress
  private closing: Promise<void> | undefined = undefined

  /** @internal */
  constructor(
    private readonly managed: ManagedRuntime.ManagedRuntime<Services, unknown>,
    protected readonly runtime: RuntimeShape,
    private readonly book: ContactBookShape,
    private readonly identity: UnlockedIdentity,
    protected readonly settings: RuntimeSettings
  ) {
    this.profile = runtime.profile
    this.address = runtime.address
  }

  /**
   * Queues `body` for `contact` (a uid) until the contact acknowledges it; resolves with the
   * message as queued (its `id` is what receipts refer to).
   */
  send(contact: string, body: string, options?: SendOptions): Promise<Text> {
    if (this.closing !== undefined) return Promise.reject(new NodeClosed())
    const now = this.runtime.send.unsafe
    if (now === undefined) return this.run(this.runtime.send(contact as Uid, body, options))
    let result: Text | SendError
    try {
      result = now(contact as Uid, body, options)
    } catch (defect) {
      return Promise.reject(defect) // a rejection, as from the effect, never a throw
    }
    return result._tag === "Text" ? Promise.resolve(result) : Promise.reject(result)
  }

  /**
   * Calls `listener` with every event from now on (messages, receipts, link states, …), in order,
   * in a microtask after each; returns the function that stops it. A listener may be async: one
   * that throws or rejects is logged and keeps listening.
   */
  on(listener: (event: RuntimeEvent) => unknown): () => void {
    if (this.closing !== undefined) throw new NodeClosed()
    const scope = Effect.runSync(Scope.make())
    this.managed.runSync(Scope.extend(this.runtime.listen(listener), scope))
    return () => Effect.runSync(Scope.close(scope, Exit.void))
  }

  /** A signed link code for others to add this node, reachable at `host:port`. */
  linkCode(host?: string, port?: number): string {
    const { keyPair, profile } = this.identity
    return ContactCode.makeLinkCode(
      { ...keyPair, uid: profile.uid, username: profile.username },
      host ?? this.settings.advertiseHost ?? lanAddress(),
      port ?? (this.address.port || profile.listenPort)
    )
  }

  /** Adds the contact a link code or `.jcard`'s contents describes. */
  addContact(code: string, options?: AddContactOptions): Promise<Contact> {
    const { keyPair, profile } = this.identity
    return this.run(Effect.gen(this, function*() {
      if (typeof code !== "string") return yield* new InvalidInput({ detail: "a contact code is a string" })
      const card = yield* ContactCode.parse(code)
      if (isOwn(card, profile.uid, keyPair.publicKey)) {
        return yield* new ContactError({ reason: "Invalid", detail: "that is your own identity" })
      }
      const addedAt = yield* Clock.currentTimeMillis
      const contact = yield* validated(() => toContact(card, { ...options, addedAt }))
      yield* this.book.add(contact)
      return contact
    }))
  }

  /** Adds (or with `update`, changes) a contact given as a whole (checked as `Contact`). */
  putContact(contact: Contact, update = false): Promise<void> {
    return this.run(Effect.flatMap(
      validated(() => contact instanceof Contact ? contact : new Contact(contact)),
      (valid) => update ? this.book.update(valid) : this.book.add(valid)
    ))
  }

  /** Removes the contact, closes its link and drops what was still queued for it. */
  removeContact(contact: string): Promise<void> {
    return this.run(this.runtime.removeContact(contact as Uid))
  }

  contacts(): Promise<ReadonlyArray<Contact>> {
    return this.run(this.book.list)
  }

  /** Round-trip time in milliseconds of one ping on the contact's link. */
  ping(contact: string): Promise<number> {
    return this.run(this.runtime.ping(contact as Uid))
  }

  health(contact: string): Promise<LinkHealth> {
    return this.run(this.runtime.health(contact as Uid))
  }

  healthAll(): Promise<ReadonlyArray<LinkHealth>> {
    return this.run(this.runtime.healthAll)
  }

  /** Dials the contact now instead of waiting for its next retry. */
  connectNow(contact: string): Promise<void> {
    return this.run(this.runtime.connectNow(contact as Uid))
  }

  typing(contact: string, active: boolean): Promise<void> {
    if (typeof active !== "boolean") return Promise.reject(new InvalidInput({ detail: "active is a boolean" }))
    return this.run(this.runtime.typing(contact as Uid, active))
  }

  sendReadReceipts(contact: string, ids: ReadonlyArray<string>): Promise<void> {
    return this.run(Effect.flatMap(
      Effect.mapError(
        decodeIds(ids),
        () => new InvalidInput({ detail: "message ids are 1-64 characters of [A-Za-z0-9._:-]" })
      ),
      (valid) => this.runtime.sendReadReceipts(contact as Uid, valid)
    ))
  }

  /**
   * Stops the node: links say goodbye, listeners hear the last events, the store closes. Every
   * call resolves when that is done.
   */
  close(): Promise<void> {
    return this.closing ??= this.managed.dispose()
  }

  /** @internal */
  protected run<A, E>(effect: Effect.Effect<A, E, Services>): Promise<A> {
    if (this.closing !== undefined) return Promise.reject(new NodeClosed())
    return this.managed.runPromiseExit(effect).then(valueOf)
  }
}

/**
 * A node over a data directory's store (`openDataDir`): everything `JarvisNode` does, and its
 * history, unread counts and outbox, as the daemon's `messages.*` and `outbox.*` methods offer.
 *
 * @since 2.1.0
 * @category models
 */
export class DurableJarvisNode extends JarvisNode {
  /** @internal */
  constructor(
    managed: ManagedRuntime.ManagedRuntime<Services | History, unknown>,
    runtime: RuntimeShape,
    book: ContactBookShape,
    identity: UnlockedIdentity,
    settings: RuntimeSettings,
    private readonly store: HistoryShape
  ) {
    super(managed, runtime, book, identity, settings)
  }

  /** The `limit` (1–1000, default 50) messages with `contact` before the cursor `before`, oldest first. */
  history(
    contact: string,
    options: { readonly limit?: number | undefined; readonly before?: number | undefined } = {}
  ): Promise<{ readonly messages: ReadonlyArray<HistoryEntry>; readonly next: number | undefined }> {
    const limit = options.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return Promise.reject(new InvalidInput({ detail: "limit is a whole number from 1 to 1000" }))
    }
    if (options.before !== undefined && !Number.isInteger(options.before)) {
      return Promise.reject(new InvalidInput({ detail: "before is a cursor from an earlier page" }))
    }
    return this.run(this.store.page(contact as Uid, { limit, before: options.before }))
  }

  unread(): Promise<UnreadCounts> {
    return this.run(this.store.unread)
  }

  /** Marks what `contact` sent as read (telling them, with `settings.readReceipts`); how many. */
  markRead(contact: string): Promise<number> {
    const receipts = this.settings.readReceipts === true
    return this.run(Effect.gen(this, function*() {
      const ids = yield* this.store.markRead(contact as Uid)
      if (receipts && ids.length > 0) yield* this.runtime.sendReadReceipts(contact as Uid, ids)
      return ids.length
    }))
  }

  /** Messages still waiting for their contact's acknowledgement (for `contact`, or all). */
  pending(contact?: string): Promise<ReadonlyArray<PendingMessage>> {
    return this.run(this.store.pending(contact as Uid | undefined))
  }

  /** Cancels a message that has not been sent yet; false if it is unknown or already on the wire. */
  cancel(id: string): Promise<boolean> {
    return this.run(this.store.cancel(id as MessageId))
  }

  /** Removes the contact, closes its link, and drops its queue and its history. */
  override removeContact(contact: string): Promise<void> {
    return this.run(Effect.zipRight(this.runtime.removeContact(contact as Uid), this.store.forget(contact as Uid)))
  }
}

/** Logfmt lines on stderr (stdout belongs to the application), from `level` up. */
const logging = (level: LogLevel.Literal = "Warning") =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
    Logger.minimumLogLevel(LogLevel.fromLiteral(level))
  )

const settingsOf = (input: SettingsInput | undefined): Partial<RuntimeSettings> => {
  try {
    return fromInput(input ?? {})
  } catch (error) {
    throw new InvalidInput({ detail: `settings: ${error instanceof Error ? error.message : String(error)}` })
  }
}

const build = async <R, E, N>(
  layer: Layer.Layer<R, E>,
  logLevel: LogLevel.Literal | undefined,
  make: (managed: ManagedRuntime.ManagedRuntime<R, unknown>) => Effect.Effect<N, never, R>
): Promise<N> => {
  const managed: ManagedRuntime.ManagedRuntime<R, unknown> = ManagedRuntime.make(
    Layer.provide(layer, logging(logLevel))
  )
  const exit = await managed.runPromiseExit(make(managed))
  if (Exit.isFailure(exit)) {
    await managed.dispose()
    throw Cause.squash(exit.cause)
  }
  return exit.value
}

/**
 * Starts a node in memory: contacts from `contacts` or added later, nothing kept after `close`.
 *
 * @since 2.1.0
 * @category constructors
 */
export const start = async (options: StartOptions = {}): Promise<JarvisNode> => {
  const settings = settingsOf(options.settings)
  const identity = options.identity !== undefined
    ? Effect.succeed(options.identity)
    : Identity.generate({ username: options.username ?? "jarvis", listenPort: settings.listenPort ?? DEFAULT_PORT })
  return build(
    Layer.unwrapEffect(Effect.map(identity, (identity) => Embedded.layer({ ...options, identity, settings }))),
    options.logLevel,
    (managed) =>
      Effect.map(
        Effect.all([Runtime, ContactBook, LocalIdentity]),
        ([runtime, book, identity]) => new JarvisNode(managed, runtime, book, identity, { ...defaults, ...settings })
      )
  )
}

/**
 * Opens the data directory a `jarvis init` created (its lock, identity and encrypted store) and
 * runs its node; fails with `AlreadyRunning` while a daemon uses it.
 *
 * @since 2.1.0
 * @category constructors
 */
export const openDataDir = async (options: OpenOptions): Promise<DurableJarvisNode> => {
  const settings = settingsOf(options.settings)
  return build<Services | History, unknown, DurableJarvisNode>(
    Embedded.layerDataDir({ ...options, settings }),
    options.logLevel,
    (managed) =>
      Effect.map(
        Effect.all([Runtime, ContactBook, LocalIdentity, History]),
        ([runtime, book, identity, store]) =>
          new DurableJarvisNode(managed, runtime, book, identity, { ...defaults, ...settings }, store)
      )
  )
}
