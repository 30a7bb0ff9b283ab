/**
 * Link codes (`jarvis://` + base64 JSON, reference §4.4) and `.jcard` files (§4.5), read and written
 * in the original's format. Ours add a `sig` field: an XEdDSA signature by the identity key over the
 * six fields. The original parser ignores unknown fields, so it still accepts our codes, and we
 * detect a code altered in transit. Every import checks fingerprint == SHA-256(public key).
 *
 * @since 2.0.0
 */
import type { Effect } from "effect"
import { Either, ParseResult, Schema } from "effect"
import { ContactCard } from "../domain/ContactCard.js"
import { ContactCodeError } from "../domain/Errors.js"
import { Fingerprint, Host, Port, Uid, Username } from "../domain/Ids.js"
import { fingerprintOf, PublicKey } from "../domain/Keys.js"
import * as XEdDSA from "./crypto/XEdDSA.js"
import { pyJson } from "./internal/pyJson.js"

/**
 * @since 2.0.0
 * @category constants
 */
export const LINK_PREFIX = "jarvis://"

const MAX_CODE_CHARS = 4096
const MAX_CARD_BYTES = 64 * 1024
const SIGNATURE_CONTEXT = "jarvis-contact-card-v2\n"

const Base64Signature = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9+/]{86}==$/))

const CodeFields = Schema.Struct({
  uid: Uid,
  username: Username,
  public_key: PublicKey,
  fingerprint: Fingerprint,
  host: Host,
  port: Port,
  sig: Schema.optional(Base64Signature)
})

const CardFile = Schema.Struct({
  ...CodeFields.fields,
  type: Schema.Literal("jarvis_contact_card"),
  version: Schema.optional(Schema.String),
  exported_at: Schema.optional(Schema.String)
})

/**
 * What a signer needs: its own card fields and its private key.
 *
 * @since 2.0.0
 * @category models
 */
export interface Signer {
  readonly uid: Uid
  readonly username: string
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

const signedMessage = (fields: {
  readonly uid: string
  readonly username: string
  readonly publicKey: Uint8Array
  readonly fingerprint: string
  readonly host: string
  readonly port: number
}) =>
  Buffer.from(
    SIGNATURE_CONTEXT +
      pyJson([fields.uid, fields.username, b64(fields.publicKey), fields.fingerprint, fields.host, fields.port]),
    "utf8"
  )

const fieldsOf = (signer: Signer, host: string, port: number) => {
  const base = {
    uid: signer.uid,
    username: signer.username,
    publicKey: signer.publicKey,
    fingerprint: fingerprintOf(signer.publicKey),
    host,
    port
  }
  return {
    uid: base.uid,
    username: base.username,
    public_key: b64(base.publicKey),
    fingerprint: base.fingerprint,
    host,
    port,
    sig: b64(XEdDSA.sign(signer.privateKey, signedMessage(base)))
  }
}

/**
 * A signed link code for `signer` reachable at `host:port`.
 *
 * @since 2.0.0
 * @category encoding
 */
export const makeLinkCode = (signer: Signer, host: string, port: number): string =>
  LINK_PREFIX + Buffer.from(pyJson(fieldsOf(signer, host, port)), "utf8").toString("base64")

/**
 * A signed `.jcard` file body (JSON, indent 2, as the original writes it).
 *
 * @since 2.0.0
 * @category encoding
 */
export const makeCardFile = (signer: Signer, host: string, port: number, exportedAt: string): string => {
  const { sig, ...fields } = fieldsOf(signer, host, port)
  return pyJson({ version: "1.0", type: "jarvis_contact_card", ...fields, exported_at: exportedAt, sig }, 2)
}

/**
 * The original's file name for a card: `<username>_<uid[:8]>.jcard`.
 *
 * @since 2.0.0
 * @category encoding
 */
export const cardFileName = (username: string, uid: string): string =>
  `${username.replace(/[^A-Za-z0-9_.-]/g, "_")}_${uid.slice(0, 8)}.jcard`

const formatError = (detail: string) => new ContactCodeError({ reason: "Format", detail })

const verifyFields = (fields: typeof CodeFields.Type): Either.Either<ContactCard, ContactCodeError> => {
  if (fingerprintOf(fields.public_key) !== fields.fingerprint) {
    return Either.left(new ContactCodeError({ reason: "FingerprintMismatch" }))
  }
  const base = { ...fields, publicKey: fields.public_key }
  if (
    fields.sig !== undefined &&
    !XEdDSA.verify(fields.public_key, signedMessage(base), Buffer.from(fields.sig, "base64"))
  ) {
    return Either.left(new ContactCodeError({ reason: "BadSignature" }))
  }
  return Either.right(
    new ContactCard({
      uid: fields.uid,
      username: fields.username,
      publicKey: fields.public_key,
      fingerprint: fields.fingerprint,
      host: fields.host,
      port: fields.port,
      signed: fields.sig !== undefined
    })
  )
}

const decodeJson = <A, I>(schema: Schema.Schema<A, I>, text: string): Either.Either<A, ContactCodeError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left(formatError("not JSON"))
  }
  return Schema.decodeUnknownEither(schema)(json).pipe(
    Either.mapLeft((e) => formatError(ParseResult.TreeFormatter.formatErrorSync(e)))
  )
}

/**
 * Parses a link code. Whitespace and missing padding are tolerated (the original's decoder is lenient).
 *
 * @since 2.0.0
 * @category decoding
 */
export const parseLinkCode = (code: string): Either.Either<ContactCard, ContactCodeError> => {
  const trimmed = code.trim()
  if (trimmed.length > MAX_CODE_CHARS) return Either.left(formatError("code too long"))
  if (!trimmed.startsWith(LINK_PREFIX)) return Either.left(formatError("missing jarvis:// prefix"))
  const body = trimmed.slice(LINK_PREFIX.length).replace(/\s+/g, "")
  if (body.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return Either.left(formatError("not base64"))
  const text = new TextDecoder("utf-8", { fatal: false }).decode(Buffer.from(body, "base64"))
  return Either.flatMap(decodeJson(CodeFields, text), verifyFields)
}

/**
 * Parses the contents of a `.jcard` file.
 *
 * @since 2.0.0
 * @category decoding
 */
export const parseCardFile = (contents: string): Either.Either<ContactCard, ContactCodeError> =>
  contents.length > MAX_CARD_BYTES
    ? Either.left(formatError("card too large"))
    : Either.flatMap(decodeJson(CardFile, contents), verifyFields)

/**
 * @since 2.0.0
 * @category decoding
 */
export const parse = (input: string): Effect.Effect<ContactCard, ContactCodeError> =>
  input.trim().startsWith(LINK_PREFIX) ? parseLinkCode(input) : parseCardFile(input)
