/**
 * History queries on a store holding 100,000 messages (BENCH_HISTORY): the newest 50 (what
 * `jarvis history` shows), a page deep in the past, and unread counts.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Contact } from "../../src/domain/Contact.js"
import type { MessageId, Uid } from "../../src/domain/Ids.js"
import type { PublicKey } from "../../src/domain/Keys.js"
import { fingerprintOf } from "../../src/domain/Keys.js"
import type { Deliverable } from "../../src/domain/Messages.js"
import { generateKeyPair } from "../../src/protocol/crypto/X25519.js"
import * as ContactStore from "../../src/services/ContactStore.js"
import * as EventLog from "../../src/services/EventLog.js"
import { Inbox } from "../../src/services/Inbox.js"
import * as MessageStore from "../../src/services/MessageStore.js"
import * as Store from "../../src/services/Store.js"
import { median, percentile, table } from "../lib.js"

const MESSAGES = Number(process.env.BENCH_HISTORY ?? 100_000)

const timeQueries = async (op: () => Promise<unknown>, count: number) => {
  const times: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await op()
    times.push(performance.now() - start)
  }
  return times
}

export const run = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jarvis-bench-history-"))
  const scope = Effect.runSync(Scope.make())
  try {
    const owner = generateKeyPair()
    const context = await Effect.runPromise(Layer.buildWithScope(
      MessageStore.layer({ capacity: 10_000 }).pipe(
        Layer.provideMerge(EventLog.layer()),
        Layer.provideMerge(ContactStore.layer),
        Layer.provideMerge(Store.layer({ dataDir: dir, identityPrivateKey: owner.privateKey }))
      ),
      scope
    ))
    const inbox = Context.get(context, Inbox)
    const history = Context.get(context, MessageStore.History)
    const peerKey = generateKeyPair().publicKey as PublicKey
    const peer = new Contact({
      uid: "0123456789abcdef0123456789abcdef" as Uid,
      username: "peer",
      publicKey: peerKey,
      fingerprint: fingerprintOf(peerKey),
      host: "127.0.0.1",
      port: 1,
      verified: false,
      legacy: false,
      signed: false,
      notes: "",
      addedAt: 0
    })

    const fillStart = performance.now()
    for (let batch = 0; batch < MESSAGES / 1000; batch++) {
      const messages: Array<Deliverable> = Array.from({ length: 1000 }, (_, i) => {
        const n = batch * 1000 + i
        return {
          _tag: "Text",
          id: `h${n}` as MessageId,
          body: `message number ${n}, of about the length of a chat line`,
          sentAt: 1_700_000_000_000 + n
        }
      })
      await Effect.runPromise(inbox.deliver(peer, messages, 1_700_000_000_000 + batch * 1000))
    }
    const fillSeconds = (performance.now() - fillStart) / 1000

    const newest = await timeQueries(() => Effect.runPromise(history.page(peer.uid, { limit: 50 })), 300)
    const middle = (await Effect.runPromise(history.page(peer.uid, { limit: 1 }))).next! / 2
    const deep = await timeQueries(
      () => Effect.runPromise(history.page(peer.uid, { limit: 50, before: middle })),
      300
    )
    const unread = await timeQueries(() => Effect.runPromise(history.unread), 100)
    table(`History with ${MESSAGES.toLocaleString("en")} messages (SQLite, sealed bodies)`, [
      { name: "stored (received batches of 1,000)", value: MESSAGES / fillSeconds, unit: "msg/s" },
      { name: "newest 50 (p50)", value: median(newest), unit: "ms" },
      { name: "newest 50 (p99)", value: percentile(newest, 99), unit: "ms" },
      { name: "50 from the middle (p50)", value: median(deep), unit: "ms" },
      { name: "unread counts (p50)", value: median(unread), unit: "ms" }
    ])
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
