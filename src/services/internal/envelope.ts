/**
 * The original's password envelope (reference §2.5): Argon2id (t=3, m=64 MiB, p=1, 32-byte key,
 * 16-byte salt) and AES-256-GCM, stored as JSON `{salt, nonce, ciphertext, version}` in base64.
 * An original `identity.enc` or `.jexport` opens unchanged.
 */
import { hashRaw } from "@node-rs/argon2"
import { Effect, Schema } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { IdentityError } from "../../domain/Errors.js"
import { pyJson } from "../../protocol/internal/pyJson.js"

export const ARGON2 = { timeCost: 3, memoryCost: 65536, parallelism: 1, outputLen: 32 } as const

const Base64 = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9+/]*={0,2}$/), Schema.maxLength(1 << 20))

export const Envelope = Schema.Struct({
  salt: Base64,
  nonce: Base64,
  ciphertext: Base64,
  version: Schema.String
})
export type Envelope = typeof Envelope.Type

export const deriveKey = (password: string, salt: Uint8Array): Effect.Effect<Uint8Array, IdentityError> =>
  Effect.tryPromise({
    try: (signal) => hashRaw(password, { ...ARGON2, algorithm: 2, salt }, signal),
    catch: (cause) => new IdentityError({ reason: "Io", detail: `argon2id: ${String(cause)}` })
  }).pipe(Effect.map((key) => new Uint8Array(key)))

/** Seals with a fresh salt and nonce, as the original does on every save. */
export const seal = (password: string, plaintext: string): Effect.Effect<Envelope, IdentityError> =>
  Effect.gen(function*() {
    const salt = randomBytes(16)
    const nonce = randomBytes(12)
    const key = yield* deriveKey(password, salt)
    const cipher = createCipheriv("aes-256-gcm", key, nonce)
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()])
    return {
      salt: salt.toString("base64"),
      nonce: nonce.toString("base64"),
      ciphertext: body.toString("base64"),
      version: "1.0"
    }
  })

export const openWithKey = (key: Uint8Array, envelope: Envelope): Effect.Effect<string, IdentityError> =>
  Effect.try({
    try: () => {
      const nonce = Buffer.from(envelope.nonce, "base64")
      const body = Buffer.from(envelope.ciphertext, "base64")
      if (nonce.length !== 12 || body.length < 16) throw new Error("short")
      const decipher = createDecipheriv("aes-256-gcm", key, nonce)
      decipher.setAuthTag(body.subarray(body.length - 16))
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8")
    },
    catch: () => new IdentityError({ reason: "WrongPassword" })
  })

/** Opens an envelope; a wrong password and a tampered file are indistinguishable, as in the original. */
export const open = (password: string, envelope: Envelope): Effect.Effect<string, IdentityError> =>
  Effect.gen(function*() {
    const salt = Buffer.from(envelope.salt, "base64")
    if (salt.length !== 16) return yield* new IdentityError({ reason: "Corrupt", detail: "salt is not 16 bytes" })
    const key = yield* deriveKey(password, salt)
    return yield* openWithKey(key, envelope)
  })

/** The file text: JSON with indent 2, as `json.dump(..., indent=2)` writes it. */
export const encodeFile = (envelope: Envelope): string => pyJson(envelope, 2)

export const decodeFile = (text: string): Effect.Effect<Envelope, IdentityError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new IdentityError({ reason: "Corrupt", detail: "not JSON" })
  }).pipe(
    Effect.flatMap(Schema.decodeUnknown(Envelope)),
    Effect.mapError((e) => e._tag === "IdentityError" ? e : new IdentityError({ reason: "Corrupt", detail: e.message }))
  )
