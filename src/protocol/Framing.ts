/**
 * v2 transport framing. A frame is `length u16 BE | ChaChaPoly ciphertext` (the length is at most
 * 65535 by construction, so no declared length can make us allocate more). Its plaintext is a run
 * of records `kind u8 | length uvarint | data`: whole messages, the chunks of a message too big
 * for one frame, padding, and a rekey marker. Queued messages share frames, and all frames of one
 * `encodeMessages` are sealed into one buffer for one write.
 *
 * The frequent messages are written straight into the frame plaintext and read straight out of
 * it (`internal/wireEncoder.ts`, `internal/wireDecoder.ts`). Plaintexts live in module-level scratch buffers: encoding and
 * decoding are synchronous and never re-entered, so all links share them and an idle link holds
 * no frame-sized buffer of its own.
 *
 * @since 2.0.0
 */
import { Either } from "effect"
import { ProtocolError } from "../domain/Errors.js"
import type { WireMessage } from "../domain/Messages.js"
import { HYBRID_THRESHOLD, TAG_BYTES } from "./crypto/Aead.js"
import { ByteQueue } from "./internal/ByteQueue.js"
import type { NodeBuffer } from "./internal/nodeBuffer.js"
import { nodeBuffer } from "./internal/nodeBuffer.js"
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from "./internal/varint.js"
import * as WireDecoder from "./internal/wireDecoder.js"
import * as WireEncoder from "./internal/wireEncoder.js"
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
const FRAME_OVERHEAD = 2 + TAG_BYTES + REKEY_RECORD_BYTES

/** Every encoder assembles plaintext here (see the module comment). */
const scratch = Buffer.allocUnsafeSlow(MAX_FRAME_PLAINTEXT) as NodeBuffer

const EMPTY = Buffer.alloc(0)

/**
 * @since 2.0.0
 * @category encoding
 */
export class FrameEncoder {
  private readonly capacity: number
  private readonly plain = scratch
  private used = 0
  private out: Buffer = EMPTY
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

  /**
   * Encodes and seals messages into frames, returned as one buffer for one write (which the
   * caller owns).
   */
  encodeMessages(messages: ReadonlyArray<WireMessage>): Uint8Array {
    let payload = 0
    let chunked = 0
    for (let i = 0; i < messages.length; i++) {
      const estimate = WireEncoder.estimate(messages[i]!) + RECORD_OVERHEAD
      payload += estimate
      if (estimate > this.capacity) chunked += Math.ceil(estimate / this.capacity)
    }
    this.begin(payload, chunked)
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!
      const ascii = WireEncoder.asciiLength(message)
      if (ascii >= 0 && this.used + 1 + varintLength(ascii) + ascii <= this.capacity) {
        const start = writeVarint(this.plain, this.used + 1, ascii)
        if (WireEncoder.writeAscii(this.plain, start, message, ascii)) {
          this.plain[this.used] = RecordKind.Message
          this.used = start + ascii
          continue
        }
      }
      const length = WireEncoder.measure(message)
      if (length < 0) {
        this.add(MessageCodec.encodeWithMsgpackr(message))
        continue
      }
      const record = 1 + varintLength(length) + length
      if (record <= this.capacity) {
        if (this.used + record > this.capacity) this.flush()
        this.plain[this.used] = RecordKind.Message
        this.used = WireEncoder.write(this.plain, writeVarint(this.plain, this.used + 1, length), message)
      } else {
        const start = WireEncoder.writeStaged(message, length)
        this.addInPlace(WireEncoder.stageBuffer(), start, length)
      }
    }
    return this.end()
  }

  /** Encodes already encoded messages into frames, returned as one buffer for one write. */
  encode(messages: ReadonlyArray<Uint8Array>): Array<Uint8Array> {
    let payload = 0
    let chunked = 0
    for (const message of messages) {
      payload += message.length + RECORD_OVERHEAD + MAX_VARINT_BYTES
      if (message.length > this.capacity) chunked += Math.ceil(message.length / this.capacity)
    }
    this.begin(payload, chunked)
    for (const message of messages) this.add(message)
    return [this.end()]
  }

  /** Sizes the output for `payload` bytes of records, `chunked` of them in frames of their own. */
  private begin(payload: number, chunked: number): void {
    const frames = Math.ceil(payload / this.capacity) + chunked + 1
    this.out = Buffer.allocUnsafe(payload + frames * (FRAME_OVERHEAD + RECORD_OVERHEAD + MAX_VARINT_BYTES))
    this.written = 0
    this.used = 0
  }

  private end(): Uint8Array {
    this.flush()
    const out = this.out.subarray(0, this.written)
    this.out = EMPTY
    return out
  }

  /** Adds an encoded message, copying it into the plaintext (chunked if it does not fit a frame). */
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

  /**
   * Chunks a message that lies in `buf` at `start` with a frame's worth of free bytes before it,
   * sealing every full part where it lies: its record header goes just before it (over bytes of
   * the previous part, already sealed), and the first frame's earlier records before that. The
   * last part is copied into the plaintext, which later messages may share.
   */
  private addInPlace(buf: Buffer, start: number, length: number): void {
    const totalBytes = varintLength(length)
    if (this.capacity - this.used < RECORD_OVERHEAD + totalBytes + 16) this.flush()
    const first = this.capacity - this.used - RECORD_OVERHEAD - totalBytes
    let frame = start - 1 - varintLength(totalBytes + first) - totalBytes
    buf[frame] = RecordKind.ChunkStart
    writeVarint(buf, writeVarint(buf, frame + 1, totalBytes + first), length)
    frame -= this.used
    this.plain.copy(buf, frame, 0, this.used)
    this.used = 0
    this.seal(buf, frame, start + first)
    const end = start + length
    const part = this.capacity - 1 - varintLength(this.capacity)
    let offset = start + first
    while (end - offset > part) {
      frame = offset - 1 - varintLength(part)
      buf[frame] = RecordKind.ChunkNext
      writeVarint(buf, frame + 1, part)
      this.seal(buf, frame, offset + part)
      offset += part
    }
    this.plain[0] = RecordKind.ChunkNext
    this.used = writeVarint(this.plain, 1, end - offset)
    this.used += buf.copy(this.plain, this.used, offset, end)
  }

  private flush(): void {
    if (this.used === 0) return
    this.seal(this.plain, 0, this.used)
    this.used = 0
  }

  /**
   * Seals `buf[start, end)` as the next frame of the output, with a rekey record appended when
   * one is due (the two bytes after `end` are restored afterwards: they may be the next part).
   */
  private seal(buf: Uint8Array, start: number, end: number): void {
    const rekey = this.rekeyRequested || ++this.framesSinceRekey >= this.options.rekeyAfterFrames
    const after0 = buf[end]!
    const after1 = buf[end + 1]!
    if (rekey) {
      buf[end] = RecordKind.Rekey
      buf[end + 1] = 0
      end += REKEY_RECORD_BYTES
    }
    const sealed = end - start + TAG_BYTES
    if (this.written + 2 + sealed > this.out.length) this.grow(2 + sealed)
    const out = this.out
    out[this.written] = sealed >>> 8
    out[this.written + 1] = sealed & 0xff
    this.cipher.encryptInto(out.subarray(this.written + 2, this.written + 2 + sealed), null, buf.subarray(start, end))
    this.written += 2 + sealed
    if (rekey) {
      buf[end - 2] = after0
      buf[end - 1] = after1
      this.cipher.rekey()
      this.rekeyRequested = false
      this.framesSinceRekey = 0
    }
  }

  /** The size estimate fell short (non-ASCII text): move to a bigger buffer. */
  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.written + needed + 1024))
    this.out.copy(bigger, 0, 0, this.written)
    this.out = bigger
  }
}

const malformed = (detail: string) => new ProtocolError({ reason: "Malformed", detail })

const failedAuthentication = () =>
  new ProtocolError({ reason: "Decrypt", detail: "frame failed authentication (tampered, replayed or reordered)" })

/**
 * Frames that span received chunks are assembled here, and frames below `HYBRID_THRESHOLD` are
 * opened into `opened` (larger ones into the buffer node:crypto allocates for them anyway).
 */
const sealedScratch = Buffer.allocUnsafeSlow(MAX_FRAME_BYTES)
const opened = Buffer.allocUnsafeSlow(MAX_FRAME_PLAINTEXT) as NodeBuffer

/**
 * Reassembly buffers of decoded chunked messages, kept for the next chunked message (every 64 KiB
 * text arrives chunked) instead of allocating one each time: at most `SPARES`, shared by all links.
 */
const spares: Array<NodeBuffer> = []
const SPARES = 2
const SPARE_MIN = 2 * MAX_FRAME_PLAINTEXT
const SPARE_MAX = 4 * MAX_FRAME_PLAINTEXT

const reassemblyBuffer = (total: number): NodeBuffer => {
  for (let i = spares.length - 1; i >= 0; i--) {
    const spare = spares[i]!
    if (spare.length >= total) {
      spares.splice(i, 1)
      return spare
    }
  }
  return Buffer.allocUnsafeSlow(total <= SPARE_MAX ? Math.max(total, SPARE_MIN) : total) as NodeBuffer
}

const release = (buffer: NodeBuffer): void => {
  if (buffer.length <= SPARE_MAX && spares.length < SPARES) spares.push(buffer)
}

/**
 * Incremental decoder: `push` received chunks, then `drainMessages` decodes every complete frame
 * buffered so far. Chunks are only read, never modified, and nothing decoded refers to them.
 *
 * @since 2.0.0
 * @category decoding
 */
export class FrameDecoder {
  private assembling: NodeBuffer | undefined = undefined
  private total = 0
  private filled = 0
  private messages: Array<WireMessage> | undefined = undefined
  private raw: Array<Uint8Array> | undefined = undefined

  /** `queue` may hold bytes that arrived with the handshake. */
  constructor(
    private readonly cipher: CipherState,
    private readonly options: FramingOptions = defaultFramingOptions,
    private readonly queue: ByteQueue = new ByteQueue()
  ) {}

  /** Bytes received and not yet decoded (at most one incomplete frame after a drain). */
  get buffered(): number {
    return this.queue.length
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk)
  }

  /**
   * Appends every message of the complete frames buffered so far to `out` (messages of unknown
   * types are skipped); returns the first protocol violation, if any. Decoded messages never
   * refer to the pushed chunks.
   */
  drainMessages(out: Array<WireMessage>): ProtocolError | undefined {
    this.messages = out
    this.raw = undefined
    const error = this.frames()
    this.messages = undefined // an idle link must not keep its last batch alive
    return error
  }

  /** Appends a copy of each complete encoded message to `out`; returns the first protocol violation, if any. */
  drain(out: Array<Uint8Array>): ProtocolError | undefined {
    this.messages = undefined
    this.raw = out
    const error = this.frames()
    this.raw = undefined
    return error
  }

  private frames(): ProtocolError | undefined {
    const queue = this.queue
    while (queue.length >= 2) {
      const length = queue.uint16At(0)
      if (length <= TAG_BYTES) return malformed(`frame of ${length} bytes`)
      if (queue.length < 2 + length) return undefined
      queue.skip(2)
      // A view of the chunk when the frame lies in one, else assembled in the shared scratch.
      const sealed = queue.read(length, sealedScratch)
      const plainLength = length - TAG_BYTES
      let plain = opened
      if (length >= HYBRID_THRESHOLD) {
        const fresh = this.cipher.decryptWithAd(null, sealed)
        if (fresh === undefined) return failedAuthentication()
        plain = nodeBuffer(fresh)
      } else if (!this.cipher.decryptInto(opened.subarray(0, plainLength), null, sealed)) {
        return failedAuthentication()
      }
      const error = this.records(plain, plainLength)
      if (error !== undefined) return error
    }
    return undefined
  }

  private records(plain: NodeBuffer, end: number): ProtocolError | undefined {
    let offset = 0
    let rekey = false
    while (offset < end) {
      if (rekey) return malformed("record after rekey marker")
      const kind = plain[offset]!
      const header = readVarint(plain, offset + 1, end)
      if (header < 0) return malformed("bad record length")
      const start = offset + 1 + (header & 7)
      offset = start + (header >>> 3)
      if (offset > end) return malformed("record overruns frame")
      switch (kind) {
        case RecordKind.Padding:
          break
        case RecordKind.Message: {
          if (this.assembling !== undefined) return malformed("message inside a chunked message")
          const error = this.message(plain, start, offset)
          if (error !== undefined) return error
          break
        }
        case RecordKind.ChunkStart: {
          if (this.assembling !== undefined) return malformed("chunk start inside a chunked message")
          const total = readVarint(plain, start, offset)
          if (total < 0) return malformed("bad chunk total")
          const totalLength = total >>> 3
          if (totalLength > this.options.maxMessageBytes) {
            return new ProtocolError({ reason: "MessageTooLarge", detail: `${totalLength} bytes` })
          }
          const partStart = start + (total & 7)
          if (offset - partStart > totalLength) return malformed("chunk longer than its message")
          this.assembling = reassemblyBuffer(totalLength)
          this.total = totalLength
          this.filled = 0
          const error = this.append(plain, partStart, offset)
          if (error !== undefined) return error
          break
        }
        case RecordKind.ChunkNext: {
          if (this.assembling === undefined) return malformed("chunk without a start")
          const error = this.append(plain, start, offset)
          if (error !== undefined) return error
          break
        }
        case RecordKind.Rekey: {
          if (offset !== start) return malformed("rekey record with data")
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

  private append(plain: NodeBuffer, start: number, end: number): ProtocolError | undefined {
    const assembling = this.assembling!
    if (this.filled + end - start > this.total) return malformed("chunks overrun their message")
    this.filled += plain.copy(assembling, this.filled, start, end)
    if (this.filled < this.total) return undefined
    this.assembling = undefined
    if (this.messages === undefined) {
      this.raw!.push(assembling.subarray(0, this.total))
      return undefined
    }
    const error = this.message(assembling, 0, this.total)
    release(assembling)
    return error
  }

  /** One complete encoded message; nothing decoded refers to `buf`. */
  private message(buf: NodeBuffer, start: number, end: number): ProtocolError | undefined {
    if (this.messages === undefined) {
      this.raw!.push(new Uint8Array(buf.subarray(start, end)))
      return undefined
    }
    const decoded = WireDecoder.decode(buf, start, end)
    if (decoded !== null) {
      this.messages.push(decoded)
      return undefined
    }
    const slow = MessageCodec.decodeWithSchema(buf.subarray(start, end))
    if (Either.isLeft(slow)) return slow.left
    if (slow.right !== undefined) this.messages.push(slow.right)
    return undefined
  }
}
