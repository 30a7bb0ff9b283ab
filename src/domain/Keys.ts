/**
 * Public keys as they travel in link codes, contact cards, the IPC API and storage.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
import type { Fingerprint } from "./Ids.js"

/**
 * A raw 32-byte X25519 public key.
 *
 * @since 2.0.0
 * @category keys
 */
export const PublicKeyBytes = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((bytes) => bytes.length === 32 || "a public key is exactly 32 bytes", {
    arbitrary: () => (fc) => fc.uint8Array({ minLength: 32, maxLength: 32 })
  }),
  Schema.brand("PublicKey"),
  Schema.annotations({ identifier: "PublicKey" })
)
export type PublicKey = typeof PublicKeyBytes.Type

/**
 * A public key encoded as standard padded base64 (the original's `public_key` field).
 *
 * @since 2.0.0
 * @category keys
 */
export const PublicKey = Schema.compose(Schema.Uint8ArrayFromBase64, PublicKeyBytes).annotations({
  identifier: "PublicKeyBase64",
  description: "32-byte X25519 public key, standard base64"
})

/**
 * SHA-256 of the raw public key as 64 lowercase hex digits.
 *
 * @since 2.0.0
 * @category keys
 */
export const fingerprintOf = (publicKey: Uint8Array): Fingerprint =>
  createHash("sha256").update(publicKey).digest("hex") as Fingerprint

/**
 * The fingerprint in groups of four for people to compare aloud.
 *
 * @since 2.0.0
 * @category keys
 */
export const formatFingerprint = (fingerprint: string): string => fingerprint.match(/.{1,4}/g)?.join(" ") ?? ""

/**
 * Constant-time equality of two byte strings of equal length.
 *
 * @since 2.0.0
 * @category keys
 */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/**
 * Total order on keys, used to break ties between simultaneous connections.
 *
 * @since 2.0.0
 * @category keys
 */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)
