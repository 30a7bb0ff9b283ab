/**
 * Foundation: Argon2id unlock time, the raw AEAD calls the v2 channel is built on (node:crypto and
 * libsodium), and the channel's cost per typed message (encode + seal, open + decode), in one run.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import type { MessageId } from "../../src/domain/Ids.js"
import type { WireMessage } from "../../src/domain/Messages.js"
import { nodeAead, sodiumAead } from "../../src/protocol/crypto/Aead.js"
import type { Aead } from "../../src/protocol/crypto/Aead.js"
import { FrameDecoder, FrameEncoder } from "../../src/protocol/Framing.js"
import { CipherState } from "../../src/protocol/noise/CipherState.js"
import { deriveKey } from "../../src/services/internal/envelope.js"
import { median, opsPerSecond, table, timeAsync } from "../lib.js"
import type { Row } from "../lib.js"

const rawRoundTrip = (aead: Aead, size: number) => {
  const key = randomBytes(32)
  const nonce = new Uint8Array(12)
  const plain = randomBytes(size)
  const sealed = new Uint8Array(size + 16)
  const opened = new Uint8Array(size)
  return () => {
    aead.seal(sealed, key, nonce, null, plain)
    aead.open(opened, key, nonce, null, sealed)
  }
}

const textBatch = (count: number, bodyLength: number): Array<WireMessage> =>
  Array.from({ length: count }, (_, i) => ({
    _tag: "Text",
    id: `${(1_732_492_800_000 + i).toString(16)}0123456789abcdef${String(i).padStart(4, "0")}` as MessageId,
    body: "x".repeat(bodyLength),
    sentAt: 1_732_492_800_000 + i
  }))

/**
 * µs per message for `encodeMessages` of `batches` copies of `messages` (the outputs kept, as a
 * socket would until written), then for `push` + `drainMessages` of those outputs; medians of
 * `rounds`.
 */
const channelCost = (messages: ReadonlyArray<WireMessage>, batches: number, rounds = 9) => {
  const encode: Array<number> = []
  const decode: Array<number> = []
  const out: Array<WireMessage> = []
  for (let round = 0; round < rounds; round++) {
    const key = randomBytes(32)
    const send = new CipherState()
    const receive = new CipherState()
    send.initializeKey(key)
    receive.initializeKey(new Uint8Array(key))
    const encoder = new FrameEncoder(send)
    const decoder = new FrameDecoder(receive)
    const wires: Array<Uint8Array> = []
    let start = performance.now()
    for (let i = 0; i < batches; i++) wires.push(encoder.encodeMessages(messages))
    encode.push(((performance.now() - start) * 1000) / batches / messages.length)
    start = performance.now()
    for (const wire of wires) {
      decoder.push(wire)
      decoder.drainMessages(out)
      if (out.length !== messages.length) throw new Error("lost a message")
      out.length = 0
    }
    decode.push(((performance.now() - start) * 1000) / batches / messages.length)
  }
  return { encode: median(encode), decode: median(decode) }
}

export const run = async () => {
  const password = "correct horse battery staple"
  const unlockMs = await timeAsync(() => Effect.runPromise(deriveKey(password, randomBytes(16))), 7)
  table("Identity unlock (Argon2id t=3, m=64 MiB, p=1, @node-rs/argon2)", [
    {
      name: "unlock (key derivation)",
      value: median(unlockMs),
      unit: "ms",
      ratio: { to: "of the 1 s budget", value: median(unlockMs) / 1000 }
    }
  ])

  const rows: Array<Row> = []
  for (const size of [100, 64 * 1024 - 64]) {
    const label = size === 100 ? "100 B" : "64 KiB"
    const mb = (ops: number) => (ops * size) / 1e6
    const node = opsPerSecond(rawRoundTrip(nodeAead, size))
    const sodium = opsPerSecond(rawRoundTrip(sodiumAead, size))
    rows.push(
      {
        name: `${label}: raw node:crypto seal+open`,
        value: size === 100 ? node / 1000 : mb(node),
        unit: size === 100 ? "k msg/s" : "MB/s"
      },
      {
        name: `${label}: raw libsodium seal+open`,
        value: size === 100 ? sodium / 1000 : mb(sodium),
        unit: size === 100 ? "k msg/s" : "MB/s",
        ratio: { to: "node:crypto", value: sodium / node }
      }
    )
  }
  table("Raw AEAD (ChaCha20-Poly1305)", rows)

  const channel: Array<Row> = []
  for (
    const [label, messages, batches] of [
      ["Text, 100 B body, 64 per write", textBatch(64, 100), 2000],
      ["Text, 64 KiB body (chunked), 1 per write", textBatch(1, 64 * 1024), 200]
    ] as const
  ) {
    channelCost(messages, batches, 2)
    const { decode, encode } = channelCost(messages, batches)
    channel.push(
      { name: `${label}: encode + seal`, value: encode, unit: "µs per message" },
      { name: `${label}: open + decode`, value: decode, unit: "µs per message" },
      { name: `${label}: both ends`, value: encode + decode, unit: "µs per message" }
    )
  }
  table("v2 channel: typed messages through FrameEncoder.encodeMessages / FrameDecoder.drainMessages", channel)
}
