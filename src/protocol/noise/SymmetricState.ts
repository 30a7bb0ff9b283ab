/**
 * Noise SymmetricState (§5.2) for the SHA256 hash.
 *
 * @since 2.0.0
 */
import type { Aead } from "../crypto/Aead.js"
import { noiseHkdf2, sha256 } from "../crypto/Hash.js"
import { CipherState } from "./CipherState.js"

const EMPTY = new Uint8Array(0)

/**
 * @since 2.0.0
 * @category models
 */
export class SymmetricState {
  readonly cipher: CipherState
  private chainingKey: Uint8Array
  private hash: Uint8Array

  constructor(protocolName: string, private readonly aead: Aead) {
    const name = Buffer.from(protocolName, "ascii")
    if (name.length <= 32) {
      this.hash = new Uint8Array(32)
      this.hash.set(name)
    } else {
      this.hash = sha256(name)
    }
    this.chainingKey = this.hash
    this.cipher = new CipherState(aead)
  }

  get handshakeHash(): Uint8Array {
    return this.hash
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempKey] = noiseHkdf2(this.chainingKey, ikm)
    this.chainingKey = ck
    this.cipher.initializeKey(tempKey)
  }

  mixHash(data: Uint8Array): void {
    this.hash = sha256(this.hash, data)
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.hash, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const plaintext = this.cipher.decryptWithAd(this.hash, ciphertext)
    if (plaintext !== undefined) this.mixHash(ciphertext)
    return plaintext
  }

  split(): readonly [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf2(this.chainingKey, EMPTY)
    const c1 = new CipherState(this.aead)
    const c2 = new CipherState(this.aead)
    c1.initializeKey(k1)
    c2.initializeKey(k2)
    return [c1, c2]
  }
}
