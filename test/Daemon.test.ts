import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Schedule } from "effect"
import * as Path from "node:path"
import * as Paths from "../src/daemon/Paths.js"
import * as Serve from "../src/daemon/Serve.js"
import { JarvisClient } from "../src/services/JarvisClient.js"
import { RuntimeConfig } from "../src/services/RuntimeConfig.js"
import { tempDir } from "./support/temp.js"

const startDaemon = (dataDir: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkScoped(
      Serve.serve({ dataDir, logToStderr: false }).pipe(
        Effect.provide(RuntimeConfig.layerWith({ bindAddress: "127.0.0.1", listenPort: 0 }))
      )
    )
    const endpoint = { _tag: "Unix" as const, path: Paths.make(dataDir).socket }
    const context = yield* Layer.build(JarvisClient.layer(endpoint)).pipe(
      Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.compose(Schedule.recurs(200))))
    )
    const client = Context.get(context, JarvisClient)
    return { fiber, client }
  })

describe("daemon over IPC (in process)", () => {
  it.scopedLive("starts locked, creates an identity, unlocks, reports status, stops", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const dataDir = Path.join(dir, "home")
      const { client, fiber } = yield* startDaemon(dataDir)
      const before = yield* client.daemon.status()
      assert.strictEqual(before.state, "no-identity")
      const locked = yield* Effect.flip(client.contacts.list())
      assert.strictEqual(locked._tag, "Locked")
      const profile = yield* client.identity.create({ username: "alice", password: "pw", listenPort: 0 })
      assert.strictEqual(profile.username, "alice")
      assert.strictEqual((yield* client.daemon.status()).state, "locked")
      const wrong = yield* Effect.flip(client.identity.unlock({ password: "nope" }))
      assert.strictEqual(wrong._tag === "IdentityError" && wrong.reason, "WrongPassword")
      yield* client.identity.unlock({ password: "pw" })
      const status = yield* client.daemon.status()
      assert.strictEqual(status.state, "unlocked")
      assert.isAbove(status.listen?.port ?? 0, 0)
      assert.deepStrictEqual(yield* client.contacts.list(), [])
      const code = yield* client.identity.linkCode({ host: "127.0.0.1" })
      assert.match(code.code, /^jarvis:\/\//)
      yield* client.daemon.stop()
      yield* Fiber.join(fiber)
    }), { timeout: 30_000 })
})
