/**
 * A bare JSON-RPC line client for benchmarks (what a script in any language would do), and
 * helpers to run real daemons from the bundled CLI.
 */
import { execFileSync, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Paths from "../src/daemon/Paths.js"

/** The bundled CLI; `JARVIS_BIN` points the benchmarks at another build (A/B comparisons). */
export const JARVIS = Path.resolve(process.env.JARVIS_BIN ?? "dist/jarvis.cjs")

export class RpcConnection {
  private nextId = 1
  private buffer = ""
  private readonly waiting = new Map<number, (message: { result?: unknown; error?: unknown }) => void>()
  private readonly streams = new Map<number, (items: ReadonlyArray<unknown>) => void>()

  private constructor(readonly socket: Net.Socket) {
    socket.setNoDelay(true)
    socket.on("data", (chunk) => {
      this.buffer += chunk.toString("utf8")
      let i: number
      while ((i = this.buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, i))
        this.buffer = this.buffer.slice(i + 1)
        if (message.method === "stream") this.streams.get(message.params.id)?.(message.params.items)
        else {
          const resolve = this.waiting.get(message.id)
          this.waiting.delete(message.id)
          resolve?.(message)
        }
      }
    })
  }

  static open(path: string): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = Net.connect({ path }, () => resolve(new RpcConnection(socket)))
      socket.once("error", reject)
    })
  }

  /** Writes the request now; resolves with its result (rejects with its error). */
  call<A = any>(method: string, params: unknown = {}): Promise<A> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (m) => (m.error === undefined ? resolve(m.result as A) : reject(m.error)))
      this.socket.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n")
    })
  }

  /** Subscribes; `onItems` gets each batch of events. */
  subscribe(params: unknown, onItems: (items: ReadonlyArray<any>) => void) {
    const id = this.nextId++
    this.streams.set(id, onItems)
    this.waiting.set(id, () => this.streams.delete(id))
    this.socket.write(JSON.stringify({ jsonrpc: "2.0", id, method: "events.subscribe", params }) + "\n")
  }

  close() {
    this.socket.destroy()
  }
}

export interface BenchDaemon {
  readonly name: string
  readonly home: string
  readonly socket: string
  readonly process: ChildProcess
  readonly rpc: RpcConnection
  readonly stop: () => Promise<void>
}

const PASSWORD = "bench password"

const waitForSocket = async (path: string) => {
  for (let i = 0; i < 300; i++) {
    try {
      return await RpcConnection.open(path)
    } catch {
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  throw new Error(`no daemon at ${path}`)
}

/** A daemon in a temp dir, unlocked, in the foreground of a child process. */
export const startDaemon = async (name: string, env: Record<string, string> = {}): Promise<BenchDaemon> => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), `jarvis-bench-${name}-`))
  const home = Path.join(root, "home")
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    JARVIS_BIND: "127.0.0.1",
    JARVIS_ADVERTISE_HOST: "127.0.0.1",
    ...env
  }
  delete childEnv.JARVIS_HOME
  execFileSync(process.execPath, [JARVIS, "--home", home, "init", "--username", name, "--port", "0"], {
    env: { ...childEnv, JARVIS_PASSWORD: PASSWORD },
    stdio: "ignore"
  })
  // BENCH_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemons.
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
  const child = spawn(process.execPath, [...nodeArgs, JARVIS, "--home", home, "daemon", "run", "--quiet"], {
    env: childEnv,
    stdio: "ignore"
  })
  const socket = Paths.make(home).socket
  const rpc = await waitForSocket(socket)
  await rpc.call("identity.unlock", { password: PASSWORD })
  const stop = async () => {
    rpc.close()
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
    Fs.rmSync(root, { recursive: true, force: true })
  }
  return { name, home, socket, process: child, rpc, stop }
}

/** Adds each other; resolves when the link is up. */
export const linkDaemons = async (a: BenchDaemon, b: BenchDaemon) => {
  const { code: codeA } = await a.rpc.call("identity.linkCode", { host: "127.0.0.1" })
  const { code: codeB } = await b.rpc.call("identity.linkCode", { host: "127.0.0.1" })
  await a.rpc.call("contacts.add", { code: codeB })
  await b.rpc.call("contacts.add", { code: codeA })
  for (let i = 0; i < 500; i++) {
    const status = await a.rpc.call("links.status")
    if (status.summary === "green") return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error("the daemons did not link")
}
