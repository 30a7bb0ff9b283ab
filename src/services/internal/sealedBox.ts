/**
 * At-rest encryption for the store: XChaCha20-Poly1305 with a random 24-byte nonce per record and
 * the record's identity (table and key) as associated data, so a ciphertext cannot be moved to
 * another row. The key is derived from the identity's private key, so the data directory is
 * useless without the password.
 */
import { randomFillSync } from "node:crypto"
import sodium from "sodium-native"
import { hkdf } from "../../protocol/crypto/Hash.js"

const NONCE = 24
const TAG = 16

export interface SealedBox {
  readonly seal: (ad: string, plaintext: Uint8Array) => Uint8Array
  /** `undefined` when the record was tampered with, moved, or sealed under another key. */
  readonly open: (ad: string, sealed: Uint8Array) => Uint8Array | undefined
  readonly sealJson: (ad: string, value: unknown) => Uint8Array
  readonly openJson: (ad: string, sealed: Uint8Array) => unknown
}

export const deriveStoreKey = (identityPrivateKey: Uint8Array): Uint8Array =>
  hkdf("sha256", identityPrivateKey, Buffer.from("jarvis-store", "ascii"), "jarvis-store-key-v1", 32)

/** Nonces come from a pool refilled in bulk: one CSPRNG call per 170 records instead of one each. */
const POOL = NONCE * 170

export const make = (key: Uint8Array): SealedBox => {
  const pool = Buffer.alloc(POOL)
  let used = POOL
  const seal = (ad: string, plaintext: Uint8Array) => {
    const out = new Uint8Array(NONCE + plaintext.length + TAG)
    const nonce = out.subarray(0, NONCE)
    if (used === POOL) {
      randomFillSync(pool)
      used = 0
    }
    nonce.set(pool.subarray(used, used + NONCE))
    used += NONCE
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.subarray(NONCE),
      plaintext,
      Buffer.from(ad, "utf8"),
      null,
      nonce,
      key
    )
    return out
  }
  const open = (ad: string, sealed: Uint8Array) => {
    if (sealed.length < NONCE + TAG) return undefined
    const out = new Uint8Array(sealed.length - NONCE - TAG)
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out,
        null,
        sealed.subarray(NONCE),
        Buffer.from(ad, "utf8"),
        sealed.subarray(0, NONCE),
        key
      )
      return out
    } catch {
      return undefined
    }
  }
  return {
    seal,
    open,
    sealJson: (ad, value) => seal(ad, Buffer.from(JSON.stringify(value), "utf8")),
    openJson: (ad, sealed) => {
      const bytes = open(ad, sealed)
      return bytes === undefined ? undefined : JSON.parse(Buffer.from(bytes).toString("utf8"))
    }
  }
}
