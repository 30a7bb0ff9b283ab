/** Small benchmark helpers: repeated trials, medians, ratios. Timing lives here, never in tests. */

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

/** Runs `op` in batches for about `trialMs` per trial; returns the median operations per second. */
export const opsPerSecond = (op: () => void, options: { readonly trials?: number; readonly trialMs?: number } = {}) => {
  const trials = options.trials ?? 7
  const trialMs = options.trialMs ?? 250
  for (let i = 0; i < 200; i++) op()
  const rates: Array<number> = []
  for (let t = 0; t < trials; t++) {
    let n = 0
    const start = performance.now()
    let now = start
    while (now - start < trialMs) {
      for (let i = 0; i < 64; i++) op()
      n += 64
      now = performance.now()
    }
    rates.push((n * 1000) / (now - start))
  }
  return median(rates)
}

export const timeAsync = async (op: () => Promise<unknown>, trials: number): Promise<Array<number>> => {
  const ms: Array<number> = []
  for (let t = 0; t < trials; t++) {
    const start = performance.now()
    await op()
    ms.push(performance.now() - start)
  }
  return ms
}

export interface Row {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly ratio?: { readonly to: string; readonly value: number } | undefined
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

export const table = (title: string, rows: ReadonlyArray<Row>) => {
  console.log(`\n## ${title}\n`)
  console.log("| measurement | median | unit | ratio |")
  console.log("| --- | ---: | --- | --- |")
  for (const row of rows) {
    const ratio = row.ratio === undefined ? "" : `${row.ratio.value.toFixed(2)}× ${row.ratio.to}`
    console.log(`| ${row.name} | ${fmt(row.value)} | ${row.unit} | ${ratio} |`)
  }
}
