import { Context, Effect, Layer, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { HistoryEntry } from "../../src/domain/History.js"
import type { Uid } from "../../src/domain/Ids.js"
import { JarvisClient } from "../../src/services/JarvisClient.js"
import { freePort, jarvis, jarvisJson, makeHome } from "./cli.js"

export const PASSWORD = { JARVIS_PASSWORD: "correct horse battery staple" }

/** A person whose daemon runs as a real, separate process (started with `jarvis daemon start`). */
export interface Person {
  readonly name: string
  readonly home: string
}

const cli = (who: Person, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() => jarvisJson(who.home, args, { env }))

/** Creates the identity (on a fixed loopback port, so contacts can find it again after a restart). */
export const person = (name: string) =>
  Effect.gen(function*() {
    const { home } = yield* Effect.acquireRelease(Effect.sync(() => makeHome(name)), ({ cleanup }) =>
      Effect.sync(cleanup))
    const port = yield* Effect.promise(freePort)
    const who: Person = { name, home }
    yield* cli(who, ["init", "--username", name, "--port", String(port)], PASSWORD)
    return who
  })

/** `jarvis daemon start` then `jarvis unlock`. */
export const start = (who: Person) => Effect.zipRight(cli(who, ["daemon", "start"]), cli(who, ["unlock"], PASSWORD))

export const stop = (who: Person) => cli(who, ["daemon", "stop"])

/** SIGKILL: no finalizer runs, the pid file, lock and socket stay behind. */
export const kill = (who: Person) =>
  Effect.sync(() => {
    const pid = Number.parseInt(Fs.readFileSync(Path.join(who.home, "daemon.pid"), "utf8"), 10)
    process.kill(pid, "SIGKILL")
    return pid
  })

/** Waits until a killed process is gone. */
export const gone = (pid: number) =>
  Effect.sync(() => {
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }).pipe(Effect.repeat({ until: (dead) => dead, schedule: Schedule.spaced("20 millis") }))

/** A typed client for the person's daemon, for the scope. */
export const client = (who: Person) =>
  Effect.map(
    Layer.build(JarvisClient.layerDataDir(who.home)),
    (context) => Context.get(context, JarvisClient)
  )

export type Client = JarvisClient["Type"]

/** Adds each other by link code. */
export const link = (a: Person, b: Person) =>
  Effect.gen(function*() {
    const codeA = (yield* cli(a, ["link"])).code as string
    const codeB = (yield* cli(b, ["link"])).code as string
    const bAtA = (yield* cli(a, ["contacts", "add", codeB])).uid as Uid
    const aAtB = (yield* cli(b, ["contacts", "add", codeA])).uid as Uid
    return { aAtB, bAtA }
  })

/** The whole conversation, oldest first, paging back 1000 at a time. */
export const fullHistory = (c: Client, contact: string) =>
  Effect.gen(function*() {
    const pages: Array<ReadonlyArray<HistoryEntry>> = []
    let before: number | undefined
    do {
      const page = yield* c.messages.history({ contact, limit: 1000, before })
      pages.unshift(page.messages)
      before = page.next
    } while (before !== undefined)
    return pages.flat()
  })

/** Polls (every 100 ms, up to `seconds`) until `check` holds. */
export const waitFor = <A, E, R>(
  what: string,
  effect: Effect.Effect<A, E, R>,
  check: (a: A) => boolean,
  seconds = 60
) =>
  effect.pipe(
    Effect.repeat({ until: check, schedule: Schedule.spaced("100 millis") }),
    Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

export { jarvis }
