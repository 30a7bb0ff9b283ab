import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import { keyPairFromPrivate } from "../src/protocol/crypto/X25519.js"
import type { PatternName } from "../src/protocol/noise/HandshakeState.js"
import { HandshakeState } from "../src/protocol/noise/HandshakeState.js"

interface Vector {
  readonly protocol_name: string
  readonly init_prologue: string
  readonly init_static?: string
  readonly init_ephemeral: string
  readonly init_remote_static?: string
  readonly resp_prologue: string
  readonly resp_static?: string
  readonly resp_ephemeral: string
  readonly resp_remote_static?: string
  readonly handshake_hash: string
  readonly messages: ReadonlyArray<{ readonly payload: string; readonly ciphertext: string }>
}

const vectors: ReadonlyArray<Vector> = JSON.parse(
  readFileSync(new URL("../../shared/vectors/noise-25519-chachapoly-sha256.json", import.meta.url), "utf8")
).vectors

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"))
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const keyPair = (s: string | undefined) => (s === undefined ? undefined : keyPairFromPrivate(hex(s)))
const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`unexpected failure: ${String(either.left)}`)
  return either.right
}

describe("Noise test vectors (cacophony)", () => {
  it("covers the five patterns Jarvis claims", () => {
    const names = new Set(vectors.map((v) => v.protocol_name))
    for (const p of ["NN", "KK", "XK", "IK", "XX"]) assert.isTrue(names.has(`Noise_${p}_25519_ChaChaPoly_SHA256`))
  })

  for (const vector of vectors) {
    it(vector.protocol_name, () => {
      const pattern = vector.protocol_name.split("_")[1] as PatternName
      const initiator = new HandshakeState({
        pattern,
        initiator: true,
        prologue: hex(vector.init_prologue),
        staticKeyPair: keyPair(vector.init_static),
        ephemeralKeyPair: keyPair(vector.init_ephemeral),
        remoteStatic: vector.init_remote_static === undefined ? undefined : hex(vector.init_remote_static)
      })
      const responder = new HandshakeState({
        pattern,
        initiator: false,
        prologue: hex(vector.resp_prologue),
        staticKeyPair: keyPair(vector.resp_static),
        ephemeralKeyPair: keyPair(vector.resp_ephemeral),
        remoteStatic: vector.resp_remote_static === undefined ? undefined : hex(vector.resp_remote_static)
      })
      let i = 0
      for (; !initiator.isFinished; i++) {
        const { ciphertext, payload } = vector.messages[i]!
        const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator]
        assert.strictEqual(toHex(right(writer.writeMessage(hex(payload)))), ciphertext)
        assert.strictEqual(toHex(right(reader.readMessage(hex(ciphertext)))), payload)
      }
      assert.isTrue(responder.isFinished)
      assert.strictEqual(toHex(initiator.handshakeHash), vector.handshake_hash)
      assert.strictEqual(toHex(responder.handshakeHash), vector.handshake_hash)
      const init = right(initiator.split())
      const resp = right(responder.split())
      for (; i < vector.messages.length; i++) {
        const { ciphertext, payload } = vector.messages[i]!
        const [send, receive] = i % 2 === 0 ? [init.send, resp.receive] : [resp.send, init.receive]
        assert.strictEqual(toHex(send.encryptWithAd(null, hex(payload))), ciphertext)
        assert.strictEqual(toHex(receive.decryptWithAd(null, hex(ciphertext))!), payload)
      }
    })
  }
})
