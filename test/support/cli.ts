import { execFile, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { createInterface } from "node:readline"

/** The bundled executable built by the global setup. */
export const JARVIS = Path.resolve("dist/jarvis.cjs")

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The environment every test process gets: loopback only, the password from the environment. */
export const testEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.JARVIS_HOME
  delete env.NODE_OPTIONS
  env.JARVIS_BIND = "127.0.0.1"
  env.JARVIS_ADVERTISE_HOST = "127.0.0.1"
  return env
}

/** Runs `jarvis --home <home> ...args` to completion (bounded at 30 s). */
export const jarvis = (home: string, args: ReadonlyArray<string>, options: {
  readonly input?: string
  readonly env?: Record<string, string>
} = {}): Promise<Run> =>
  new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [JARVIS, "--home", home, ...args],
      { env: testEnv(options.env), timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
    child.stdin?.end(options.input ?? "")
  })

/** Like `jarvis`, but fails unless the exit code is 0; parses `--json` output. */
export const jarvisJson = async <A = any>(home: string, args: ReadonlyArray<string>, options: {
  readonly input?: string
  readonly env?: Record<string, string>
} = {}): Promise<A> => {
  const run = await jarvis(home, [...args, "--json"], options)
  if (run.code !== 0) {
    throw new Error(`jarvis ${args.join(" ")} exited ${run.code}: ${run.stdout}${run.stderr}`)
  }
  return JSON.parse(run.stdout) as A
}

/** A long-running `jarvis` process whose stdout lines are collected (e.g. `watch --json`). */
export const jarvisLines = (home: string, args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [JARVIS, "--home", home, ...args], {
    env: testEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line)
    for (const w of waiters) w()
  })
  /** Resolves when some collected line satisfies the predicate (bounded at `ms`). */
  const until = (predicate: (lines: ReadonlyArray<string>) => boolean, ms = 20_000) =>
    new Promise<ReadonlyArray<string>>((resolve, reject) => {
      const check = () => {
        if (predicate(lines)) {
          clearTimeout(timer)
          waiters.delete(check)
          resolve(lines)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out; got:\n${lines.join("\n")}`))
      }, ms)
      waiters.add(check)
      check()
    })
  return { child, lines, until, stop: () => stopChild(child) }
}

export const stopChild = (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill(signal)
  })

/** A TCP port that was free a moment ago on 127.0.0.1. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A fresh home directory; `cleanup` kills a daemon left behind and removes the directory. */
export const makeHome = (name: string) => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), `jarvis-e2e-${name}-`))
  const home = Path.join(root, "home")
  const cleanup = () => {
    const pidFile = Path.join(home, "daemon.pid")
    if (Fs.existsSync(pidFile)) {
      const pid = Number.parseInt(Fs.readFileSync(pidFile, "utf8"), 10)
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    Fs.rmSync(root, { recursive: true, force: true })
  }
  return { home, cleanup }
}

/** Polls `check` every 50 ms until it returns a value (bounded at `ms`). */
export const eventually = async <A>(check: () => Promise<A | undefined>, ms = 20_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("eventually: timed out")
    await new Promise((r) => setTimeout(r, 50))
  }
}
