/**
 * The original's frame: `version u8 = 1 | type u16 BE | length u32 BE | JSON payload` (reference §1.1),
 * decoded with every declared length bounded before any byte of it is buffered.
 *
 * @since 2.0.0
 */
import { Either, Schema } from "effect"
import { ProtocolError } from "../../domain/Errors.js"
import { ByteQueue } from "../internal/ByteQueue.js"
import type { PyJsonValue } from "../internal/pyJson.js"
import { pyJson } from "../internal/pyJson.js"
import { FiveLayerCiphertext } from "./FiveLayer.js"

/**
 * @since 2.0.0
 * @category constants
 */
export const MessageType = {
  HANDSHAKE: 1,
  HANDSHAKE_RESPONSE: 2,
  PING: 3,
  PONG: 4,
  DISCONNECT: 5,
  TEXT_MESSAGE: 10,
  MESSAGE_ACK: 11,
  MESSAGE_DELIVERED: 12,
  MESSAGE_READ: 13,
  GROUP_CREATE: 20,
  GROUP_INVITE: 21,
  GROUP_JOIN: 22,
  GROUP_LEAVE: 23,
  GROUP_MESSAGE: 24,
  GROUP_MEMBER_LIST: 25,
  GROUP_KEY_EXCHANGE: 26,
  CONTACT_REQUEST: 30,
  CONTACT_ACCEPT: 31,
  CONTACT_REJECT: 32,
  CONTACT_REMOVE: 33,
  STATUS_ONLINE: 40,
  STATUS_AWAY: 41,
  STATUS_OFFLINE: 42,
  TYPING_INDICATOR: 43
} as const

const KNOWN_TYPES = new Set<number>(Object.values(MessageType))

/**
 * @since 2.0.0
 * @category constants
 */
export const VERSION = 1
/**
 * @since 2.0.0
 * @category constants
 */
export const HEADER_BYTES = 7
/**
 * The original refuses to pack more than 10 MiB.
 *
 * @since 2.0.0
 * @category constants
 */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

/**
 * @since 2.0.0
 * @category models
 */
export interface Frame {
  readonly type: number
  readonly payload: { readonly [key: string]: unknown }
}

/**
 * @since 2.0.0
 * @category encoding
 */
export const encodeFrame = (type: number, payload: { readonly [key: string]: PyJsonValue | undefined }): Uint8Array => {
  const body = Buffer.from(pyJson(payload), "utf8")
  if (body.length > MAX_PAYLOAD_BYTES) throw new RangeError("v1 payload over 10 MiB")
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length)
  frame.writeUInt8(VERSION, 0)
  frame.writeUInt16BE(type, 1)
  frame.writeUInt32BE(body.length, 3)
  body.copy(frame, HEADER_BYTES)
  return frame
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

const malformed = (detail: string) => new ProtocolError({ reason: "Malformed", detail })

/**
 * Incremental decoder. `push` bytes, then `next` until it returns `undefined` (needs more input).
 *
 * @since 2.0.0
 * @category decoding
 */
export class FrameDecoder {
  private readonly queue = new ByteQueue()

  constructor(readonly maxPayloadBytes: number = 1024 * 1024) {}

  get buffered(): number {
    return this.queue.length
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk)
  }

  next(): Either.Either<Frame | undefined, ProtocolError> {
    if (this.queue.length < HEADER_BYTES) return Either.right(undefined)
    const version = this.queue.byteAt(0)
    if (version !== VERSION) return Either.left(malformed(`version byte ${version}`))
    const type = this.queue.uint16At(1)
    if (!KNOWN_TYPES.has(type)) return Either.left(malformed(`unknown message type ${type}`))
    const length = this.queue.uint32At(3)
    if (length > this.maxPayloadBytes) {
      return Either.left(new ProtocolError({ reason: "FrameTooLarge", detail: `${length} bytes` }))
    }
    if (this.queue.length < HEADER_BYTES + length) return Either.right(undefined)
    this.queue.skip(HEADER_BYTES)
    const body = this.queue.read(length)
    let payload: unknown
    try {
      payload = JSON.parse(utf8.decode(body))
    } catch {
      return Either.left(malformed("payload is not UTF-8 JSON"))
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return Either.left(malformed("payload is not a JSON object"))
    }
    return Either.right({ type, payload: payload as Frame["payload"] })
  }
}

const Timestamp = Schema.String.pipe(Schema.maxLength(64))
const LooseId = Schema.String.pipe(Schema.maxLength(256))

/**
 * @since 2.0.0
 * @category schemas
 */
export const TextMessagePayload = Schema.Struct({
  message_id: LooseId,
  timestamp: Timestamp,
  encrypted: FiveLayerCiphertext
})

/**
 * @since 2.0.0
 * @category schemas
 */
export const GroupMessagePayload = Schema.Struct({
  group_id: LooseId,
  message_id: LooseId,
  sender_uid: LooseId,
  timestamp: Timestamp,
  encrypted: FiveLayerCiphertext
})
