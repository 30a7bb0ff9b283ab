import { Context, Effect, Layer, Schedule } from "effect"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Paths from "../../src/daemon/Paths.js"
import * as Serve from "../../src/daemon/Serve.js"
import { JarvisClient } from "../../src/services/JarvisClient.js"
import type { RuntimeSettings } from "../../src/services/RuntimeConfig.js"
import { RuntimeConfig } from "../../src/services/RuntimeConfig.js"
import { tempDir } from "./temp.js"

/** A daemon serving in this process (real sockets), and a typed client for it. */
export const inProcessDaemon = (options: {
  readonly ipc?: Serve.ServeOptions["ipc"]
  readonly settings?: Partial<RuntimeSettings>
} = {}) =>
  Effect.gen(function*() {
    const dataDir = Path.join(yield* tempDir(), "home")
    const fiber = yield* Effect.forkScoped(
      Serve.serve({ dataDir, logToStderr: false, ipc: options.ipc }).pipe(
        Effect.provide(RuntimeConfig.layerWith({ bindAddress: "127.0.0.1", listenPort: 0, ...options.settings }))
      )
    )
    const socket = Paths.make(dataDir).socket
    const context = yield* Layer.build(JarvisClient.layer({ _tag: "Unix", path: socket })).pipe(
      Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.compose(Schedule.recurs(250))))
    )
    return { dataDir, socket, fiber, client: Context.get(context, JarvisClient) }
  })

/** A raw line-oriented connection to the IPC socket, as a script in any language would use. */
export const rawConnection = (path: string) =>
  Effect.acquireRelease(
    Effect.async<
      { readonly socket: Net.Socket; readonly lines: Array<unknown>; readonly next: (n?: number) => Promise<unknown> }
    >((resume) => {
      const socket = Net.connect({ path }, () => resume(Effect.succeed({ socket, lines, next })))
      const lines: Array<unknown> = []
      const waiters: Array<() => void> = []
      let buffer = ""
      socket.on("data", (chunk) => {
        buffer += chunk.toString("utf8")
        let i: number
        while ((i = buffer.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(buffer.slice(0, i)))
          buffer = buffer.slice(i + 1)
        }
        for (const w of waiters.splice(0)) w()
      })
      const next = async (count = 1) => {
        while (lines.length < count) await new Promise<void>((r) => waiters.push(r))
        return lines.splice(0, count).at(-1)
      }
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

export type InProcessDaemon = Effect.Effect.Success<ReturnType<typeof inProcessDaemon>>

/** An in-process daemon with an unlocked identity (password "pw"). */
export const unlockedDaemon = (username: string, settings?: Partial<RuntimeSettings>) =>
  Effect.gen(function*() {
    const daemon = yield* inProcessDaemon(settings === undefined ? {} : { settings })
    yield* daemon.client.identity.create({ username, password: "pw", listenPort: 0 })
    yield* daemon.client.identity.unlock({ password: "pw" })
    return daemon
  })

/** Two daemons that exchanged link codes and added each other. */
export const linkDaemons = (a: InProcessDaemon, b: InProcessDaemon) =>
  Effect.gen(function*() {
    const codeA = yield* a.client.identity.linkCode({ host: "127.0.0.1" })
    const codeB = yield* b.client.identity.linkCode({ host: "127.0.0.1" })
    const bAtA = yield* a.client.contacts.add({ code: codeB.code })
    const aAtB = yield* b.client.contacts.add({ code: codeA.code })
    return { bAtA, aAtB }
  })
