import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"
import type { TransportError } from "../src/domain/Errors.js"
import * as NodeStream from "../src/protocol/NodeStream.js"

/** Lets the event loop turn (socket reads happen there), `turns` times. */
const turns = (n: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise<void>((resume) => setImmediate(resume))
  })

const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_000 && !done(); i++) yield* turns(1)
    assert.isTrue(done(), "condition not reached")
  })

/** A loopback pair: the server side sends `bytes` in 64 KiB writes, then ends. */
const serving = (bytes: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly client: Net.Socket }>((resume) => {
      const server = Net.createServer((socket) => {
        const chunk = Buffer.alloc(64 * 1024, 7)
        for (let sent = 0; sent < bytes; sent += chunk.length) socket.write(chunk)
        socket.end()
      })
      server.listen(0, "127.0.0.1", () => {
        const client = Net.connect((server.address() as Net.AddressInfo).port, "127.0.0.1")
        client.once("connect", () => resume(Effect.succeed({ server, client })))
      })
    }),
    ({ client, server }) =>
      Effect.sync(() => {
        client.destroy()
        server.close()
      })
  )

describe("a TCP byte stream pushing to a sink (127.0.0.1)", () => {
  it.scoped("a sink that stops reading while it takes what was buffered before it attached stays paused", () =>
    Effect.gen(function*() {
      const total = 3 * 1024 * 1024
      const { client } = yield* serving(total)
      const stream = NodeStream.fromSocket(client)
      // Nobody reads yet: the stream buffers up to its high-water mark and pauses the socket.
      yield* turns(200)
      let received = 0
      let chunks = 0
      const ends: Array<TransportError> = []
      stream.attach({
        chunk: (chunk) => {
          received += chunk.length
          if (++chunks === 1) stream.setReading(false)
        },
        end: (error) => void ends.push(error),
        drained: () => {}
      })
      yield* turns(200)
      assert.strictEqual(chunks, 1, "nothing after the sink asked to stop")
      assert.deepStrictEqual(ends, [])
      stream.setReading(true)
      yield* until(() => ends.length > 0)
      assert.strictEqual(received, total, "every byte, once")
      assert.strictEqual(ends.length, 1)
      assert.strictEqual(ends[0]!.reason, "Closed")
    }))

  it.scoped("the end waits until a paused sink has taken every chunk", () =>
    Effect.gen(function*() {
      const total = 512 * 1024
      const { client } = yield* serving(total)
      const stream = NodeStream.fromSocket(client)
      let received = 0
      const ends: Array<TransportError> = []
      stream.attach({
        chunk: (chunk) => void (received += chunk.length),
        end: (e) => void ends.push(e),
        drained: () => {}
      })
      stream.setReading(false)
      yield* turns(200)
      assert.deepStrictEqual(ends, [], "not ended while chunks wait")
      stream.setReading(true)
      yield* until(() => ends.length > 0)
      assert.strictEqual(received, total)
    }))
})
