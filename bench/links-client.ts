/**
 * Child process for the idle-links benchmark: opens one authenticated v2 link to the hub per
 * identity in the file given as argv[2], answers pings, and reports when all are up.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import type { Uid } from "../src/domain/Ids.js"
import type { Channel } from "../src/protocol/Channel.js"
import { keyPairFromPrivate } from "../src/protocol/crypto/X25519.js"
import * as NodeStream from "../src/protocol/NodeStream.js"
import * as SecureChannel from "../src/protocol/SecureChannel.js"

interface Plan {
  readonly port: number
  readonly hubKey: string
  readonly clients: ReadonlyArray<{ readonly uid: string; readonly privateKey: string }>
}

const plan: Plan = JSON.parse(readFileSync(process.argv[2]!, "utf8"))
const hubKey = new Uint8Array(Buffer.from(plan.hubKey, "hex"))

const answerPings = (channel: Channel) =>
  Effect.forever(
    Effect.flatMap(channel.receive, (batch) => {
      const pongs = batch.flatMap((m) => (m._tag === "Ping" ? [{ _tag: "Pong" as const, seq: m.seq }] : []))
      return pongs.length === 0 ? Effect.void : channel.send(pongs)
    })
  ).pipe(Effect.ignore)

const connect = (client: Plan["clients"][number]) =>
  Effect.gen(function*() {
    const keyPair = keyPairFromPrivate(new Uint8Array(Buffer.from(client.privateKey, "hex")))
    const stream = yield* NodeStream.connect("127.0.0.1", plan.port)
    const channel = yield* SecureChannel.initiate(stream, hubKey, {
      staticKeyPair: keyPair,
      hello: { _tag: "Hello", uid: client.uid as Uid, username: "client", listenPort: 0, agent: "bench", features: [] }
    })
    yield* Effect.forkDaemon(answerPings(channel))
  }).pipe(Effect.retry({ times: 5 }))

const program = Effect.gen(function*() {
  const start = performance.now()
  yield* Effect.forEach(plan.clients, connect, { concurrency: 64, discard: true })
  process.stdout.write(JSON.stringify({ ready: performance.now() - start }) + "\n")
  yield* Effect.never
})

Effect.runPromise(program).catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error) }) + "\n")
  process.exit(1)
})
