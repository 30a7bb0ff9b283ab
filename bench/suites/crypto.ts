/**
 * Foundation: Argon2id unlock time, and the v2 channel's encrypt+decrypt throughput beside the raw
 * AEAD calls it is built on (node:crypto and libsodium), all in one run.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import type { MessageId } from "../../src/domain/Ids.js"
import type { WireMessage } from "../../src/domain/Messages.js"
import { nodeAead, sodiumAead } from "../../src/protocol/crypto/Aead.js"
import type { Aead } from "../../src/protocol/crypto/Aead.js"
import { FrameDecoder, FrameEncoder } from "../../src/protocol/Framing.js"
import * as MessageCodec from "../../src/protocol/MessageCodec.js"
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

const channelRoundTrip = (size: number, batch: number) => {
  const key = randomBytes(32)
  const send = new CipherState()
  const receive = new CipherState()
  send.initializeKey(key)
  receive.initializeKey(new Uint8Array(key))
  const encoder = new FrameEncoder(send)
  const decoder = new FrameDecoder(receive)
  const messages = Array.from({ length: batch }, () => randomBytes(size))
  const out: Array<Uint8Array> = []
  return () => {
    for (const frame of encoder.encode(messages)) decoder.push(frame)
    decoder.drain(out)
    if (out.length !== batch) throw new Error("lost a message")
    out.length = 0
  }
}

const messageRoundTrip = (batch: number) => {
  const key = randomBytes(32)
  const send = new CipherState()
  const receive = new CipherState()
  send.initializeKey(key)
  receive.initializeKey(new Uint8Array(key))
  const encoder = new FrameEncoder(send)
  const decoder = new FrameDecoder(receive)
  const messages: Array<WireMessage> = Array.from({ length: batch }, (_, i) => ({
    _tag: "Text",
    id: `0123456789abcdef0123456789abc${String(i).padStart(3, "0")}` as MessageId,
    body: "x".repeat(40),
    sentAt: 1_732_492_800_000 + i
  }))
  const out: Array<Uint8Array> = []
  return () => {
    for (const frame of encoder.encode(messages.map(MessageCodec.encode))) decoder.push(frame)
    decoder.drain(out)
    for (const bytes of out) MessageCodec.decode(bytes)
    out.length = 0
  }
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
    const single = opsPerSecond(channelRoundTrip(size, 1))
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
      },
      {
        name: `${label}: v2 channel, one message per frame`,
        value: size === 100 ? single / 1000 : mb(single),
        unit: size === 100 ? "k msg/s" : "MB/s",
        ratio: { to: "best raw AEAD", value: single / Math.max(node, sodium) }
      }
    )
    if (size === 100) {
      const batched = opsPerSecond(channelRoundTrip(size, 64)) * 64
      rows.push({
        name: `${label}: v2 channel, 64 queued messages per frame`,
        value: batched / 1000,
        unit: "k msg/s",
        ratio: { to: "best raw AEAD", value: batched / Math.max(node, sodium) }
      })
      const typed = opsPerSecond(messageRoundTrip(64)) * 64
      rows.push({
        name: `Text message (40 B body) incl. Schema+MessagePack, 64 per frame`,
        value: typed / 1000,
        unit: "k msg/s",
        ratio: { to: "best raw AEAD", value: typed / Math.max(node, sodium) }
      })
    }
  }
  table("v2 channel encrypt+decrypt vs raw AEAD (ChaCha20-Poly1305)", rows)
}
