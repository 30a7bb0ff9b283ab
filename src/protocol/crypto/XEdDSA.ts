/**
 * XEdDSA (Signal's specification): Ed25519-compatible signatures made and checked with an X25519
 * identity key, so a link code can be signed without a second key. Point arithmetic is libsodium's;
 * the one scalar product is done with bigint, which is acceptable for the rare, local act of signing.
 *
 * @since 2.0.0
 */
import { randomBytes } from "node:crypto"
import sodium from "sodium-native"

const P = 2n ** 255n - 19n
const Q = 2n ** 252n + 27742317777372353535851937790883648493n

const toBigLE = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

const toBytesLE = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

const modPow = (base: bigint, exp: bigint, mod: bigint): bigint => {
  let result = 1n
  base %= mod
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod
    base = (base * base) % mod
    exp >>= 1n
  }
  return result
}

const sha512 = (...parts: Array<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(64)
  sodium.crypto_hash_sha512(out, Buffer.concat(parts))
  return out
}

const reduce = (wide: Uint8Array): Uint8Array => {
  const out = new Uint8Array(32)
  sodium.crypto_core_ed25519_scalar_reduce(out, wide)
  return out
}

const clamp = (privateKey: Uint8Array): Uint8Array => {
  const k = new Uint8Array(privateKey)
  k[0]! &= 248
  k[31]! &= 127
  k[31]! |= 64
  return k
}

const hash1Prefix = new Uint8Array(32).fill(0xff)
hash1Prefix[0] = 0xfe

/**
 * Signs `message` with an X25519 private key. The result is a 64-byte Ed25519 signature valid
 * under the Edwards form of the matching X25519 public key.
 *
 * @since 2.0.0
 * @category signing
 */
export const sign = (privateKey: Uint8Array, message: Uint8Array, random: Uint8Array = randomBytes(64)): Uint8Array => {
  const k = clamp(privateKey)
  const E = new Uint8Array(32)
  sodium.crypto_scalarmult_ed25519_base_noclamp(E, k)
  const negate = (E[31]! & 0x80) !== 0
  const kMod = toBigLE(k) % Q
  const a = negate ? (Q - kMod) % Q : kMod
  const A = new Uint8Array(E)
  A[31]! &= 0x7f
  const aBytes = toBytesLE(a)
  const r = reduce(sha512(hash1Prefix, aBytes, message, random))
  const R = new Uint8Array(32)
  sodium.crypto_scalarmult_ed25519_base_noclamp(R, r)
  const h = toBigLE(reduce(sha512(R, A, message)))
  const s = (toBigLE(r) + h * a) % Q
  const signature = new Uint8Array(64)
  signature.set(R, 0)
  signature.set(toBytesLE(s), 32)
  return signature
}

/**
 * The Edwards public key (sign bit 0) that XEdDSA pairs with an X25519 public key.
 *
 * @since 2.0.0
 * @category signing
 */
export const edwardsFromMontgomery = (publicKey: Uint8Array): Uint8Array | undefined => {
  const u = toBigLE(publicKey) & ((1n << 255n) - 1n)
  if (u >= P) return undefined
  const denominator = (u + 1n) % P
  if (denominator === 0n) return undefined
  const y = ((u - 1n + P) % P) * modPow(denominator, P - 2n, P) % P
  return toBytesLE(y)
}

/**
 * @since 2.0.0
 * @category signing
 */
export const verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  if ((signature[63]! & 0xe0) !== 0) return false
  const A = edwardsFromMontgomery(publicKey)
  if (A === undefined) return false
  try {
    return sodium.crypto_sign_verify_detached(signature, message, A)
  } catch {
    return false
  }
}
