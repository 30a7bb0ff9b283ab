/**
 * SHA-2, HMAC and HKDF as Noise (§4.3) and the v1 codec (RFC 5869) use them.
 *
 * @since 2.0.0
 */
import { createHash, createHmac, hkdfSync } from "node:crypto"

/**
 * @since 2.0.0
 * @category hashing
 */
export const sha256 = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const hash = createHash("sha256")
  for (const part of parts) hash.update(part)
  return new Uint8Array(hash.digest())
}

/**
 * @since 2.0.0
 * @category hashing
 */
export const hmacSha256 = (key: Uint8Array, ...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const hmac = createHmac("sha256", key)
  for (const part of parts) hmac.update(part)
  return new Uint8Array(hmac.digest())
}

const ONE = Uint8Array.of(1)
const TWO = Uint8Array.of(2)

/**
 * Noise's HKDF(chaining_key, input_key_material) with two outputs.
 *
 * @since 2.0.0
 * @category kdf
 */
export const noiseHkdf2 = (chainingKey: Uint8Array, ikm: Uint8Array): readonly [Uint8Array, Uint8Array] => {
  const temp = hmacSha256(chainingKey, ikm)
  const out1 = hmacSha256(temp, ONE)
  const out2 = hmacSha256(temp, out1, TWO)
  return [out1, out2]
}

/**
 * RFC 5869 extract-and-expand with an arbitrary SHA-2 hash; an empty salt means HashLen zero bytes.
 *
 * @since 2.0.0
 * @category kdf
 */
export const hkdf = (
  hash: "sha256" | "sha384" | "sha512",
  ikm: Uint8Array,
  salt: Uint8Array,
  info: string,
  length: number
): Uint8Array => new Uint8Array(hkdfSync(hash, ikm, salt, Buffer.from(info, "ascii"), length))
