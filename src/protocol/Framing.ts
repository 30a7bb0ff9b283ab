/**
 * v2 transport framing. A frame is `length u16 BE | ChaChaPoly ciphertext` (the length is at most
 * 65535 by construction, so no declared length can make us allocate more). Its plaintext is a run
 * of records `kind u8 | length uvarint | data`: whole messages, the chunks of a message too big
 * for one frame, padding, and a rekey marker. Queued messages share frames, all frames of one
 * `encode` are sealed into one buffer for one write, and frames are opened in place.
 *
 * @since 2.0.0
 */
import { Either } from "effect"
import { ProtocolError } from "../domain/Errors.js"
import type { WireMessage } from "../domain/Messages.js"
import { TAG_BYTES } from "./crypto/Aead.js"
import { ByteQueue } from "./internal/ByteQueue.js"
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from "./internal/varint.js"
import * as MessageCodec from "./MessageCodec.js"
import type { CipherState } from "./noise/CipherState.js"

/**
 * @since 2.0.0
 * @category constants
 */
export const MAX_FRAME_BYTES = 65535

/**
 * @since 2.0.0
 * @category constants
 */
export const MAX_FRAME_PLAINTEXT = MAX_FRAME_BYTES - TAG_BYTES

/**
 * @since 2.0.0
 * @category constants
 */
export const RecordKind = { Padding: 0, Message: 1, ChunkStart: 2, ChunkNext: 3, Rekey: 4 } as const

/**
 * @since 2.0.0
 * @category models
 */
export interface FramingOptions {
  /** Largest application message accepted (after reassembly). */
  readonly maxMessageBytes: number
  /** The sender rekeys after this many frames. */
  readonly rekeyAfterFrames: number
  /** Frame plaintext capacity; smaller values only serve tests that exercise chunking. */
  readonly maxFramePlaintext?: number | undefined
}

/**
 * @since 2.0.0
 * @category constants
 */
export const defaultFramingOptions: FramingOptions = {
  maxMessageBytes: 1024 * 1024,
  rekeyAfterFrames: 1 << 20
}

const REKEY_RECORD_BYTES = 2
const RECORD_OVERHEAD = 1 + 3

/**
 * Every encoder assembles plaintext here. `encode` is synchronous and never re-entered, so one
 * buffer serves all links; an idle link then costs no 64 KiB of its own.
 */
const scratch = new Uint8Array(MAX_FRAME_PLAINTEXT)

/**
 * @since 2.0.0
 * @category encoding
 */
export class FrameEncoder {
  private readonly capacity: number
  private readonly plain = scratch
  private used = 0
  private out: Uint8Array = new Uint8Array(0)
  private written = 0
  private framesSinceRekey = 0
  private rekeyRequested = false

  constructor(private readonly cipher: CipherState, private readonly options: FramingOptions = defaultFramingOptions) {
    this.capacity = Math.min(options.maxFramePlaintext ?? MAX_FRAME_PLAINTEXT, MAX_FRAME_PLAINTEXT) - REKEY_RECORD_BYTES
  }

  /** The next frame carries a rekey marker; both sides then switch to the new key. */
  requestRekey(): void {
    this.rekeyRequested = true
  }

  /** Encodes messages into frames, returned as one buffer for one write. */
  encode(messages: ReadonlyArray<Uint8Array>): Array<Uint8Array> {
    let payload = 0
    for (const message of messages) payload += message.length + RECORD_OVERHEAD + MAX_VARINT_BYTES
    const frames = Math.ceil(payload / this.capacity) + messages.length
    this.out = Buffer.allocUnsafe(payload + frames * (2 + TAG_BYTES + REKEY_RECORD_BYTES))
    this.written = 0
    for (const message of messages) this.add(message)
    this.flush()
    const out = this.out.subarray(0, this.written)
    this.out = new Uint8Array(0)
    return [out]
  }

  /** Encodes and seals messages into frames, as one buffer for one write. */
  encodeMessages(messages: ReadonlyArray<WireMessage>): Uint8Array {
    return this.encode(messages.map(MessageCodec.encode))[0]!
  }

  private add(message: Uint8Array): void {
    const length = message.length
    if (1 + varintLength(length) + length <= this.capacity) {
      if (this.used + 1 + varintLength(length) + length > this.capacity) this.flush()
      this.record(RecordKind.Message, message, 0, length, -1)
      return
    }
    if (this.capacity - this.used < RECORD_OVERHEAD + MAX_VARINT_BYTES + 16) this.flush()
    const firstPart = this.capacity - this.used - RECORD_OVERHEAD - varintLength(length)
    this.record(RecordKind.ChunkStart, message, 0, firstPart, length)
    let offset = firstPart
    while (offset < length) {
      this.flush()
      const part = Math.min(length - offset, this.capacity - RECORD_OVERHEAD)
      this.record(RecordKind.ChunkNext, message, offset, part, -1)
      offset += part
    }
  }

  private record(kind: number, source: Uint8Array, offset: number, length: number, total: number): void {
    const dataLength = total >= 0 ? varintLength(total) + length : length
    this.plain[this.used++] = kind
    this.used = writeVarint(this.plain, this.used, dataLength)
    if (total >= 0) this.used = writeVarint(this.plain, this.used, total)
    this.plain.set(source.subarray(offset, offset + length), this.used)
    this.used += length
  }

  private flush(): void {
    if (this.used === 0) return
    const rekey = this.rekeyRequested || ++this.framesSinceRekey >= this.options.rekeyAfterFrames
    if (rekey) {
      this.plain[this.used++] = RecordKind.Rekey
      this.plain[this.used++] = 0
    }
    const sealed = this.used + TAG_BYTES
    this.out[this.written] = sealed >>> 8
    this.out[this.written + 1] = sealed & 0xff
    this.cipher.encryptInto(
      this.out.subarray(this.written + 2, this.written + 2 + sealed),
      null,
      this.plain.subarray(0, this.used)
    )
    this.written += 2 + sealed
    this.used = 0
    if (rekey) {
      this.cipher.rekey()
      this.rekeyRequested = false
      this.framesSinceRekey = 0
    }
  }
}

const malformed = (detail: string) => new ProtocolError({ reason: "Malformed", detail })

/**
 * Incremental decoder; `drain` decodes every complete frame buffered so far.
 *
 * @since 2.0.0
 * @category decoding
 */
export class FrameDecoder {
  private assembling: { readonly buffer: Uint8Array; filled: number } | undefined = undefined

  constructor(
    private readonly cipher: CipherState,
    private readonly options: FramingOptions = defaultFramingOptions,
    readonly queue: ByteQueue = new ByteQueue()
  ) {}

  push(chunk: Uint8Array): void {
    this.queue.push(chunk)
  }

  /**
   * Appends every message of the complete frames buffered so far to `out` (messages of unknown
   * types are skipped); returns the first protocol violation, if any. Decoded messages never
   * refer to the pushed chunks.
   */
  drainMessages(out: Array<WireMessage>): ProtocolError | undefined {
    const raw: Array<Uint8Array> = []
    const error = this.drain(raw)
    for (const bytes of raw) {
      const decoded = MessageCodec.decode(bytes)
      if (Either.isLeft(decoded)) return decoded.left
      if (decoded.right !== undefined) out.push(decoded.right)
    }
    return error
  }

  /** Appends each complete message to `out`; returns the first protocol violation, if any. */
  drain(out: Array<Uint8Array>): ProtocolError | undefined {
    while (this.queue.length >= 2) {
      const length = this.queue.uint16At(0)
      if (length <= TAG_BYTES) return malformed(`frame of ${length} bytes`)
      if (this.queue.length < 2 + length) return undefined
      this.queue.skip(2)
      // Decrypted in place: the consumed ciphertext is not needed again, and no buffer is allocated.
      const ciphertext = this.queue.read(length)
      const plain = ciphertext.subarray(0, length - TAG_BYTES)
      if (!this.cipher.decryptInto(plain, null, ciphertext)) {
        return new ProtocolError({
          reason: "Decrypt",
          detail: "frame failed authentication (tampered, replayed or reordered)"
        })
      }
      const error = this.records(plain, out)
      if (error !== undefined) return error
    }
    return undefined
  }

  private records(plain: Uint8Array, out: Array<Uint8Array>): ProtocolError | undefined {
    let offset = 0
    let rekey = false
    while (offset < plain.length) {
      if (rekey) return malformed("record after rekey marker")
      const kind = plain[offset++]!
      const header = readVarint(plain, offset, plain.length)
      if (header === undefined) return malformed("bad record length")
      const [length, start] = header
      if (start + length > plain.length) return malformed("record overruns frame")
      offset = start + length
      switch (kind) {
        case RecordKind.Padding:
          break
        case RecordKind.Message: {
          if (this.assembling !== undefined) return malformed("message inside a chunked message")
          out.push(plain.subarray(start, offset))
          break
        }
        case RecordKind.ChunkStart: {
          if (this.assembling !== undefined) return malformed("chunk start inside a chunked message")
          const total = readVarint(plain, start, offset)
          if (total === undefined) return malformed("bad chunk total")
          if (total[0] > this.options.maxMessageBytes) {
            return new ProtocolError({ reason: "MessageTooLarge", detail: `${total[0]} bytes` })
          }
          const part = plain.subarray(total[1], offset)
          if (part.length > total[0]) return malformed("chunk longer than its message")
          this.assembling = { buffer: new Uint8Array(total[0]), filled: 0 }
          const error = this.append(part, out)
          if (error !== undefined) return error
          break
        }
        case RecordKind.ChunkNext: {
          if (this.assembling === undefined) return malformed("chunk without a start")
          const error = this.append(plain.subarray(start, offset), out)
          if (error !== undefined) return error
          break
        }
        case RecordKind.Rekey: {
          if (length !== 0) return malformed("rekey record with data")
          rekey = true
          break
        }
        default:
          return malformed(`unknown record kind ${kind}`)
      }
    }
    if (rekey) this.cipher.rekey()
    return undefined
  }

  private append(part: Uint8Array, out: Array<Uint8Array>): ProtocolError | undefined {
    const assembling = this.assembling!
    if (assembling.filled + part.length > assembling.buffer.length) return malformed("chunks overrun their message")
    assembling.buffer.set(part, assembling.filled)
    assembling.filled += part.length
    if (assembling.filled === assembling.buffer.length) {
      out.push(assembling.buffer)
      this.assembling = undefined
    }
    return undefined
  }
}
