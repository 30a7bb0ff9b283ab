/**
 * The library surface: the echo bot from docs/LIBRARY.md as a real process against a daemon, and
 * the embedded runtime over a data directory.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Fiber, Layer, Option, Schedule, Stream } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Embedded from "../src/Embedded.js"
import * as Jarvis from "../src/Jarvis.js"
import { History } from "../src/services/MessageStore.js"
import { linkDaemons, unlockedDaemon } from "./support/daemon.js"
import { tempDir } from "./support/temp.js"

const startBot = (dataDir: string, cursorFile: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["--import", "tsx", "examples/echo-bot.ts", cursorFile], {
        env: { ...process.env, JARVIS_HOME: dataDir },
        stdio: ["ignore", "ignore", "inherit"]
      })
    ),
    (child) => stopProcess(child)
  )

const stopProcess = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGTERM")
  })

describe("library", () => {
  it("docs/LIBRARY.md shows the tested examples verbatim", () => {
    const doc = Fs.readFileSync("docs/LIBRARY.md", "utf8")
    assert.include(doc, Fs.readFileSync("examples/echo-bot.ts", "utf8"))
    assert.include(doc, Fs.readFileSync("examples/promise-echo.ts", "utf8"))
  })

  it("the documented Promise API example runs as a process: two nodes, one echo, a clean exit", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/promise-echo.ts"], {
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 25_000
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    assert.strictEqual(code, 0)
    assert.match(out, /^sent [0-9a-f]{32}, got "echo: hello"\n$/)
  }, 30_000)

  it.scopedLive(
    "the documented echo bot answers, and after a restart answers what it missed, once",
    () =>
      Effect.gen(function*() {
        const alice = yield* unlockedDaemon("alice")
        const bob = yield* unlockedDaemon("bob")
        const { bAtA } = yield* linkDaemons(alice, bob)
        // The bot replays from the cursor in this file; starting at 0 it cannot miss a message sent
        // before its subscription is in place.
        const cursorFile = Path.join(yield* tempDir(), "bot.cursor")
        Fs.writeFileSync(cursorFile, "0")

        const replies = yield* alice.client.events.subscribe({}).pipe(
          Stream.filterMap(({ event }) => event._tag === "MessageReceived" ? Option.some(event.body) : Option.none()),
          Stream.take(3),
          Stream.runCollect,
          Effect.fork
        )

        const bot = yield* startBot(bob.dataDir, cursorFile)
        yield* alice.client.messages.send({ contact: bAtA.uid, body: "one" })
        yield* alice.client.messages.send({ contact: bAtA.uid, body: "two" })
        // Wait for both echoes before stopping the bot, through Bob's history.
        yield* bob.client.messages.history({ contact: "alice", limit: 10 }).pipe(
          Effect.repeat({
            until: (page) => page.messages.filter((m) => m.direction === "out").length === 2,
            schedule: Schedule.spaced("50 millis")
          })
        )
        yield* stopProcess(bot)

        yield* alice.client.messages.send({ contact: bAtA.uid, body: "three" })
        yield* startBot(bob.dataDir, cursorFile)

        const got = Chunk.toReadonlyArray(yield* Fiber.join(replies))
        assert.deepStrictEqual(got, ["echo: one", "echo: two", "echo: three"])
        const history = yield* alice.client.messages.history({ contact: "bob", limit: 50 })
        assert.deepStrictEqual(
          history.messages.filter((m) => m.direction === "in").map((m) => m.body),
          ["echo: one", "echo: two", "echo: three"]
        )
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "an embedded node over a data directory refuses while the daemon holds it, then runs on its store",
    () =>
      Effect.gen(function*() {
        const alice = yield* unlockedDaemon("alice")
        const bob = yield* unlockedDaemon("bob")
        const { aAtB, bAtA } = yield* linkDaemons(alice, bob)
        yield* alice.client.messages.send({ contact: bAtA.uid, body: "kept on disk" })
        yield* bob.client.messages.unread().pipe(
          Effect.repeat({ until: (u) => u.total === 1, schedule: Schedule.spaced("20 millis") })
        )

        const options = { dataDir: bob.dataDir, settings: { bindAddress: "127.0.0.1", listenPort: 0 } }
        const busy = yield* Effect.flip(Layer.build(Embedded.layerDataDir({ ...options, password: "pw" })))
        assert.strictEqual(busy._tag, "AlreadyRunning")
        yield* bob.client.daemon.stop()
        yield* Fiber.join(bob.fiber)

        const wrong = yield* Effect.flip(Layer.build(Embedded.layerDataDir({ ...options, password: "no" })))
        assert.strictEqual(wrong._tag === "IdentityError" && wrong.reason, "WrongPassword")

        const page = yield* Effect.scoped(Effect.gen(function*() {
          const node = yield* Layer.build(Embedded.layerDataDir({ ...options, password: "pw" }))
          return yield* Context.get(node, History).page(aAtB.uid, { limit: 10 })
        }))
        assert.deepStrictEqual(page.messages.map((m) => m.body), ["kept on disk"])

        // The same directory through the Promise API: its durable outbox, its link to alice.
        const node = yield* Effect.promise(() => Jarvis.openDataDir({ ...options, password: "pw" }))
        yield* Effect.addFinalizer(() => Effect.promise(() => node.close()))
        assert.strictEqual(node.profile.uid, bAtA.uid)
        const heard = yield* Effect.sync(() =>
          new Promise<string>((resolve) => {
            const stop = node.on((event) => {
              if (event._tag === "MessageReceived" && event.body === "to the Promise API") {
                stop()
                resolve(event.body)
              }
            })
          })
        )
        yield* alice.client.messages.send({ contact: bAtA.uid, body: "to the Promise API" })
        assert.strictEqual(yield* Effect.promise(() => heard), "to the Promise API")
        const sent = yield* Effect.promise(() => node.send(aAtB.uid, "through the Promise API"))
        yield* alice.client.messages.history({ contact: "bob", limit: 10 }).pipe(
          Effect.repeat({
            until: (p) => p.messages.some((m) => m.id === sent.id && m.body === "through the Promise API"),
            schedule: Schedule.spaced("20 millis")
          })
        )
        // Its history, unread counts and outbox, as the daemon's messages.* methods give them.
        const own = yield* Effect.promise(() => node.history(aAtB.uid, { limit: 10 }))
        assert.deepStrictEqual(
          own.messages.map((m) => [m.direction, m.body]),
          [["in", "kept on disk"], ["in", "to the Promise API"], ["out", "through the Promise API"]]
        )
        assert.deepStrictEqual(
          (yield* Effect.promise(() => node.history(aAtB.uid, { limit: 1, before: own.messages[2]!.cursor })))
            .messages.map((m) => m.body),
          ["to the Promise API"]
        )
        assert.strictEqual((yield* Effect.promise(() => node.unread())).byContact[aAtB.uid], 2)
        assert.strictEqual(yield* Effect.promise(() => node.markRead(aAtB.uid)), 2)
        assert.strictEqual((yield* Effect.promise(() => node.unread())).total, 0)
        yield* Effect.promise(() => node.pending()).pipe(
          Effect.repeat({ until: (pending) => pending.length === 0, schedule: Schedule.spaced("20 millis") })
        )
        const badLimit = yield* Effect.flip(Effect.tryPromise(() => node.history(aAtB.uid, { limit: 0 })))
        assert.strictEqual((badLimit.error as { readonly _tag: string })._tag, "InvalidInput")
        yield* Effect.promise(() => node.removeContact(aAtB.uid))
        assert.deepStrictEqual((yield* Effect.promise(() => node.history(aAtB.uid))).messages, [])

        const busyAgain = yield* Effect.flip(
          Effect.tryPromise(() => Jarvis.openDataDir({ ...options, password: "pw" }))
        )
        assert.strictEqual((busyAgain.error as { readonly _tag: string })._tag, "AlreadyRunning")
      }),
    { timeout: 30_000 }
  )
})
