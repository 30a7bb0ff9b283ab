/**
 * The original's session keys and five-layer message encryption (reference §2.3–§2.4), kept
 * exactly for interoperability with v1 peers. It adds nothing over one AEAD; v2 never uses it.
 *
 * @since 2.0.0
 */
import { Either, Schema } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { ProtocolError } from "../../domain/Errors.js"
import { MAX_BODY_LENGTH } from "../../domain/Messages.js"
import { hybridAead } from "../crypto/Aead.js"
import { hkdf } from "../crypto/Hash.js"

/**
 * @since 2.0.0
 * @category models
 */
export type SessionKeys = readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array]

const CHAIN = [
  ["sha256", "jarvis-session-key-aes-layer-1"],
  ["sha384", "jarvis-session-key-chacha-layer-2"],
  ["sha512", "jarvis-session-key-aes-layer-3"],
  ["sha256", "jarvis-session-key-chacha-layer-4"],
  ["sha384", "jarvis-session-key-aes-layer-5"]
] as const

/**
 * K1..K5 from the static-static X25519 secret, each salted with the first 16 bytes of the previous.
 *
 * @since 2.0.0
 * @category keys
 */
export const deriveSessionKeys = (shared: Uint8Array): SessionKeys => {
  const keys: Array<Uint8Array> = []
  for (const [hash, info] of CHAIN) {
    const salt = keys.length === 0 ? new Uint8Array(0) : keys[keys.length - 1]!.subarray(0, 16)
    keys.push(hkdf(hash, shared, salt, info, 32))
  }
  return keys as unknown as SessionKeys
}

/** base64 of a 12-byte nonce is 16 characters; anything much longer is not a nonce. */
const Nonce = Schema.String.pipe(Schema.maxLength(64))

/**
 * The longest body (3 UTF-8 bytes per UTF-16 unit) with five 16-byte tags, in base64, plus slack:
 * longer ciphertext is refused before any of it is decoded or decrypted.
 */
const MAX_CIPHERTEXT_BASE64 = Math.ceil((MAX_BODY_LENGTH * 3 + 5 * 16) / 3) * 4 + 1024

/**
 * The `encrypted` object of a TEXT_MESSAGE or GROUP_MESSAGE.
 *
 * @since 2.0.0
 * @category schemas
 */
export const FiveLayerCiphertext = Schema.Struct({
  nonce1: Nonce,
  nonce2: Nonce,
  nonce3: Nonce,
  nonce4: Nonce,
  nonce5: Nonce,
  ciphertext: Schema.String.pipe(Schema.maxLength(MAX_CIPHERTEXT_BASE64)),
  version: Schema.optional(Schema.Unknown),
  layers: Schema.optional(Schema.Unknown)
})
export type FiveLayerCiphertext = typeof FiveLayerCiphertext.Type

const isAes = (layer: number) => layer % 2 === 0

const sealLayer = (layer: number, key: Uint8Array, nonce: Uint8Array, input: Uint8Array): Uint8Array => {
  if (!isAes(layer)) {
    const out = new Uint8Array(input.length + 16)
    hybridAead.seal(out, key, nonce, null, input)
    return out
  }
  const cipher = createCipheriv("aes-256-gcm", key, nonce)
  const body = cipher.update(input)
  cipher.final()
  return Buffer.concat([body, cipher.getAuthTag()])
}

const openLayer = (layer: number, key: Uint8Array, nonce: Uint8Array, input: Uint8Array): Uint8Array | undefined => {
  if (input.length < 16) return undefined
  if (!isAes(layer)) {
    const out = new Uint8Array(input.length - 16)
    return hybridAead.open(out, key, nonce, null, input) ? out : undefined
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce)
    decipher.setAuthTag(input.subarray(input.length - 16))
    const body = decipher.update(input.subarray(0, input.length - 16))
    decipher.final()
    return body
  } catch {
    return undefined
  }
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

/**
 * The object the original writes.
 *
 * @since 2.0.0
 * @category models
 */
export type FiveLayerWire = {
  readonly nonce1: string
  readonly nonce2: string
  readonly nonce3: string
  readonly nonce4: string
  readonly nonce5: string
  readonly ciphertext: string
  readonly version: string
  readonly layers: number
}

/**
 * Every intermediate layer as well as the wire object (the vectors check each layer).
 *
 * @since 2.0.0
 * @category encryption
 */
export const encryptLayers = (
  keys: SessionKeys,
  plaintext: string,
  nonces: ReadonlyArray<Uint8Array> = keys.map(() => randomBytes(12))
): { readonly wire: FiveLayerWire; readonly layers: ReadonlyArray<Uint8Array> } => {
  const layers: Array<Uint8Array> = []
  let data: Uint8Array = Buffer.from(plaintext, "utf8")
  for (let i = 0; i < 5; i++) {
    data = sealLayer(i, keys[i]!, nonces[i]!, data)
    layers.push(data)
  }
  return {
    wire: {
      nonce1: b64(nonces[0]!),
      nonce2: b64(nonces[1]!),
      nonce3: b64(nonces[2]!),
      nonce4: b64(nonces[3]!),
      nonce5: b64(nonces[4]!),
      ciphertext: b64(data),
      version: "1.0",
      layers: 5
    },
    layers
  }
}

/**
 * @since 2.0.0
 * @category encryption
 */
export const encrypt = (keys: SessionKeys, plaintext: string): FiveLayerWire => encryptLayers(keys, plaintext).wire

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const decodeBase64 = (s: string, expected?: number): Uint8Array | undefined => {
  if (!BASE64.test(s) || s.length % 4 !== 0) return undefined
  const bytes = Buffer.from(s, "base64")
  return expected === undefined || bytes.length === expected ? bytes : undefined
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Decrypts K5/N5 first and K1/N1 last; any bad tag or malformed field is a typed error.
 *
 * @since 2.0.0
 * @category encryption
 */
export const decrypt = (keys: SessionKeys, wire: FiveLayerCiphertext): Either.Either<string, ProtocolError> => {
  const nonces = [wire.nonce1, wire.nonce2, wire.nonce3, wire.nonce4, wire.nonce5].map((n) => decodeBase64(n, 12))
  let data = decodeBase64(wire.ciphertext)
  if (data === undefined || nonces.some((n) => n === undefined)) {
    return Either.left(new ProtocolError({ reason: "Malformed", detail: "five-layer fields are not base64" }))
  }
  for (let i = 4; i >= 0; i--) {
    data = openLayer(i, keys[i]!, nonces[i]!, data)
    if (data === undefined) return Either.left(new ProtocolError({ reason: "Decrypt", detail: `layer ${i + 1}` }))
  }
  try {
    return Either.right(utf8.decode(data))
  } catch {
    return Either.left(new ProtocolError({ reason: "Malformed", detail: "plaintext is not UTF-8" }))
  }
}
