/**
 * Noise CipherState (§5.1): a key and a 64-bit counter nonce. Mutable by design: it sits on the
 * hot path of every frame, and each instance is owned by exactly one channel direction.
 *
 * @since 2.0.0
 */
import type { Aead } from "../crypto/Aead.js"
import { hybridAead, TAG_BYTES } from "../crypto/Aead.js"

const MAX_NONCE = Number.MAX_SAFE_INTEGER

/**
 * Nonce bytes for the AEAD call in progress. Every call is synchronous and consumes the nonce
 * before returning, so all cipher states share one buffer instead of holding their own.
 */
const nonceBytes = new Uint8Array(12)
const nonceView = new DataView(nonceBytes.buffer)
const REKEY_NONCE = new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
const ZEROS = new Uint8Array(32)

/**
 * @since 2.0.0
 * @category models
 */
export class CipherState {
  private key: Uint8Array | undefined = undefined
  private counter = 0

  constructor(readonly aead: Aead = hybridAead) {}

  initializeKey(key: Uint8Array | undefined): void {
    this.key = key
    this.counter = 0
  }

  hasKey(): boolean {
    return this.key !== undefined
  }

  private nextNonce(): Uint8Array {
    if (this.counter >= MAX_NONCE) throw new RangeError("Noise nonce exhausted")
    const n = this.counter++
    nonceView.setUint32(4, n >>> 0, true)
    nonceView.setUint32(8, Math.floor(n / 0x1_0000_0000), true)
    return nonceBytes
  }

  /** Seals into `out` (`plaintext.length + 16` bytes). Without a key the plaintext is copied. */
  encryptInto(out: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): void {
    if (this.key === undefined) {
      out.set(plaintext)
      return
    }
    this.aead.seal(out, this.key, this.nextNonce(), ad, plaintext)
  }

  encryptWithAd(ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.key === undefined ? plaintext.length : plaintext.length + TAG_BYTES)
    this.encryptInto(out, ad, plaintext)
    return out
  }

  /** Opens into `out` (`ciphertext.length - 16` bytes); false on a bad tag. The nonce advances either way. */
  decryptInto(out: Uint8Array, ad: Uint8Array | null, ciphertext: Uint8Array): boolean {
    if (this.key === undefined) {
      out.set(ciphertext)
      return true
    }
    return this.aead.open(out, this.key, this.nextNonce(), ad, ciphertext)
  }

  /** Opens into a new buffer (the AEAD's own when it allocates one anyway); undefined on a bad tag. */
  decryptWithAd(ad: Uint8Array | null, ciphertext: Uint8Array): Uint8Array | undefined {
    if (this.key === undefined) return ciphertext
    if (ciphertext.length < TAG_BYTES) return undefined
    if (this.aead.openFresh !== undefined) return this.aead.openFresh(this.key, this.nextNonce(), ad, ciphertext)
    const out = new Uint8Array(ciphertext.length - TAG_BYTES)
    return this.decryptInto(out, ad, ciphertext) ? out : undefined
  }

  /** Noise REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). The nonce is kept. */
  rekey(): void {
    if (this.key === undefined) return
    const out = new Uint8Array(32 + TAG_BYTES)
    this.aead.seal(out, this.key, REKEY_NONCE, null, ZEROS)
    this.key = out.subarray(0, 32)
  }
}
