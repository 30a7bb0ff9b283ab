/**
 * Every tunable of the runtime in one place, read from `JARVIS_*` environment variables through
 * Effect Config, with the documented defaults below.
 *
 * @since 2.0.0
 */
import { Config, Context, Duration, Layer } from "effect"

/**
 * @since 2.0.0
 * @category models
 */
export interface RuntimeSettings {
  /** Address the listener binds (`JARVIS_BIND`, default 0.0.0.0). */
  readonly bindAddress: string
  /** Overrides the identity's listen port (`JARVIS_PORT`; 0 picks a free port). */
  readonly listenPort: number | undefined
  /** TCP connect timeout (`JARVIS_CONNECT_TIMEOUT`, 10 s). */
  readonly connectTimeout: Duration.Duration
  /** Whole-handshake timeout, both directions (`JARVIS_HANDSHAKE_TIMEOUT`, 10 s). */
  readonly handshakeTimeout: Duration.Duration
  /** Keepalive ping interval (`JARVIS_PING_INTERVAL`, 15 s). */
  readonly pingInterval: Duration.Duration
  /** A link with no traffic for this long is closed (`JARVIS_DEAD_AFTER`, 45 s). */
  readonly deadAfter: Duration.Duration
  /** First reconnection delay (`JARVIS_BACKOFF_INITIAL`, 1 s). */
  readonly backoffInitial: Duration.Duration
  /** Growth factor of the reconnection delay (`JARVIS_BACKOFF_FACTOR`, 2). */
  readonly backoffFactor: number
  /** Cap of the reconnection delay (`JARVIS_BACKOFF_MAX`, 60 s). */
  readonly backoffMax: Duration.Duration
  /**
   * Two links to one contact established within this window are a simultaneous dial and the one
   * dialled by the smaller key wins; later, the newer link replaces the older (`JARVIS_DUPLICATE_WINDOW`, 3 s).
   */
  readonly duplicateWindow: Duration.Duration
  /** Outgoing messages held per contact before `MailboxFull` (`JARVIS_MAILBOX_CAPACITY`, 10000). */
  readonly mailboxCapacity: number
  /** Largest application message accepted from a peer (`JARVIS_MAX_MESSAGE_BYTES`, 1 MiB). */
  readonly maxMessageBytes: number
  /** Time-based rekey of a long-lived link (`JARVIS_REKEY_INTERVAL`, 10 minutes). */
  readonly rekeyInterval: Duration.Duration
  /** Inbound handshakes in progress at once; more are closed at once (`JARVIS_MAX_PENDING_HANDSHAKES`, 64). */
  readonly maxPendingHandshakes: number
  /** Most messages taken from the outbox per write (1024). */
  readonly sendBatch: number
  /** Tell contacts when you have read their messages (`JARVIS_READ_RECEIPTS`, off). */
  readonly readReceipts: boolean
  /** Host put in your link codes and cards unless given (`JARVIS_ADVERTISE_HOST`; default: a LAN address). */
  readonly advertiseHost: string | undefined
}

/**
 * @since 2.0.0
 * @category constants
 */
export const defaults: RuntimeSettings = {
  bindAddress: "0.0.0.0",
  listenPort: undefined,
  connectTimeout: Duration.seconds(10),
  handshakeTimeout: Duration.seconds(10),
  pingInterval: Duration.seconds(15),
  deadAfter: Duration.seconds(45),
  backoffInitial: Duration.seconds(1),
  backoffFactor: 2,
  backoffMax: Duration.seconds(60),
  duplicateWindow: Duration.seconds(3),
  mailboxCapacity: 10_000,
  maxMessageBytes: 1024 * 1024,
  rekeyInterval: Duration.minutes(10),
  maxPendingHandshakes: 64,
  sendBatch: 1024,
  readReceipts: false,
  advertiseHost: undefined
}

const settings: Config.Config<RuntimeSettings> = Config.nested(
  Config.all({
    bindAddress: Config.string("BIND").pipe(Config.withDefault(defaults.bindAddress)),
    listenPort: Config.port("PORT").pipe(Config.option, Config.map((o) => (o._tag === "Some" ? o.value : undefined))),
    connectTimeout: Config.duration("CONNECT_TIMEOUT").pipe(Config.withDefault(defaults.connectTimeout)),
    handshakeTimeout: Config.duration("HANDSHAKE_TIMEOUT").pipe(Config.withDefault(defaults.handshakeTimeout)),
    pingInterval: Config.duration("PING_INTERVAL").pipe(Config.withDefault(defaults.pingInterval)),
    deadAfter: Config.duration("DEAD_AFTER").pipe(Config.withDefault(defaults.deadAfter)),
    backoffInitial: Config.duration("BACKOFF_INITIAL").pipe(Config.withDefault(defaults.backoffInitial)),
    backoffFactor: Config.number("BACKOFF_FACTOR").pipe(Config.withDefault(defaults.backoffFactor)),
    backoffMax: Config.duration("BACKOFF_MAX").pipe(Config.withDefault(defaults.backoffMax)),
    duplicateWindow: Config.duration("DUPLICATE_WINDOW").pipe(Config.withDefault(defaults.duplicateWindow)),
    mailboxCapacity: Config.integer("MAILBOX_CAPACITY").pipe(Config.withDefault(defaults.mailboxCapacity)),
    maxMessageBytes: Config.integer("MAX_MESSAGE_BYTES").pipe(Config.withDefault(defaults.maxMessageBytes)),
    rekeyInterval: Config.duration("REKEY_INTERVAL").pipe(Config.withDefault(defaults.rekeyInterval)),
    maxPendingHandshakes: Config.integer("MAX_PENDING_HANDSHAKES").pipe(
      Config.withDefault(defaults.maxPendingHandshakes)
    ),
    sendBatch: Config.integer("SEND_BATCH").pipe(Config.withDefault(defaults.sendBatch)),
    readReceipts: Config.boolean("READ_RECEIPTS").pipe(Config.withDefault(defaults.readReceipts)),
    advertiseHost: Config.string("ADVERTISE_HOST").pipe(
      Config.option,
      Config.map((o) => (o._tag === "Some" ? o.value : undefined))
    )
  }),
  "JARVIS"
)

/**
 * @since 2.0.0
 * @category services
 */
export class RuntimeConfig extends Context.Tag("jarvis/RuntimeConfig")<RuntimeConfig, RuntimeSettings>() {
  /** From the environment (`JARVIS_*`), falling back to {@link defaults}. */
  static readonly layer = Layer.effect(RuntimeConfig, settings)
  /** Defaults with some values replaced (tests, embedding). */
  static readonly layerWith = (overrides: Partial<RuntimeSettings>) =>
    Layer.succeed(RuntimeConfig, { ...defaults, ...overrides })
}

/**
 * Settings as code without Effect writes them: every duration as a `Duration.DurationInput`
 * (milliseconds, `"10 seconds"`, …).
 *
 * @since 2.1.0
 * @category models
 */
export type SettingsInput = {
  readonly [K in keyof RuntimeSettings]?: RuntimeSettings[K] extends Duration.Duration ? Duration.DurationInput
    : RuntimeSettings[K]
}

/**
 * Settings from their input form; throws on a duration that is not one.
 *
 * @since 2.1.0
 * @category constructors
 */
export const fromInput = (input: SettingsInput): Partial<RuntimeSettings> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue
    out[key] = Duration.isDuration(defaults[key as keyof RuntimeSettings])
      ? Duration.decode(value as Duration.DurationInput)
      : value
  }
  return out as Partial<RuntimeSettings>
}
