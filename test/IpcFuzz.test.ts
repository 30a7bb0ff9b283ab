import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { JarvisApi } from "../src/domain/Api.js"
import { LineReader } from "../src/protocol/JsonRpc.js"
import { inProcessDaemon, rawConnection } from "./support/daemon.js"

const utf8 = (text: string) => Buffer.from(text, "utf8")

/** Splits `bytes` at the given cut points (any order, any repeats). */
const chunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const point of points) {
    chunks.push(bytes.subarray(start, point))
    start = point
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

describe("the IPC line reader", () => {
  it.prop(
    "yields exactly the lines written, however the bytes are split",
    [fc.array(fc.string({ unit: "grapheme" }).map((s) => s.replace(/\n/g, "")), { maxLength: 20 }), fc.array(fc.nat())],
    ([lines, cuts]) => {
      const reader = new LineReader(1 << 20)
      const got: Array<string> = []
      for (const chunk of chunked(utf8(lines.map((l) => l + "\n").join("")), cuts)) {
        const { lines: out, oversized } = reader.push(chunk)
        assert.strictEqual(oversized, 0)
        got.push(...out)
      }
      assert.deepStrictEqual(got, lines.map((l) => l.trim()).filter((l) => l.length > 0))
    }
  )

  it.prop(
    "random bytes: no throw, no line over the bound, every over-long line reported",
    [fc.uint8Array({ maxLength: 4096 }), fc.array(fc.nat()), fc.integer({ min: 1, max: 300 })],
    ([bytes, cuts, maxLine]) => {
      const reader = new LineReader(maxLine)
      let oversized = 0
      for (const chunk of chunked(bytes, cuts)) {
        const out = reader.push(chunk)
        oversized += out.oversized
        // Decoding never makes a line longer than its bytes.
        for (const line of out.lines) assert.isAtMost(line.length, maxLine)
      }
      // Every complete line longer than the bound (in bytes) was dropped and reported.
      const complete = Buffer.from(bytes).toString("latin1").split("\n").slice(0, -1)
      const tooLong = complete.filter((l) => l.length > maxLine).length
      // (The unfinished last line may already have been reported too.)
      assert.isAtLeast(oversized, tooLong)
      assert.isAtMost(oversized, tooLong + 1)
    }
  )
})

// Every method except the two whose valid calls would end the test's daemon or never answer.
const methods = [...JarvisApi.requests.keys()].filter((m) => m !== "daemon.stop" && m !== "events.subscribe")

const anyJson = fc.jsonValue({ maxDepth: 3 })
const requestLike = fc.record({
  jsonrpc: fc.oneof(fc.constant("2.0"), anyJson),
  id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), anyJson),
  method: fc.oneof(fc.constantFrom(...methods), fc.string({ maxLength: 20 })),
  params: fc.oneof(
    anyJson,
    fc.dictionary(fc.constantFrom("contact", "body", "limit", "before", "password", "code", "id", "from"), anyJson)
  )
}, { requiredKeys: [] })
const line = fc.oneof(
  requestLike.map((r) => JSON.stringify(r)),
  anyJson.map((j) => JSON.stringify(j)),
  fc.string({ maxLength: 200 }).map((s) => s.replace(/\n/g, " "))
)

const isResponse = (value: unknown): value is { id: unknown; result?: unknown; error?: { code: unknown } } =>
  typeof value === "object" && value !== null && (value as { jsonrpc?: unknown }).jsonrpc === "2.0" &&
  ("result" in value || "error" in value)

describe("IPC fuzzing (a real daemon over its Unix socket)", () => {
  it.scopedLive(
    "every line gets exactly one JSON-RPC response with its id (or null), and the connection stays usable",
    () =>
      Effect.gen(function*() {
        const { socket } = yield* inProcessDaemon()
        const raw = yield* rawConnection(socket)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 15 }), async (lines) => {
              raw.lines.splice(0) // what a failed run left behind
              for (const text of lines) {
                raw.socket.write(text.trim().length === 0 ? "{}\n" : text + "\n")
                const response = await raw.next()
                if (!isResponse(response)) return assert.fail(`not a JSON-RPC response: ${JSON.stringify(response)}`)
                let sent: unknown
                try {
                  sent = JSON.parse(text)
                } catch {
                  sent = undefined
                }
                const id = (sent as { id?: unknown } | undefined)?.id
                const expected = typeof id === "string" || typeof id === "number" ? id : null
                assert.deepStrictEqual(response.id, expected)
                if (response.error !== undefined) assert.isTrue(Number.isInteger(response.error.code))
              }
              assert.strictEqual(raw.lines.length, 0, "no extra responses")
            }),
            { numRuns: 60 }
          )
        )
        raw.socket.write(JSON.stringify({ jsonrpc: "2.0", id: "last", method: "daemon.status" }) + "\n")
        const status = (yield* Effect.promise(() => raw.next())) as { id: string; result: { pid: number } }
        assert.deepStrictEqual([status.id, status.result.pid], ["last", process.pid])
      }),
    { timeout: 60_000 }
  )
})
