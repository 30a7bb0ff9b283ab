import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import sodium from "sodium-native"
import type { Uid } from "../src/domain/Ids.js"
import * as ContactCode from "../src/protocol/ContactCode.js"
import { generateKeyPair, keyPairFromPrivate } from "../src/protocol/crypto/X25519.js"
import * as XEdDSA from "../src/protocol/crypto/XEdDSA.js"
import { hex, toHex, v1Vectors as v } from "./support/vectors.js"

const alice = keyPairFromPrivate(hex(v.x25519.alice_private_hex))
const signer = { uid: v.identity_file.plaintext.uid as Uid, username: "alice", ...alice }

/** The original's parser (ui.py): prefix, base64, JSON, six required fields; nothing else. */
const originalParse = (code: string) => {
  if (!code.startsWith("jarvis://")) return undefined
  const data = JSON.parse(Buffer.from(code.slice(9), "base64").toString("utf8"))
  return ["uid", "username", "public_key", "fingerprint", "host", "port"].every((f) => f in data) ? data : undefined
}

const reencode = (code: string, f: (data: Record<string, unknown>) => void) => {
  const data = JSON.parse(Buffer.from(code.slice(9), "base64").toString("utf8"))
  f(data)
  return "jarvis://" + Buffer.from(JSON.stringify(data)).toString("base64")
}

describe("XEdDSA", () => {
  it("pairs the X25519 key with the Edwards key of the same scalar", () => {
    for (let i = 0; i < 20; i++) {
      const pair = generateKeyPair()
      const k = new Uint8Array(pair.privateKey)
      k[0]! &= 248
      k[31]! &= 127
      k[31]! |= 64
      const E = new Uint8Array(32)
      sodium.crypto_scalarmult_ed25519_base_noclamp(E, k)
      E[31]! &= 0x7f
      assert.strictEqual(toHex(XEdDSA.edwardsFromMontgomery(pair.publicKey)!), toHex(E))
    }
  })

  it.prop(
    "verifies its own signatures and nothing else",
    [fc.uint8Array({ maxLength: 200 }), fc.nat(63)],
    ([message, flip]) => {
      const pair = generateKeyPair()
      const signature = XEdDSA.sign(pair.privateKey, message)
      assert.isTrue(XEdDSA.verify(pair.publicKey, message, signature))
      const bad = new Uint8Array(signature)
      bad[flip]! ^= 1
      assert.isFalse(XEdDSA.verify(pair.publicKey, message, bad))
      assert.isFalse(XEdDSA.verify(generateKeyPair().publicKey, message, signature))
      assert.isFalse(XEdDSA.verify(pair.publicKey, Buffer.concat([message, Buffer.of(0)]), signature))
    }
  )
})

describe("link codes and contact cards", () => {
  it("parses the original's link code (unsigned)", () => {
    const card = Either.getOrThrow(ContactCode.parseLinkCode(v.link_code))
    assert.strictEqual(card.uid, v.identity_file.plaintext.uid)
    assert.strictEqual(card.username, "alice")
    assert.strictEqual(card.host, "127.0.0.1")
    assert.strictEqual(card.port, 5000)
    assert.strictEqual(card.fingerprint, v.x25519.alice_fingerprint)
    assert.strictEqual(toHex(card.publicKey), v.x25519.alice_public_hex)
    assert.isFalse(card.signed)
  })

  it("writes codes the original parser accepts, with a signature we verify", () => {
    const code = ContactCode.makeLinkCode(signer, "127.0.0.1", 5000)
    const original = originalParse(code)
    assert.strictEqual(original.username, "alice")
    assert.strictEqual(original.public_key, v.x25519.alice_public_b64)
    const card = Either.getOrThrow(ContactCode.parseLinkCode(code))
    assert.isTrue(card.signed)
    const stripped = Either.getOrThrow(ContactCode.parseLinkCode(reencode(code, (d) => delete d.sig)))
    assert.isFalse(stripped.signed)
  })

  it("detects tampering: altered host, swapped key, wrong fingerprint", () => {
    const code = ContactCode.makeLinkCode(signer, "127.0.0.1", 5000)
    const reason = (c: string) => {
      const r = ContactCode.parseLinkCode(c)
      return Either.isLeft(r) ? r.left.reason : "ok"
    }
    assert.strictEqual(reason(reencode(code, (d) => (d.host = "evil.example"))), "BadSignature")
    assert.strictEqual(reason(reencode(code, (d) => (d.port = 5001))), "BadSignature")
    const mallory = generateKeyPair()
    assert.strictEqual(
      reason(reencode(code, (d) => (d.public_key = Buffer.from(mallory.publicKey).toString("base64")))),
      "FingerprintMismatch"
    )
    assert.strictEqual(reason(reencode(v.link_code, (d) => (d.fingerprint = "0".repeat(64)))), "FingerprintMismatch")
    for (
      const bad of ["", "http://x", "jarvis://", "jarvis://!!!", "jarvis://" + Buffer.from("[1]").toString("base64")]
    ) {
      assert.strictEqual(reason(bad), "Format")
    }
  })

  it("round-trips .jcard files and reads the original's", () => {
    const text = ContactCode.makeCardFile(signer, "localhost", 5000, "2025-10-26T14:03:07.123456")
    const json = JSON.parse(text)
    assert.strictEqual(json.type, "jarvis_contact_card")
    assert.strictEqual(json.version, "1.0")
    const card = Either.getOrThrow(ContactCode.parseCardFile(text))
    assert.isTrue(card.signed)
    const { sig: _sig, ...original } = json
    assert.isFalse(Either.getOrThrow(ContactCode.parseCardFile(JSON.stringify(original))).signed)
    const wrongType = ContactCode.parseCardFile(JSON.stringify({ ...original, type: "other" }))
    assert.isTrue(Either.isLeft(wrongType))
    assert.strictEqual(ContactCode.cardFileName("alice", signer.uid), "alice_00112233.jcard")
  })

  it.prop("never throws on arbitrary input", [fc.string({ maxLength: 600 })], ([s]) => {
    for (const input of [s, "jarvis://" + s, "jarvis://" + Buffer.from(s).toString("base64")]) {
      const result = ContactCode.parseLinkCode(input)
      assert.isTrue(Either.isLeft(result))
      assert.isTrue(Either.isLeft(ContactCode.parseCardFile(input)))
    }
  })
})
