import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { dh, keyPairFromPrivate } from "../src/protocol/crypto/X25519.js"
import { pyJson } from "../src/protocol/internal/pyJson.js"
import * as FiveLayer from "../src/protocol/v1/FiveLayer.js"
import { encodeFrame, FrameDecoder, MessageType } from "../src/protocol/v1/Frame.js"
import { b64, hex, toHex, v1Vectors as v } from "./support/vectors.js"

const alice = keyPairFromPrivate(hex(v.x25519.alice_private_hex))
const bob = keyPairFromPrivate(hex(v.x25519.bob_private_hex))

describe("v1 legacy codec against the original's vectors", () => {
  it("derives the X25519 public keys and the shared secret", () => {
    assert.strictEqual(toHex(alice.publicKey), v.x25519.alice_public_hex)
    assert.strictEqual(toHex(bob.publicKey), v.x25519.bob_public_hex)
    assert.strictEqual(toHex(dh(alice.privateKey, bob.publicKey)!), v.x25519.shared_secret_hex)
    assert.strictEqual(toHex(dh(bob.privateKey, alice.publicKey)!), v.x25519.shared_secret_hex)
  })

  it("derives the five session keys with the HKDF chain", () => {
    const keys = FiveLayer.deriveSessionKeys(hex(v.x25519.shared_secret_hex))
    assert.deepStrictEqual(keys.map(toHex), v.session_keys_hex)
  })

  it("reproduces every layer of the five-layer ciphertext", () => {
    const keys = FiveLayer.deriveSessionKeys(hex(v.x25519.shared_secret_hex))
    const e = v.five_layer.encrypted
    const nonces = [e.nonce1, e.nonce2, e.nonce3, e.nonce4, e.nonce5].map(b64)
    const { layers, wire } = FiveLayer.encryptLayers(keys, v.five_layer.plaintext, nonces)
    assert.deepStrictEqual(layers.map(toHex), v.five_layer.layer_ciphertexts_hex)
    assert.deepStrictEqual(wire, e)
    assert.deepStrictEqual(FiveLayer.decrypt(keys, e), Either.right(v.five_layer.plaintext))
  })

  it("rejects a tampered or foreign five-layer message with a typed error", () => {
    const keys = FiveLayer.deriveSessionKeys(hex(v.x25519.shared_secret_hex))
    const e = v.five_layer.encrypted
    const flipped = Buffer.from(e.ciphertext, "base64")
    flipped[3]! ^= 1
    const tampered = FiveLayer.decrypt(keys, { ...e, ciphertext: flipped.toString("base64") })
    assert.isTrue(Either.isLeft(tampered) && tampered.left.reason === "Decrypt")
    const other = FiveLayer.deriveSessionKeys(new Uint8Array(32).fill(9))
    assert.isTrue(Either.isLeft(FiveLayer.decrypt(other, e)))
    const garbage = FiveLayer.decrypt(keys, { ...e, nonce3: "not base64!" })
    assert.isTrue(Either.isLeft(garbage) && garbage.left.reason === "Malformed")
  })

  it("encodes frames byte for byte like Python", () => {
    const handshake = encodeFrame(MessageType.HANDSHAKE, {
      uid: v.identity_file.plaintext.uid,
      username: "alice",
      public_key: v.x25519.alice_fingerprint,
      protocol_version: 1
    })
    assert.strictEqual(toHex(handshake), v.frames.handshake_hex)
    assert.strictEqual(toHex(encodeFrame(MessageType.PING, {})), v.frames.ping_hex)
    assert.strictEqual(toHex(encodeFrame(MessageType.PONG, {})), v.frames.pong_hex)
  })

  it("writes JSON the way Python's json.dumps does", () => {
    assert.strictEqual(
      pyJson({ a: "é你好 👋\n\"", b: [1, true, null], c: {} }),
      String.raw`{"a": "\u00e9\u4f60\u597d \ud83d\udc4b\n\"", "b": [1, true, null], "c": {}}`
    )
    assert.strictEqual(pyJson({ a: 1, b: { c: [] } }, 2), "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": []\n  }\n}")
    assert.strictEqual(pyJson("\u007f\u0001"), "\"\\u007f\\u0001\"")
  })

  it("decodes frames split at every byte boundary", () => {
    const frames = [encodeFrame(MessageType.PING, {}), encodeFrame(MessageType.TEXT_MESSAGE, { x: "y" })]
    const bytes = Buffer.concat(frames)
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder()
      decoder.push(bytes.subarray(0, cut))
      decoder.push(bytes.subarray(cut))
      const a = decoder.next()
      const b = decoder.next()
      assert.deepStrictEqual(a, Either.right({ type: MessageType.PING, payload: {} }))
      assert.deepStrictEqual(b, Either.right({ type: MessageType.TEXT_MESSAGE, payload: { x: "y" } }))
      assert.deepStrictEqual(decoder.next(), Either.right(undefined))
    }
  })

  it("bounds the declared length before buffering (the original honoured 4 GiB)", () => {
    const decoder = new FrameDecoder(1024)
    decoder.push(hex("010003ffffffff"))
    const result = decoder.next()
    assert.isTrue(Either.isLeft(result) && result.left.reason === "FrameTooLarge")
  })

  it("rejects a wrong version, an unknown type and non-object payloads", () => {
    const reasons = ["020003000000027b7d", "010032000000027b7d", "0100030000000131", "010003000000025b5d"].map((h) => {
      const decoder = new FrameDecoder()
      decoder.push(hex(h))
      const r = decoder.next()
      return Either.isLeft(r) ? r.left.reason : "ok"
    })
    assert.deepStrictEqual(reasons, ["Malformed", "Malformed", "Malformed", "Malformed"])
  })

  it.prop("never throws on random or mutated input", [
    fc.uint8Array({ maxLength: 2048 }),
    fc.integer({ min: 0, max: 64 })
  ], ([noise, mutateAt]) => {
    const valid = Buffer.concat([encodeFrame(MessageType.PING, {}), encodeFrame(MessageType.TEXT_MESSAGE, { a: 1 })])
    for (
      const input of [
        noise,
        Buffer.concat([valid, noise]),
        Buffer.from(valid).fill(noise[0] ?? 0, mutateAt % valid.length, mutateAt % valid.length + 1)
      ]
    ) {
      const decoder = new FrameDecoder(4096)
      decoder.push(input)
      for (let i = 0; i < 100; i++) {
        const r = decoder.next()
        if (Either.isLeft(r) || r.right === undefined) break
      }
      assert.isTrue(decoder.buffered <= input.length)
    }
  })

  it.prop("five-layer decrypt never throws on arbitrary fields", [fc.record({
    nonce1: fc.string(),
    nonce2: fc.string(),
    nonce3: fc.string(),
    nonce4: fc.string(),
    nonce5: fc.string(),
    ciphertext: fc.base64String()
  })], ([wire]) => {
    const keys = FiveLayer.deriveSessionKeys(hex(v.x25519.shared_secret_hex))
    assert.isTrue(Either.isLeft(FiveLayer.decrypt(keys, wire)))
  })

  it("refuses ciphertext longer than the largest body could encrypt to, and nonces that are not nonces", () => {
    const nonces = { nonce1: "AAAAAAAAAAAAAAAA", nonce2: "AAAAAAAAAAAAAAAA", nonce3: "AAAAAAAAAAAAAAAA" }
    const wire = { ...nonces, nonce4: "AAAAAAAAAAAAAAAA", nonce5: "AAAAAAAAAAAAAAAA" }
    const is = Schema.is(FiveLayer.FiveLayerCiphertext)
    assert.isTrue(is({ ...wire, ciphertext: "A".repeat(262_000) }))
    assert.isFalse(is({ ...wire, ciphertext: "A".repeat(300_000) }))
    assert.isFalse(is({ ...wire, nonce5: "A".repeat(65), ciphertext: "AAAA" }))
  })
})
