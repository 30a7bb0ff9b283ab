/**
 * Compact encoding of {@link WireMessage}: a MessagePack array `[wireId, field1, field2, ...]`
 * with fields in schema order, validated by the same Schema on the way in. Unknown wire ids
 * decode to `undefined` (skipped), so peers can add message types without breaking older ones.
 * The frequent messages are encoded and decoded by hand (`internal/wireEncoder.ts`, `internal/wireDecoder.ts`); everything
 * else, and any input the hand decoder does not take as is, goes through msgpackr and the Schemas.
 *
 * @since 2.0.0
 */
import { Either, ParseResult, Schema, SchemaAST } from "effect"
import { Packr, Unpackr } from "msgpackr"
import { ProtocolError } from "../domain/Errors.js"
import type { WireMessage } from "../domain/Messages.js"
import * as Messages from "../domain/Messages.js"
import type { NodeBuffer } from "./internal/nodeBuffer.js"
import { nodeBuffer } from "./internal/nodeBuffer.js"
import * as WireDecoder from "./internal/wireDecoder.js"
import * as WireEncoder from "./internal/wireEncoder.js"

type Tag = WireMessage["_tag"]
type AnyMessageSchema = Schema.Schema<WireMessage, Record<string, unknown>>

interface Member {
  readonly id: number
  readonly tag: Tag
  readonly fields: ReadonlyArray<string>
  readonly decode: (value: unknown) => Either.Either<WireMessage, ParseResult.ParseError>
}

const tagOf = (ast: SchemaAST.AST): Tag => {
  const signature = SchemaAST.getPropertySignatures(ast).find((p) => p.name === "_tag")
  if (signature === undefined || !SchemaAST.isLiteral(signature.type)) {
    throw new TypeError("WireMessage member without _tag")
  }
  return signature.type.literal as Tag
}

const byTag = new Map<string, Member>()
const byId = new Map<number, Member>()
for (const schema of Messages.WireMessage.members) {
  const tag = tagOf(schema.ast)
  const member: Member = {
    id: Messages.wireIds[tag],
    tag,
    fields: Object.keys(schema.fields).filter((k) => k !== "_tag"),
    decode: Schema.decodeUnknownEither(schema as unknown as AnyMessageSchema)
  }
  byTag.set(tag, member)
  byId.set(member.id, member)
}

const packr = new Packr({ useRecords: false, variableMapSize: true })
/** `copyBuffers`: decoded byte strings (group member keys) never alias the frame they came in. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number", copyBuffers: true })

const malformed = (detail: string) => new ProtocolError({ reason: "Malformed", detail })

/**
 * Every member's encoded form equals its type (refinements only, no transformations), so a typed
 * message is written as is; inbound bytes are always validated. A test guards the equality.
 *
 * @since 2.0.0
 * @category encoding
 */
export const encode = (message: WireMessage): Uint8Array => {
  const length = WireEncoder.measure(message)
  if (length < 0) return encodeWithMsgpackr(message)
  const out = Buffer.allocUnsafe(length) as NodeBuffer
  WireEncoder.write(out, 0, message)
  return out
}

/**
 * The msgpackr encoding (what `encode` uses for the types it does not write by hand).
 *
 * @since 2.0.0
 * @category encoding
 */
export const encodeWithMsgpackr = (message: WireMessage): Uint8Array => {
  const member = byTag.get(message._tag)!
  const fields = message as unknown as Record<string, unknown>
  const array: Array<unknown> = [member.id]
  for (const field of member.fields) array.push(fields[field])
  while (array.length > 1 && array[array.length - 1] === undefined) array.pop()
  return packr.pack(array)
}

const unpack = (bytes: Uint8Array): Either.Either<ReadonlyArray<unknown>, ProtocolError> => {
  let array: unknown
  try {
    array = unpackr.unpack(bytes)
  } catch {
    return Either.left(malformed("not MessagePack"))
  }
  if (!Array.isArray(array) || typeof array[0] !== "number") return Either.left(malformed("not a tagged array"))
  return Either.right(array)
}

/**
 * `undefined` for a well-formed message of a type this version does not know.
 *
 * @since 2.0.0
 * @category decoding
 */
export const decode = (bytes: Uint8Array): Either.Either<WireMessage | undefined, ProtocolError> => {
  const decoded = WireDecoder.decode(nodeBuffer(bytes), 0, bytes.length)
  return decoded === null ? decodeWithSchema(bytes) : Either.right(decoded)
}

/**
 * msgpackr and the Schema alone: what `decode` must always agree with, and what it falls back to
 * for everything the hand decoder does not take as is.
 *
 * @since 2.0.0
 * @category decoding
 */
export const decodeWithSchema = (bytes: Uint8Array): Either.Either<WireMessage | undefined, ProtocolError> =>
  Either.flatMap(unpack(bytes), bySchema)

const bySchema = (array: ReadonlyArray<unknown>): Either.Either<WireMessage | undefined, ProtocolError> => {
  const member = byId.get(array[0] as number)
  if (member === undefined) return Either.right(undefined)
  const object: Record<string, unknown> = { _tag: member.tag }
  for (let i = 0; i < member.fields.length; i++) {
    if (i + 1 < array.length && array[i + 1] !== undefined) object[member.fields[i]!] = array[i + 1]
  }
  return Either.mapLeft(member.decode(object), (e) => malformed(ParseResult.TreeFormatter.formatErrorSync(e)))
}
