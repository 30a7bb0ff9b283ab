/**
 * The daemon as users meet it, with real processes: CLI cold start, the IPC round trip against a
 * raw Unix-socket echo, 100 subscribers while messages flow, send→event latency between two
 * daemons, and delivered messages per second with the store on disk vs in memory.
 */
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { median, percentile, table } from "../lib.js"
import type { BenchDaemon } from "../rpc.js"
import { JARVIS, linkDaemons, RpcConnection, startDaemon } from "../rpc.js"

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15)
const DURABLE_MESSAGES = Number(process.env.BENCH_DURABLE_MESSAGES ?? 20_000)
const SUBSCRIBERS = 100

const wallMs = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) => {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { env, stdio: "ignore" })
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}`)
  return performance.now() - start
}

const coldStart = (alice: BenchDaemon) => {
  const env = { ...process.env, JARVIS_HOME: alice.home }
  const samples = { node: [] as Array<number>, version: [] as Array<number>, send: [] as Array<number> }
  for (let i = 0; i < COLD_RUNS; i++) {
    // Interleaved, so that noise on the machine hits all three alike.
    samples.node.push(wallMs(["-e", "0"]))
    samples.version.push(wallMs([JARVIS, "--version"], env))
    samples.send.push(wallMs([JARVIS, "send", "bob", `cold ${i}`], env))
  }
  const node = median(samples.node)
  table("CLI cold start (wall time of a fresh process)", [
    { name: "node -e 0", value: node, unit: "ms" },
    {
      name: "jarvis --version",
      value: median(samples.version),
      unit: "ms",
      ratio: { to: "node -e 0", value: median(samples.version) / node }
    },
    {
      name: "jarvis send bob … (through the daemon)",
      value: median(samples.send),
      unit: "ms",
      ratio: { to: "node -e 0", value: median(samples.send) / node }
    }
  ])
}

/** A Unix-socket line echo in its own process, like the daemon. */
const startEcho = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jarvis-bench-echo-"))
  const path = Path.join(dir, "echo.sock")
  const child = spawn(process.execPath, [
    "-e",
    `require("net").createServer((s) => { s.setNoDelay(true); s.pipe(s) }).listen(${
      JSON.stringify(path)
    }, () => console.log("ready"))`
  ], { stdio: ["ignore", "pipe", "inherit"] })
  await new Promise((resolve) => child.stdout!.once("data", resolve))
  return {
    path,
    stop: () => {
      child.kill()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** CPU time (user + system) a process has used, from /proc (Linux; 10 ms ticks). */
const cpuMsOf = (pid: number | undefined): number | undefined => {
  try {
    const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** Median round trip of `method` calls, one at a time, over `rpc`. */
const roundTrips = async (rpc: RpcConnection, count: number, method = "daemon.status") => {
  const times: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await rpc.call(method)
    times.push(performance.now() - start)
  }
  return median(times)
}

const ipcRoundTrip = async (alice: BenchDaemon) => {
  const echo = await startEcho()
  // The same JSON-RPC client on both sides (the echo sends the request line back, which the
  // client takes as the reply), so the ratio is the daemon's cost over a socket that does nothing.
  // `daemon.ping` is the no-op the target is about; `daemon.status` (which gathers and encodes a
  // profile) shows what a small real answer adds.
  const raw = await RpcConnection.open(echo.path)
  const rpc = await RpcConnection.open(alice.socket)
  const times = { raw: [] as Array<number>, ping: [] as Array<number>, status: [] as Array<number> }
  const cpuMs = { ping: 0, status: 0 }
  for (let trial = 0; trial < 7; trial++) {
    times.raw.push(await roundTrips(raw, 1000))
    for (const method of ["ping", "status"] as const) {
      const before = cpuMsOf(alice.process.pid)
      times[method].push(await roundTrips(rpc, 1000, `daemon.${method}`))
      const after = cpuMsOf(alice.process.pid)
      cpuMs[method] += before === undefined || after === undefined ? NaN : after - before
    }
  }
  raw.close()
  rpc.close()
  echo.stop()
  const rawUs = median(times.raw) * 1000
  const rows = (method: "ping" | "status") => {
    const us = median(times[method]) * 1000
    return [
      { name: `JSON-RPC daemon.${method}`, value: us, unit: "µs", ratio: { to: "raw echo", value: us / rawUs } },
      ...(Number.isNaN(cpuMs[method]) ? [] : [
        { name: `daemon CPU per daemon.${method} (user + system)`, value: cpuMs[method] * 1000 / 7000, unit: "µs" }
      ])
    ]
  }
  table("IPC round trip (one request at a time)", [
    { name: "raw Unix-socket line echo (same client)", value: rawUs, unit: "µs" },
    ...rows("ping"),
    ...rows("status")
  ])
}

/** Resolves when `predicate` holds, checking on every event batch. */
const until = (check: () => boolean, onChange: (notify: () => void) => void, ms = 120_000) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms)
    const test = () => {
      if (check()) {
        clearTimeout(timer)
        resolve()
      }
    }
    onChange(test)
    test()
  })

const subscribersAndLatency = async (alice: BenchDaemon, bob: BenchDaemon) => {
  // Latency: one message at a time, from writing `messages.send` to A until B's subscriber has it.
  const watcher = await RpcConnection.open(bob.socket)
  const arrived = new Map<string, number>()
  let notify = () => {}
  watcher.subscribe({}, (items) => {
    const now = performance.now()
    for (const e of items) if (e.event._tag === "MessageReceived") arrived.set(e.event.body, now)
    notify()
  })
  await new Promise((r) => setTimeout(r, 200))
  const latencies: Array<number> = []
  for (let i = 0; i < 300; i++) {
    const body = `latency ${i}`
    const start = performance.now()
    void alice.rpc.call("messages.send", { contact: "bob", body })
    await until(() => arrived.has(body), (n) => (notify = n))
    latencies.push(arrived.get(body)! - start)
  }
  watcher.close()
  table("End-to-end latency: `messages.send` on A → event on B's subscriber (two daemons, loopback)", [
    { name: "p50", value: median(latencies), unit: "ms" },
    { name: "p99", value: percentile(latencies, 99), unit: "ms" }
  ])

  // 100 subscribers on B while A sends 2,000 messages: every one gets every message.
  const clients = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => RpcConnection.open(bob.socket)))
  const counts = new Array<number>(SUBSCRIBERS).fill(0)
  const finished = new Array<number>(SUBSCRIBERS).fill(0)
  const MESSAGES = 2000
  let wake = () => {}
  clients.forEach((c, i) =>
    c.subscribe({}, (items) => {
      for (const e of items) if (e.event._tag === "MessageReceived") counts[i]!++
      if (counts[i] === MESSAGES) finished[i] = performance.now()
      wake()
    })
  )
  await new Promise((r) => setTimeout(r, 300))
  const start = performance.now()
  await Promise.all(
    Array.from(
      { length: MESSAGES },
      (_, i) => alice.rpc.call("messages.send", { contact: "bob", body: `fan-out ${i}` })
    )
  )
  await until(() => counts.every((n) => n >= MESSAGES), (n) => (wake = n))
  const done = finished.map((t) => t - start)
  for (const c of clients) c.close()
  table(`${SUBSCRIBERS} IPC subscribers on B while A sends ${MESSAGES} messages`, [
    { name: "messages every subscriber received (min)", value: Math.min(...counts), unit: `of ${MESSAGES}` },
    { name: "time until a subscriber had all (fastest)", value: Math.min(...done), unit: "ms" },
    { name: "time until a subscriber had all (median)", value: median(done), unit: "ms" },
    {
      name: "time until a subscriber had all (slowest)",
      value: Math.max(...done),
      unit: "ms",
      ratio: { to: "fastest", value: Math.max(...done) / Math.min(...done) }
    }
  ])
}

/**
 * Pipelines `count` sends into A over one IPC connection and times until A has seen B's ack for
 * every one (each then stored on both sides).
 */
const deliveredPerSecond = async (env: Record<string, string>, count: number) => {
  const alice = await startDaemon("alice", env)
  const bob = await startDaemon("bob", env)
  try {
    await linkDaemons(alice, bob)
    const watcher = await RpcConnection.open(alice.socket)
    let delivered = 0
    let wake = () => {}
    watcher.subscribe({}, (items) => {
      for (const e of items) {
        if (e.event._tag === "ReceiptReceived" && e.event.kind === "delivered") delivered += e.event.ids.length
      }
      wake()
    })
    await new Promise((r) => setTimeout(r, 200))
    const start = performance.now()
    const WINDOW = 512
    let sent = 0
    const pump = async () => {
      while (sent < count) {
        const i = sent++
        await alice.rpc.call("messages.send", { contact: "bob", body: `durable message number ${i}` })
      }
    }
    await Promise.all(Array.from({ length: WINDOW }, pump))
    await until(() => delivered >= count, (n) => (wake = n), 300_000)
    const seconds = (performance.now() - start) / 1000
    watcher.close()
    const stored = await bob.rpc.call("messages.unread")
    if (stored.total !== count) throw new Error(`bob stored ${stored.total} of ${count}`)
    return count / seconds
  } finally {
    await alice.stop()
    await bob.stop()
  }
}

export const run = async () => {
  if (!Fs.existsSync(JARVIS)) throw new Error("build the CLI first: node scripts/bundle.mjs")
  const alice = await startDaemon("alice")
  const bob = await startDaemon("bob")
  try {
    await linkDaemons(alice, bob)
    coldStart(alice)
    await ipcRoundTrip(alice)
    await subscribersAndLatency(alice, bob)
  } finally {
    await alice.stop()
    await bob.stop()
  }

  const disk: Array<number> = []
  const memory: Array<number> = []
  for (let trial = 0; trial < 3; trial++) {
    disk.push(await deliveredPerSecond({}, DURABLE_MESSAGES))
    memory.push(await deliveredPerSecond({ JARVIS_DB: ":memory:" }, DURABLE_MESSAGES))
  }
  table(
    `Delivered messages per second, daemon → daemon (${DURABLE_MESSAGES} sent through IPC, acked, stored on both sides)`,
    [
      { name: "store in memory (JARVIS_DB=:memory:)", value: median(memory), unit: "msg/s" },
      {
        name: "durable store (SQLite WAL, synchronous=FULL)",
        value: median(disk),
        unit: "msg/s",
        ratio: { to: "in memory", value: median(disk) / median(memory) }
      }
    ]
  )
}
