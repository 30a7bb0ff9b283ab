/**
 * Two peers over loopback, side by side in one run: raw TCP (unbatched and batched), secret-stream,
 * js-libp2p and two Jarvis runtimes. Small pipelined messages/s, 64 KiB MB/s, round trip with one
 * message in flight, and connect + handshake + first message. Ratios are against secret-stream.
 */
import { median, percentile, table } from "../lib.js"
import type { Row } from "../lib.js"
import { jarvis } from "../peers/jarvis.js"
import { jarvisPromise } from "../peers/jarvisPromise.js"
import { libp2p } from "../peers/libp2p.js"
import { rawTcp } from "../peers/rawTcp.js"
import { secretStream } from "../peers/secretStream.js"
import type { Contender } from "../peers/types.js"

const SMALL = 100
const LARGE = 64 * 1024
const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 100_000)
const LARGE_COUNT = Number(process.env.BENCH_LARGE_COUNT ?? 1_000)
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5)
const RTT_SAMPLES = Number(process.env.BENCH_RTT_SAMPLES ?? 2_000)
const CONNECT_SAMPLES = Number(process.env.BENCH_CONNECT_SAMPLES ?? 30)
/**
 * Every contender gets the same warm-up before a latency phase, in windows of round trips, until
 * two consecutive windows' medians agree within 3% (at least two windows, at most twenty): latency
 * is measured in steady state. After the collection that starts the phase, a runtime that allocates
 * more takes longer to settle (Jarvis: ~4,000-6,000 round trips, secret-stream ~2,000).
 */
const WARMUP_WINDOW = 1_000
const WARMUP_WINDOWS = 20
const WARMUP_CONNECTS = 30

interface Result {
  readonly name: string
  readonly pingP50?: number | undefined
  readonly pingP99?: number | undefined
  readonly smallPerSecond: number
  readonly largeMBps: number
  readonly rttP50: number
  readonly rttP99: number
  readonly connectMs: number
}

/**
 * Latency phases start from a collected heap (the suite runs with --expose-gc), for every contender
 * alike, so that the major collection the throughput phases left pending does not land in them;
 * the warm-up comes after it (right after a full collection V8 runs slowly for a few thousand
 * round trips while its heap regrows).
 */
const collect = () => (globalThis as { gc?: () => void }).gc?.()

const timed = async (f: () => Promise<void>) => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

/** `count` timings of `f`, one at a time. Warm-up and measurement share it (and its optimized code). */
const sample = async (f: () => Promise<void>, count: number): Promise<Array<number>> => {
  const times: Array<number> = []
  for (let i = 0; i < count; i++) times.push(await timed(f))
  return times
}

/**
 * Warms up with `f` in windows until its latency settles (see WARMUP_WINDOW), then takes
 * `count` timings; also returns how many warm-up calls it took.
 */
const settledSample = async (f: () => Promise<void>, count: number) => {
  let previous = Number.POSITIVE_INFINITY
  let warmUp = 0
  for (let window = 1; window <= WARMUP_WINDOWS; window++) {
    const current = median(await sample(f, WARMUP_WINDOW))
    warmUp += WARMUP_WINDOW
    if (window > 1 && Math.abs(current - previous) <= previous * 0.03) break
    previous = current
  }
  return { warmUp, times: await sample(f, count) }
}

const measure = async (contender: Contender): Promise<Result> => {
  const pair = await contender.open()
  await pair.blast(Math.min(5_000, SMALL_COUNT), SMALL)
  const small: Array<number> = []
  for (let t = 0; t < TRIALS; t++) {
    small.push((SMALL_COUNT * 1000) / (await timed(() => pair.blast(SMALL_COUNT, SMALL))))
  }
  await pair.blast(200, LARGE)
  const large: Array<number> = []
  for (let t = 0; t < TRIALS; t++) {
    large.push((LARGE_COUNT * LARGE) / 1e3 / (await timed(() => pair.blast(LARGE_COUNT, LARGE))))
  }
  collect()
  const roundTrips = await settledSample(() => pair.roundTrip(SMALL), RTT_SAMPLES)
  const rtts = roundTrips.times
  console.error(`    round trips settled after ${roundTrips.warmUp.toLocaleString()} warm-up round trips`)
  let pings: Array<number> = []
  if (pair.ping !== undefined) {
    collect()
    pings = (await settledSample(pair.ping, RTT_SAMPLES)).times
  }
  await pair.close()
  collect()
  for (let i = 0; i < WARMUP_CONNECTS; i++) await contender.connectOnce()
  const connects: Array<number> = []
  for (let i = 0; i < CONNECT_SAMPLES; i++) connects.push(await contender.connectOnce())
  await contender.dispose()
  return {
    name: contender.name,
    ...(pings.length === 0 ? {} : { pingP50: percentile(pings, 50) * 1000, pingP99: percentile(pings, 99) * 1000 }),
    smallPerSecond: median(small),
    largeMBps: median(large),
    rttP50: percentile(rtts, 50) * 1000,
    rttP99: percentile(rtts, 99) * 1000,
    connectMs: median(connects)
  }
}

export const run = async () => {
  const only = process.env.BENCH_ONLY?.split(",")
  const contenders = [jarvisPromise(), jarvis(), rawTcp(false), rawTcp(true), secretStream, libp2p()].filter((c) =>
    only === undefined || only.some((o) => c.name.toLowerCase().includes(o.toLowerCase()))
  )
  const results: Array<Result> = []
  for (const contender of contenders) {
    console.error(`  measuring ${contender.name}...`)
    results.push(await measure(contender))
  }
  const anchor = results.find((r) => r.name.includes("secret-stream")) ?? results[0]!
  type Metric = "smallPerSecond" | "largeMBps" | "rttP50" | "rttP99" | "connectMs"
  const rows = (metric: Metric, unit: string, lowerIsBetter: boolean): Array<Row> =>
    results.map((r) => ({
      name: r.name.includes("Jarvis") && metric.startsWith("rtt")
        ? `${r.name}: message echo, application to application`
        : r.name,
      value: r[metric],
      unit: lowerIsBetter ? `${unit} (lower is better)` : unit,
      ratio: { to: "secret-stream", value: r[metric] / anchor[metric] }
    }))
  const pingRows = (metric: "pingP50" | "pingP99", against: "rttP50" | "rttP99"): Array<Row> =>
    results.flatMap((r) =>
      r[metric] === undefined
        ? []
        : [{
          name: `${r.name}: link ping (protocol round trip)`,
          value: r[metric]!,
          unit: "µs (lower is better)",
          ratio: { to: "secret-stream", value: r[metric]! / anchor[against] }
        }]
    )
  table(
    `100 B pipelined messages (${SMALL_COUNT.toLocaleString()} per trial); target Jarvis ≥ 1.5×`,
    rows("smallPerSecond", "msg/s", false)
  )
  table(
    `64 KiB messages (${LARGE_COUNT.toLocaleString()} per trial); target Jarvis ≥ 0.9×`,
    rows("largeMBps", "MB/s", false)
  )
  table(`Round trip, one 100 B message in flight, p50; target Jarvis ≤ 1.3×`, [
    ...rows("rttP50", "µs", true),
    ...pingRows("pingP50", "rttP50")
  ])
  table(`Round trip p99`, [...rows("rttP99", "µs", true), ...pingRows("pingP99", "rttP99")])
  table(`Connect + handshake + first message; target Jarvis ≤ 2×`, rows("connectMs", "ms", true))
}
