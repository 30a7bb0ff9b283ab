import type { Rpc, RpcGroup } from "@effect/rpc"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as DaemonControl from "../src/cli/DaemonControl.js"
import * as IpcServer from "../src/daemon/IpcServer.js"
import * as Paths from "../src/daemon/Paths.js"
import { JarvisApi } from "../src/domain/Api.js"
import { tempDir } from "./support/temp.js"

type Handlers = Rpc.ToHandler<RpcGroup.Rpcs<typeof JarvisApi>>

/**
 * A stand-in daemon on the data directory's socket: it answers `daemon.status` and accepts
 * `daemon.stop` (calling `onStop`), but never goes away by itself.
 */
const stubbornDaemon = (dataDir: string, onStop: Effect.Effect<void>) => {
  const answers: Record<string, Effect.Effect<unknown>> = {
    "daemon.status": Effect.succeed({ version: "2.0.0", pid: process.pid, dataDir, startedAt: 0, state: "locked" }),
    "daemon.stop": onStop
  }
  const handlers = Context.unsafeMake<Handlers>(
    new Map(
      [...JarvisApi.requests.values()].map((rpc) => [rpc.key, {
        handler: () => answers[rpc._tag] ?? Effect.dieMessage("not in this stand-in"),
        context: Context.empty()
      }])
    )
  )
  return IpcServer.layer({ endpoint: { _tag: "Unix", path: Paths.make(dataDir).socket } }).pipe(
    Layer.provide(Layer.succeedContext(handlers))
  )
}

/** Runs `effect` to its end while moving the TestClock forward; real socket I/O happens between steps. */
const withTimePassing = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let step = 0; step < 200; step++) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
      if ((yield* Fiber.poll(fiber))._tag === "Some") break
      yield* TestClock.adjust("500 millis")
    }
    return yield* Fiber.await(fiber)
  })

describe("daemon stop", () => {
  it.scoped("fails with DaemonStillRunning when the daemon accepts stop but keeps answering", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir()
      Fs.writeFileSync(Paths.make(dataDir).pidFile, `${process.pid}\n`)
      yield* Layer.build(stubbornDaemon(dataDir, Effect.void))
      const exit = yield* withTimePassing(DaemonControl.stop(dataDir))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause : undefined
      assert.match(String(error), /DaemonStillRunning/)
      assert.match(String(error), /did not stop within 20 seconds/)
    }))

  it.scoped("fails with DaemonStillRunning when the daemon is gone but its pid file stays", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir()
      Fs.writeFileSync(Paths.make(dataDir).pidFile, `${process.pid}\n`)
      const served = yield* Scope.make()
      const stopAsked = yield* Deferred.make<void>()
      yield* Layer.buildWithScope(stubbornDaemon(dataDir, Deferred.succeed(stopAsked, undefined)), served)
      // The stand-in stops answering once asked to stop, but leaves its pid file behind.
      yield* Effect.forkScoped(Effect.zipRight(Deferred.await(stopAsked), Scope.close(served, Exit.void)))
      const exit = yield* withTimePassing(DaemonControl.stop(dataDir))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.match(error, /DaemonStillRunning/)
      assert.include(error, `${Path.join(dataDir, "daemon.pid")} is still there`)
    }))

  it.scoped("succeeds once the daemon has stopped answering and removed its pid file", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir()
      const pidFile = Paths.make(dataDir).pidFile
      Fs.writeFileSync(pidFile, `${process.pid}\n`)
      const served = yield* Scope.make()
      const stopAsked = yield* Deferred.make<void>()
      yield* Layer.buildWithScope(stubbornDaemon(dataDir, Deferred.succeed(stopAsked, undefined)), served)
      yield* Effect.forkScoped(Effect.zipRight(
        Deferred.await(stopAsked),
        Effect.zipRight(Scope.close(served, Exit.void), Effect.sync(() => Fs.rmSync(pidFile)))
      ))
      const exit = yield* withTimePassing(DaemonControl.stop(dataDir))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
    }))
})
