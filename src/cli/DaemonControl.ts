/**
 * Finding, starting and stopping the daemon of a data directory from the CLI.
 *
 * @since 2.0.0
 */
import { Context, Data, Effect, Layer, Schedule } from "effect"
import type { Scope } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Paths from "../daemon/Paths.js"
import { DaemonNotRunning, endpointOf, JarvisClient } from "../services/JarvisClient.js"

/**
 * A connected client for the scope.
 *
 * @since 2.0.0
 * @category clients
 */
export const connect = (dataDir: string): Effect.Effect<JarvisClient["Type"], DaemonNotRunning, Scope.Scope> =>
  Effect.flatMap(
    endpointOf(dataDir),
    (endpoint) => Effect.map(Layer.build(JarvisClient.layer(endpoint)), (context) => Context.get(context, JarvisClient))
  )

/**
 * Whether a daemon answers for `dataDir`.
 *
 * @since 2.0.0
 * @category clients
 */
export const isRunning = (dataDir: string) =>
  Effect.scoped(Effect.flatMap(connect(dataDir), (client) => client.daemon.status())).pipe(
    Effect.map(() => true),
    Effect.orElseSucceed(() => false)
  )

/**
 * Spawns `jarvis daemon run` detached and waits (up to 15 s) until it answers.
 *
 * @since 2.0.0
 * @category lifecycle
 */
export const start = (dataDir: string) =>
  Effect.gen(function*() {
    const script = process.argv[1]!
    const child = spawn(
      process.execPath,
      [...process.execArgv, script, "--home", dataDir, "daemon", "run", "--quiet"],
      {
        detached: true,
        stdio: "ignore",
        env: process.env
      }
    )
    let exited: number | null | undefined
    child.once("exit", (code) => (exited = code))
    child.unref()
    const paths = Paths.make(dataDir)
    yield* isRunning(dataDir).pipe(
      Effect.filterOrFail(
        (running) => running,
        () =>
          new DaemonNotRunning({
            detail: exited !== undefined ? `it exited with code ${exited}; see ${paths.logFile}` : "still starting"
          })
      ),
      Effect.retry({
        schedule: Schedule.spaced("50 millis").pipe(Schedule.upTo("15 seconds")),
        while: () => exited === undefined
      })
    )
    return child.pid ?? 0
  })

/**
 * Asks the daemon to stop and waits (up to 20 s) until it is gone.
 *
 * @since 2.0.0
 * @category lifecycle
 */
export const stop = (dataDir: string) =>
  Effect.gen(function*() {
    yield* Effect.scoped(Effect.flatMap(connect(dataDir), (client) => client.daemon.stop())).pipe(
      // The daemon may close the connection before its answer arrives: it is stopping either way.
      Effect.catchTag("RpcClientError", () => Effect.void)
    )
    yield* isRunning(dataDir).pipe(
      Effect.repeat({
        schedule: Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds")),
        while: (running) => running
      })
    )
    const pid = Paths.make(dataDir).pidFile
    yield* Effect.sync(() => Fs.existsSync(pid)).pipe(
      Effect.repeat({
        schedule: Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds")),
        while: (exists) => exists
      })
    )
    // The waits above end quietly when their time is up: say so if the daemon is still there.
    if (yield* isRunning(dataDir)) {
      return yield* new DaemonStillRunning({ message: "The daemon did not stop within 20 seconds" })
    }
    if (Fs.existsSync(pid)) {
      return yield* new DaemonStillRunning({ message: `The daemon stopped answering but ${pid} is still there` })
    }
  })

/**
 * `stop` waited and the daemon is still there.
 *
 * @since 2.0.0
 * @category errors
 */
export class DaemonStillRunning extends Data.TaggedError("DaemonStillRunning")<{ readonly message: string }> {}
