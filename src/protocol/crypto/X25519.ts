/**
 * X25519 key pairs and Diffie-Hellman over raw 32-byte keys (libsodium).
 *
 * @since 2.0.0
 */
import { randomBytes } from "node:crypto"
import sodium from "sodium-native"

/**
 * @since 2.0.0
 * @category models
 */
export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const keyPairFromPrivate = (privateKey: Uint8Array): KeyPair => {
  const publicKey = new Uint8Array(32)
  sodium.crypto_scalarmult_base(publicKey, privateKey)
  return { publicKey, privateKey }
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const generateKeyPair = (): KeyPair => keyPairFromPrivate(new Uint8Array(randomBytes(32)))

/**
 * The shared secret, or `undefined` when the peer's key is a low-order point (all-zero output).
 *
 * @since 2.0.0
 * @category operations
 */
export const dh = (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined => {
  const out = new Uint8Array(32)
  try {
    sodium.crypto_scalarmult(out, privateKey, publicKey)
    return out
  } catch {
    return undefined
  }
}
