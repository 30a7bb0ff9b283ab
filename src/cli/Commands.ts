/**
 * The `jarvis` commands. Each talks to the daemon through the typed IPC client (never to the
 * data files while a daemon runs), prints human text or `--json`, and fails with typed errors that
 * bin.ts turns into documented exit codes.
 *
 * @since 2.0.0
 */
import { Args, Command, Options, Prompt } from "@effect/cli"
import { Clock, Console, Effect, Option, Redacted, Schema, Stream } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Paths from "../daemon/Paths.js"
import type { ContactView } from "../domain/Api.js"
import { InvalidInput } from "../domain/Errors.js"
import type { EventEnvelope, LinkHealth } from "../domain/Events.js"
import type { HistoryEntry } from "../domain/History.js"
import { MessageId } from "../domain/Ids.js"
import { formatFingerprint } from "../domain/Keys.js"
import * as ApiSchema from "../protocol/ApiSchema.js"
import type { JarvisClient } from "../services/JarvisClient.js"
import * as DaemonControl from "./DaemonControl.js"
import { emit, table, time, UsageError } from "./Output.js"
import * as Platform from "./Platform.js"

const home = Options.directory("home").pipe(
  Options.withDescription("data directory (default: $JARVIS_HOME, else the platform's data directory)"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("print machine-readable JSON"))

/**
 * @since 2.0.0
 * @category commands
 */
export const jarvis = Command.make("jarvis", { home, json }).pipe(
  Command.withDescription("Jarvis: a peer-to-peer, end-to-end-encrypted messenger")
)

const context = Effect.map(jarvis, ({ home, json }) => ({
  dataDir: Option.getOrElse(home, () => Paths.defaultDataDir()),
  json
}))

type Client = JarvisClient["Type"]

const withClient = <A, E, R>(f: (client: Client, json: boolean) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    context,
    ({ dataDir, json }) => Effect.scoped(Effect.flatMap(DaemonControl.connect(dataDir), (client) => f(client, json)))
  )

/** uid → username, for human output. */
const contactNames = (client: Client) =>
  Effect.map(client.contacts.list(), (all) => new Map(all.map((c) => [c.uid as string, c.username])))

const contactArg = Args.text({ name: "contact" }).pipe(
  Args.withDescription("a username, a uid, or a unique uid prefix")
)

const passwordFile = Options.file("password-file").pipe(
  Options.withDescription("read the password from this file (automation); JARVIS_PASSWORD also works"),
  Options.optional
)

const readPassword = (file: Option.Option<string>, message: string, confirm = false, variable = "JARVIS_PASSWORD") =>
  Effect.gen(function*() {
    if (Option.isSome(file)) return Fs.readFileSync(file.value, "utf8").replace(/\r?\n$/, "")
    const fromEnv = process.env[variable]
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv
    if (!process.stdin.isTTY) {
      return yield* new UsageError({ message: `No password: use a password file, ${variable}, or a terminal` })
    }
    const first = Redacted.value(yield* Prompt.password({ message }))
    if (confirm) {
      const again = Redacted.value(yield* Prompt.password({ message: "Repeat the password" }))
      if (again !== first) return yield* new UsageError({ message: "The passwords differ" })
    }
    return first
  })

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "30s", "10m", "2h", "7d" (or "90", seconds) as milliseconds. */
const parseDuration = (text: string) => {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text)
  return match === null
    ? Effect.fail(new UsageError({ message: `Not a duration: ${text} (try 30s, 10m, 2h or 7d)` }))
    : Effect.succeed(Number(match[1]) * units[match[2] === "" ? "s" : match[2]!]!)
}

const readStdin = Effect.promise(async () => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
})

const statusGlyph = (state: LinkHealth["state"] | undefined) => (state === "connected" ? "●" : "○")

const describeContact = (c: ContactView) =>
  [
    `${c.username}  (${c.uid})`,
    `  fingerprint  ${formatFingerprint(c.fingerprint)}${c.verified ? "  ✓ verified" : "  (not verified)"}`,
    `  address      ${c.host}:${c.port}${c.legacy ? "  legacy v1" : ""}${c.signed ? "" : "  (unsigned code)"}`,
    `  link         ${c.link?.state ?? "-"}${c.link?.rttMs === undefined ? "" : `, rtt ${c.link.rttMs} ms`}${
      c.link?.lastError === undefined || c.link.state === "connected" ? "" : `, last error: ${c.link.lastError}`
    }`,
    ...(c.notes === "" ? [] : [`  notes        ${c.notes}`])
  ].join("\n")

const statusMark: Record<HistoryEntry["status"], string> = {
  queued: "…",
  delivered: "✓",
  read: "✓✓",
  cancelled: "✗",
  expired: "✗",
  received: ""
}

// daemon ---------------------------------------------------------------------------------------

// The daemon and the identity store are loaded only by the commands that need them, so the
// other commands start without loading SQLite, libsodium or Argon2.
const loadServe = Effect.promise(() => import("../daemon/Serve.js"))
const loadIdentity = Effect.promise(() => import("../services/Identity.js"))
const loadRuntimeConfig = Effect.promise(() => import("../services/RuntimeConfig.js"))

const daemonRun = Command.make("run", {
  quiet: Options.boolean("quiet").pipe(Options.withDescription("log only to the file"))
}, ({ quiet }) =>
  Effect.gen(function*() {
    const { dataDir } = yield* context
    const Serve = yield* loadServe
    const { RuntimeConfig } = yield* loadRuntimeConfig
    yield* Serve.serve({ dataDir, logToStderr: !quiet }).pipe(Effect.provide(RuntimeConfig.layer))
  })).pipe(
    Command.withDescription("run the daemon in the foreground (systemd, tests)")
  )

const daemonStart = Command.make("start", {}, () =>
  Effect.gen(function*() {
    const { dataDir, json } = yield* context
    if (yield* DaemonControl.isRunning(dataDir)) {
      return yield* emit(json, { started: false, running: true }, () => "The daemon is already running")
    }
    const pid = yield* DaemonControl.start(dataDir)
    yield* emit(json, { started: true, pid, log: Paths.make(dataDir).logFile }, () =>
      `Daemon started (pid ${pid}); log: ${Paths.make(dataDir).logFile}`)
  })).pipe(Command.withDescription("start the daemon in the background"))

const daemonStop = Command.make("stop", {}, () =>
  Effect.gen(function*() {
    const { dataDir, json } = yield* context
    yield* DaemonControl.stop(dataDir)
    yield* emit(json, { stopped: true }, () => "Daemon stopped")
  })).pipe(Command.withDescription("stop the daemon (peers are told goodbye, the store is flushed)"))

const daemonStatus = Command.make(
  "status",
  {},
  () =>
    withClient((client, json) =>
      Effect.flatMap(client.daemon.status(), (s) =>
        emit(json, s, () =>
          table([
            ["state", s.state],
            ["pid", String(s.pid)],
            ["version", s.version],
            ["data", s.dataDir],
            ["since", time(s.startedAt)],
            ...(s.profile === undefined ? [] : [["identity", `${s.profile.username} (${s.profile.uid})`]]),
            ...(s.listen === undefined ? [] : [["listening", `${s.listen.host}:${s.listen.port}`]])
          ])))
    )
).pipe(Command.withDescription("show the daemon's state"))

const daemon = Command.make("daemon").pipe(
  Command.withDescription("start, stop or inspect the background daemon"),
  Command.withSubcommands([daemonStart, daemonRun, daemonStop, daemonStatus])
)

// identity -------------------------------------------------------------------------------------

const init = Command.make("init", {
  username: Options.text("username").pipe(Options.withDescription("your display name"), Options.optional),
  port: Options.integer("port").pipe(Options.withDescription("TCP port peers reach you on"), Options.withDefault(5000)),
  passwordFile
}, ({ passwordFile, port, username }) =>
  Effect.gen(function*() {
    const { dataDir, json } = yield* context
    const name = Option.isSome(username)
      ? username.value
      : process.stdin.isTTY
      ? yield* Prompt.text({ message: "Your name" })
      : yield* new UsageError({ message: "Give --username" })
    const password = yield* readPassword(passwordFile, "Choose a password (it cannot be recovered)", true)
    const profile = (yield* DaemonControl.isRunning(dataDir))
      ? yield* Effect.scoped(Effect.flatMap(DaemonControl.connect(dataDir), (client) =>
        client.identity.create({ username: name, password, listenPort: port })))
      : yield* Effect.gen(function*() {
        const Identity = yield* loadIdentity
        const store = yield* Identity.make(dataDir)
        const created = yield* store.create({ username: name, password, listenPort: port })
        return Identity.profileView(created.profile)
      }).pipe(Effect.provide(Platform.layer))
    yield* emit(json, profile, () =>
      [
        `Created ${profile.username} (${profile.uid})`,
        `Fingerprint ${formatFingerprint(profile.fingerprint)}`,
        "Next: jarvis daemon start && jarvis unlock"
      ].join("\n"))
  })).pipe(Command.withDescription("create your identity"))

const unlock = Command.make(
  "unlock",
  { passwordFile },
  ({ passwordFile }) =>
    withClient((client, json) =>
      Effect.gen(function*() {
        const password = yield* readPassword(passwordFile, "Password")
        const profile = yield* client.identity.unlock({ password })
        yield* emit(json, profile, () => `Unlocked ${profile.username}; connecting to your contacts`)
      })
    )
).pipe(Command.withDescription("unlock your identity: start listening and dial every contact"))

const passwd = Command.make(
  "passwd",
  {
    passwordFile,
    newPasswordFile: Options.file("new-password-file").pipe(
      Options.withDescription("read the new password from this file; JARVIS_NEW_PASSWORD also works"),
      Options.optional
    )
  },
  ({ newPasswordFile, passwordFile }) =>
    withClient((client, json) =>
      Effect.gen(function*() {
        const oldPassword = yield* readPassword(passwordFile, "Current password")
        const newPassword = yield* readPassword(newPasswordFile, "New password", true, "JARVIS_NEW_PASSWORD")
        yield* client.identity.changePassword({ oldPassword, newPassword })
        yield* emit(json, { changed: true }, () => "Password changed")
      })
    )
).pipe(Command.withDescription("change the password that protects your identity"))

const lock = Command.make(
  "lock",
  {},
  () =>
    withClient((client, json) => Effect.zipRight(client.identity.lock(), emit(json, { locked: true }, () => "Locked")))
).pipe(
  Command.withDescription("stop networking and forget the keys")
)

const whoami = Command.make(
  "whoami",
  {},
  () =>
    withClient((client, json) =>
      Effect.flatMap(client.identity.show(), (p) =>
        emit(json, p, () =>
          table([
            ["username", p.username],
            ["uid", p.uid],
            ["fingerprint", formatFingerprint(p.fingerprint)],
            ["listen port", String(p.listenPort)],
            ["created", p.createdAt]
          ])))
    )
).pipe(Command.withDescription("show your identity"))

const link = Command.make("link", {
  host: Options.text("host").pipe(
    Options.withDescription("address peers should dial (default: a LAN address)"),
    Options.optional
  ),
  port: Options.integer("port").pipe(Options.optional),
  card: Options.boolean("card").pipe(Options.withDescription("write a .jcard file instead of printing a link code")),
  out: Options.text("out").pipe(Options.withDescription("where to write the card"), Options.optional)
}, ({ card, host, out, port }) =>
  withClient((client, json) =>
    Effect.gen(function*() {
      const where = { host: Option.getOrUndefined(host), port: Option.getOrUndefined(port) }
      if (!card) {
        const { code } = yield* client.identity.linkCode(where)
        return yield* emit(json, { code }, () => code)
      }
      const { contents, fileName } = yield* client.identity.card(where)
      const file = Option.getOrElse(out, () => Path.join(process.cwd(), fileName))
      yield* Effect.sync(() => Fs.writeFileSync(file, contents, { mode: 0o644 }))
      yield* emit(json, { file }, () => `Wrote ${file}`)
    })
  )).pipe(Command.withDescription("print your link code (or write a .jcard) to give to a friend"))

// contacts -------------------------------------------------------------------------------------

const contactsAdd = Command.make("add", {
  code: Args.text({ name: "code-or-file" }).pipe(
    Args.withDescription("a jarvis:// link code, a .jcard file, or - for stdin"),
    Args.optional
  ),
  uid: Options.text("uid").pipe(Options.optional),
  username: Options.text("username").pipe(Options.optional),
  key: Options.text("key").pipe(Options.withDescription("base64 public key"), Options.optional),
  host: Options.text("host").pipe(Options.optional),
  port: Options.integer("port").pipe(Options.optional),
  legacy: Options.boolean("legacy").pipe(
    Options.withDescription("the contact runs the original Jarvis 1.x (v1 protocol)")
  ),
  verified: Options.boolean("verified").pipe(Options.withDescription("you compared fingerprints already")),
  notes: Options.text("notes").pipe(Options.optional)
}, (o) =>
  withClient((client, json) =>
    Effect.gen(function*() {
      let code: string | undefined
      if (Option.isSome(o.code)) {
        const given = o.code.value
        code = given === "-"
          ? yield* readStdin
          : !given.startsWith("jarvis://") && Fs.existsSync(given)
          ? Fs.readFileSync(given, "utf8")
          : given
      }
      const fields = Option.all({ uid: o.uid, username: o.username, publicKey: o.key, host: o.host, port: o.port })
      const added = yield* client.contacts.add({
        ...(code === undefined ? {} : { code: code.trim() }),
        ...(Option.isSome(fields) ? { fields: fields.value as never } : {}),
        legacy: o.legacy,
        verified: o.verified,
        ...(Option.isSome(o.notes) ? { notes: o.notes.value } : {})
      })
      yield* emit(json, added, () =>
        [
          `Added ${added.username} (${added.uid})`,
          `Fingerprint ${formatFingerprint(added.fingerprint)}`,
          added.signed ? "The code was signed by this key." : "The code was not signed (an original Jarvis code).",
          "Compare the fingerprint with your friend, then: jarvis contacts verify " + added.username
        ].join("\n"))
    })
  )).pipe(Command.withDescription("add a contact from a link code, a .jcard, or fields"))

const contactsList = Command.make(
  "list",
  {},
  () =>
    withClient((client, json) =>
      Effect.flatMap(client.contacts.list(), (all) =>
        emit(json, all, () =>
          all.length === 0
            ? "No contacts yet: jarvis contacts add <link code>"
            : table([
              ["", "NAME", "UID", "ADDRESS", "VERIFIED", "LINK"],
              ...all.map((c) => [
                statusGlyph(c.link?.state),
                c.username,
                c.uid.slice(0, 8),
                `${c.host}:${c.port}${c.legacy ? " (v1)" : ""}`,
                c.verified ? "yes" : "no",
                c.link?.state ?? "-"
              ])
            ])))
    )
).pipe(Command.withDescription("list your contacts"))

const contactsShow = Command.make(
  "show",
  { contact: contactArg },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.flatMap(client.contacts.show({ contact }), (c) => emit(json, c, () => describeContact(c)))
    )
).pipe(Command.withDescription("show one contact"))

const contactsRemove = Command.make(
  "remove",
  { contact: contactArg },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.zipRight(client.contacts.remove({ contact }), emit(json, { removed: contact }, () => `Removed ${contact}`))
    )
).pipe(Command.withDescription("remove a contact, its queue and its history"))

const contactsVerify = Command.make(
  "verify",
  {
    contact: contactArg,
    fingerprint: Options.text("fingerprint").pipe(
      Options.withDescription("the fingerprint your friend read you"),
      Options.optional
    )
  },
  ({ contact, fingerprint }) =>
    withClient((client, json) =>
      Effect.flatMap(
        client.contacts.verify({ contact, fingerprint: Option.getOrUndefined(fingerprint) }),
        (c) => emit(json, c, () => `${c.username} is verified (${formatFingerprint(c.fingerprint)})`)
      )
    )
).pipe(Command.withDescription("mark a contact verified after comparing fingerprints"))

const contacts = Command.make("contacts").pipe(
  Command.withDescription("manage contacts"),
  Command.withSubcommands([contactsAdd, contactsList, contactsShow, contactsRemove, contactsVerify])
)

// messages -------------------------------------------------------------------------------------

const send = Command.make("send", {
  contact: contactArg,
  text: Args.text({ name: "text" }).pipe(
    Args.withDescription("the message, or - (or nothing) to read stdin"),
    Args.optional
  ),
  id: Options.text("id").pipe(
    Options.withDescription("your own message id: sending it again is a no-op"),
    Options.optional
  ),
  expires: Options.text("expires").pipe(
    Options.withDescription("drop the message if it is still queued after this long (e.g. 30s, 10m, 2h, 7d)"),
    Options.optional
  )
}, ({ contact, expires, id, text }) =>
  withClient((client, json) =>
    Effect.gen(function*() {
      const body = Option.isNone(text) || text.value === "-" ? (yield* readStdin).replace(/\n$/, "") : text.value
      if (body.length === 0) return yield* new UsageError({ message: "Nothing to send" })
      const messageId = Option.isNone(id) ? undefined : yield* Schema.decodeUnknown(MessageId)(id.value).pipe(
        Effect.mapError(() => new InvalidInput({ detail: "a message id is 1-64 characters of [A-Za-z0-9._:-]" }))
      )
      const expiresAt = Option.isNone(expires)
        ? undefined
        : (yield* Clock.currentTimeMillis) + (yield* parseDuration(expires.value))
      const sent = yield* client.messages.send({ contact, body, id: messageId, expiresAt })
      yield* emit(json, sent, () => `Queued ${sent.id} for ${contact}`)
    })
  )).pipe(Command.withDescription("send a message (queued until delivered)"))

const history = Command.make("history", {
  contact: contactArg,
  limit: Options.integer("limit").pipe(Options.withDefault(50)),
  before: Options.integer("before").pipe(Options.withDescription("page back from this cursor"), Options.optional)
}, ({ before, contact, limit }) =>
  withClient((client, json) =>
    Effect.gen(function*() {
      const page = yield* client.messages.history({ contact, limit, before: Option.getOrUndefined(before) })
      if (json) return yield* emit(json, page, () => "")
      // Names only for human output.
      const [me, them] = yield* Effect.all([client.identity.show(), client.contacts.show({ contact })], {
        concurrency: 2
      }).pipe(Effect.map(([self, other]) => [self.username, other.username] as const))
      yield* emit(json, page, () =>
        [
          ...page.messages.map((m) =>
            `[${time(m.sentAt)}] ${m.direction === "out" ? me : them}: ${m.body}${
              statusMark[m.status] === "" ? "" : `  ${statusMark[m.status]}`
            }`
          ),
          ...(page.next === undefined ? [] : [`(older: --before ${page.next})`])
        ].join("\n"))
    })
  )).pipe(Command.withDescription("show the conversation with a contact"))

const read = Command.make(
  "read",
  { contact: contactArg },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.flatMap(client.messages.markRead({ contact }), (r) => emit(json, r, () => `Marked ${r.marked} read`))
    )
).pipe(Command.withDescription("mark a contact's messages read"))

const status = Command.make("status", {}, () =>
  withClient((client, json) =>
    Effect.gen(function*() {
      const daemonStatus = yield* client.daemon.status()
      const links = yield* client.links.status()
      const unread = daemonStatus.state === "unlocked" ? yield* client.messages.unread() : { total: 0, byContact: {} }
      const names = daemonStatus.state === "unlocked" && !json
        ? yield* contactNames(client)
        : new Map<string, string>()
      yield* emit(json, { daemon: daemonStatus, links, unread }, () =>
        [
          `daemon     ${daemonStatus.state}${
            daemonStatus.profile === undefined ? "" : ` as ${daemonStatus.profile.username}`
          }`,
          `links      ${links.summary} (${links.connected}/${links.total} connected)`,
          `unread     ${unread.total}`,
          ...(links.links.length === 0 ? [] : [
            "",
            table([
              ["", "CONTACT", "STATE", "RTT", "QUEUED", "UNREAD", "DETAIL"],
              ...links.links.map((l) => [
                statusGlyph(l.state),
                names.get(l.contact) ?? l.contact.slice(0, 8),
                l.state,
                l.rttMs === undefined ? "-" : `${l.rttMs} ms`,
                String(l.queueDepth),
                String(unread.byContact[l.contact] ?? 0),
                l.state === "backoff" && l.nextRetryAt !== undefined
                  ? `retry ${l.retryCount} at ${time(l.nextRetryAt)}: ${l.lastError ?? ""}`
                  : l.state === "connected"
                  ? `${l.protocol ?? ""} ${l.direction ?? ""} ${l.remoteAddress ?? ""}`
                  : l.lastError ?? ""
              ])
            ])
          ])
        ].join("\n"))
    })
  )).pipe(Command.withDescription("daemon state, links and unread messages"))

const describeEvent = (e: EventEnvelope, names: Map<string, string>) => {
  const ev = e.event
  const who = (uid: string | undefined) => (uid === undefined ? "?" : names.get(uid) ?? uid.slice(0, 8))
  switch (ev._tag) {
    case "MessageReceived":
      return `[${time(ev.receivedAt)}] ${who(ev.contact)}: ${ev.body}`
    case "ReceiptReceived":
      return `[${time(ev.at)}] ${who(ev.contact)} ${ev.kind} ${ev.ids.length} message(s)`
    case "LinkStateChanged":
      return `[${time(ev.at)}] ${who(ev.contact)}: ${ev.previous} → ${ev.state}${
        ev.detail === undefined ? "" : ` (${ev.detail})`
      }`
    case "TypingChanged":
      return `[${time(ev.at)}] ${who(ev.contact)} ${ev.active ? "is typing…" : "stopped typing"}`
    case "LinkError":
      return `[${time(ev.at)}] ${who(ev.contact)}: ${ev.error}`
    case "MessageExpired":
      return `[${time(ev.at)}] ${ev.ids.length} message(s) to ${who(ev.contact)} expired unsent`
  }
}

const watch = Command.make("watch", {
  from: Options.integer("from").pipe(Options.withDescription("replay events after this cursor first"), Options.optional)
}, ({ from }) =>
  withClient((client, json) =>
    Effect.gen(function*() {
      const names = json ? new Map<string, string>() : yield* contactNames(client)
      yield* client.events.subscribe({ from: Option.getOrUndefined(from) }).pipe(
        Stream.runForEach((e) => (json ? Console.log(JSON.stringify(e)) : Console.log(describeEvent(e, names))))
      )
    })
  )).pipe(Command.withDescription("print events as they happen (messages, receipts, links)"))

const outboxList = Command.make(
  "list",
  { contact: contactArg.pipe(Args.optional) },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.gen(function*() {
        const pending = yield* client.outbox.list({ contact: Option.getOrUndefined(contact) })
        const names = json ? new Map<string, string>() : yield* contactNames(client)
        yield* emit(json, pending, () =>
          pending.length === 0 ? "Nothing waiting" : table([
            ["ID", "CONTACT", "STATE", "ATTEMPTS", "QUEUED", "NEXT RETRY"],
            ...pending.map((m) => [
              m.id,
              names.get(m.contact) ?? m.contact.slice(0, 8),
              m.state,
              String(m.attempts),
              time(m.queuedAt),
              time(m.nextRetryAt)
            ])
          ]))
      })
    )
).pipe(Command.withDescription("messages waiting for delivery"))

const outboxCancel = Command.make(
  "cancel",
  { id: Args.text({ name: "id" }) },
  ({ id }) =>
    withClient((client, json) =>
      Effect.flatMap(
        Effect.flatMap(
          Schema.decodeUnknown(MessageId)(id).pipe(
            Effect.mapError(() => new InvalidInput({ detail: `not a message id: ${id}` }))
          ),
          (messageId) => client.outbox.cancel({ id: messageId })
        ),
        (r) => emit(json, r, () => (r.cancelled ? `Cancelled ${id}` : `${id} is not waiting (already sent or unknown)`))
      )
    )
).pipe(Command.withDescription("cancel a message that has not been sent yet"))

const outbox = Command.make("outbox").pipe(
  Command.withDescription("inspect or cancel queued messages"),
  Command.withSubcommands([outboxList, outboxCancel])
)

const ping = Command.make(
  "ping",
  { contact: contactArg },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.flatMap(client.links.ping({ contact }), (r) => emit(json, r, () => `${contact}: ${r.rttMs} ms`))
    )
).pipe(Command.withDescription("measure the round trip to a contact"))

const connect = Command.make(
  "connect",
  { contact: contactArg },
  ({ contact }) =>
    withClient((client, json) =>
      Effect.zipRight(client.links.connect({ contact }), emit(json, { dialing: contact }, () => `Dialling ${contact}`))
    )
).pipe(Command.withDescription("dial a contact now instead of waiting for the next retry"))

const apiSchema = Command.make(
  "schema",
  {},
  () =>
    Effect.flatMap(context, ({ json }) => Console.log(JSON.stringify(ApiSchema.openRpc(), null, json ? undefined : 2)))
).pipe(
  Command.withDescription("print the IPC API as an OpenRPC document (methods, params, results, errors)")
)

const api = Command.make("api").pipe(
  Command.withDescription("describe the IPC API"),
  Command.withSubcommands([apiSchema])
)

/**
 * @since 2.0.0
 * @category commands
 */
export const command = jarvis.pipe(
  Command.withSubcommands([
    init,
    daemon,
    unlock,
    lock,
    passwd,
    whoami,
    link,
    contacts,
    send,
    history,
    read,
    status,
    watch,
    outbox,
    ping,
    connect,
    api
  ])
)

/**
 * @since 2.0.0
 * @category running
 */
export const run = Command.run(command, { name: "jarvis", version: ApiSchema.VERSION })
