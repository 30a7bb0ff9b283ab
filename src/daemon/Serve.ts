/**
 * `jarvis daemon run`: one daemon for a data directory. It takes the directory's lock, serves the
 * IPC API, starts locked, and stops on `daemon.stop`, SIGINT or SIGTERM — saying goodbye to peers
 * and flushing the store on the way out.
 *
 * @since 2.0.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Config, Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import { defaultRetention } from "../services/EventLog.js"
import * as Identity from "../services/Identity.js"
import { RuntimeConfig } from "../services/RuntimeConfig.js"
import * as Transport from "../services/Transport.js"
import * as DaemonModule from "./Daemon.js"
import * as Handlers from "./Handlers.js"
import type { IpcEndpoint } from "./IpcServer.js"
import * as IpcServer from "./IpcServer.js"
import * as Lock from "./Lock.js"
import * as LogFile from "./LogFile.js"
import * as Paths from "./Paths.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface ServeOptions {
  readonly dataDir: string
  /** Also log to stderr (foreground runs under a terminal or systemd). */
  readonly logToStderr: boolean
  /** Per-client IPC limits (tests shrink them). */
  readonly ipc?: Pick<IpcServer.IpcServerOptions, "maxLine" | "maxBuffered"> | undefined
}

/** Replaces a small runtime file (pid, port, token) atomically, readable by its owner only. */
const writePrivate = (file: string, contents: string) => {
  Fs.writeFileSync(`${file}.tmp`, contents, { mode: 0o600 })
  Fs.chmodSync(`${file}.tmp`, 0o600) // a leftover temp file keeps its old mode through writeFileSync
  Fs.renameSync(`${file}.tmp`, file)
}

/** `JARVIS_EVENTS_MAX_AGE` (e.g. "7 days") and `JARVIS_EVENTS_MAX` bound the replayable event log. */
const retentionConfig = Config.all({
  maxAge: Config.duration("JARVIS_EVENTS_MAX_AGE").pipe(Config.withDefault(defaultRetention.maxAge)),
  maxEvents: Config.integer("JARVIS_EVENTS_MAX").pipe(Config.withDefault(defaultRetention.maxEvents))
})

/**
 * Runs until stopped.
 *
 * @since 2.0.0
 * @category running
 */
export const serve = (options: ServeOptions) =>
  Effect.gen(function*() {
    const paths = Paths.make(options.dataDir)
    yield* Effect.sync(() => {
      Fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 })
      Fs.chmodSync(paths.dataDir, 0o700)
    })
    yield* Lock.acquire(paths.lock)
    yield* Effect.acquireRelease(
      Effect.sync(() => writePrivate(paths.pidFile, `${process.pid}\n`)),
      () => Effect.sync(() => Fs.rmSync(paths.pidFile, { force: true }))
    )
    const endpoint: IpcEndpoint = Paths.ipcTransport() === "tcp"
      ? { _tag: "Tcp", port: 0, token: randomBytes(32).toString("hex") }
      : { _tag: "Unix", path: paths.socket }
    if (endpoint._tag === "Tcp") {
      yield* Effect.acquireRelease(
        Effect.sync(() => writePrivate(paths.token, endpoint.token)),
        () => Effect.sync(() => Fs.rmSync(paths.token, { force: true }))
      )
    }
    const settings = yield* RuntimeConfig
    const retention = yield* retentionConfig

    const daemon = DaemonModule.Daemon
    const app = IpcServer.layer({ ...options.ipc, endpoint }).pipe(
      Layer.provide(Handlers.layer),
      Layer.provideMerge(Layer.scoped(
        daemon,
        DaemonModule.make({
          dataDir: paths.dataDir,
          settings,
          transport: Transport.layerTcp,
          synchronous: process.env.JARVIS_SYNCHRONOUS === "NORMAL" ? "NORMAL" : "FULL",
          filename: process.env.JARVIS_DB === ":memory:" ? ":memory:" : undefined,
          retention
        })
      )),
      Layer.provide(Identity.layer(paths.dataDir)),
      Layer.provide(NodeContext.layer),
      Layer.provide(Layer.succeed(RuntimeConfig, settings))
    )
    const context = yield* Layer.build(app)
    const address = Context.get(context, IpcServer.IpcAddress)
    if (address._tag === "Tcp") {
      yield* Effect.acquireRelease(
        Effect.sync(() => writePrivate(paths.port, `${address.port}\n`)),
        () => Effect.sync(() => Fs.rmSync(paths.port, { force: true }))
      )
    }
    yield* Effect.logInfo(
      `daemon ${DaemonModule.VERSION} ready (pid ${process.pid}) on ${
        address._tag === "Unix" ? address.path : `127.0.0.1:${address.port}`
      }`
    )
    yield* Context.get(context, daemon).stopped
    yield* Effect.logInfo("stopping")
  }).pipe(
    Effect.scoped,
    Effect.zipRight(Effect.logInfo("stopped")),
    Effect.provide(LogFile.layer(Paths.make(options.dataDir).logFile, options.logToStderr)),
    Effect.annotateLogs({ module: "Jarvis/Daemon" })
  )
