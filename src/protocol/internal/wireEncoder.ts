/**
 * Hand-written MessagePack encoding of the messages that dominate traffic (Ping, Pong, Text, Ack,
 * Read, Typing, GroupText, GroupLeave, Bye), straight into frame buffers. The bytes are exactly
 * what msgpackr's Packr writes for the same array: strings below 64 UTF-16 units are encoded the
 * way msgpackr encodes them in JS (a lone surrogate as its 3-byte form), longer ones with Buffer's
 * UTF-8 writer, as msgpackr does. Other messages are left to msgpackr (`measure` returns -1).
 *
 * The module's buffers and counters serve one call sequence at a time (`measure` then `write`),
 * which is synchronous and never re-entered, so all links share them.
 */
import type { WireMessage } from "../../domain/Messages.js"
import { wireIds } from "../../domain/Messages.js"
import type { NodeBuffer } from "./nodeBuffer.js"

/** Strings at least this long are written with Buffer's codecs; shorter ones in JS, like msgpackr. */
const SHORT_STRING = 64
/** Bodies at least this long are encoded once into `stage` while being measured. */
const STAGE_BODY = 8 * 1024

/**
 * A large body is UTF-8 encoded into this shared buffer when measured (which gives its exact
 * length without a separate count), at `STAGE_AT`; the message around it is written there too when
 * the caller asks for it in place. The room before `STAGE_AT` lets the framer put a frame's
 * earlier records and a chunk header in front of the message and seal it without copying.
 */
const STAGE_ROOM = 65536 + 512
const STAGE_AT = STAGE_ROOM + 256
let stage = Buffer.allocUnsafeSlow(0) as NodeBuffer
let stagedBody: string | undefined = undefined
let stagedBytes = 0

const stageBody = (body: string): number => {
  const room = STAGE_AT + body.length * 3 + 16
  if (stage.length < room) stage = Buffer.allocUnsafeSlow(room) as NodeBuffer
  stagedBytes = stage.utf8Write(body, STAGE_AT, stage.length - STAGE_AT)
  stagedBody = body
  return stagedBytes
}

const stringHeaderBytes = (bytes: number): number => (bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5)

const writeStringHeader = (buf: Uint8Array, pos: number, bytes: number): number => {
  if (bytes < 0x20) {
    buf[pos] = 0xa0 | bytes
    return pos + 1
  }
  if (bytes < 0x100) {
    buf[pos] = 0xd9
    buf[pos + 1] = bytes
    return pos + 2
  }
  if (bytes < 0x10000) {
    buf[pos] = 0xda
    buf[pos + 1] = bytes >>> 8
    buf[pos + 2] = bytes & 0xff
    return pos + 3
  }
  buf[pos] = 0xdb
  buf[pos + 1] = bytes >>> 24
  buf[pos + 2] = (bytes >>> 16) & 0xff
  buf[pos + 3] = (bytes >>> 8) & 0xff
  buf[pos + 4] = bytes & 0xff
  return pos + 5
}

/** Writes the string data (`bytes` long); returns the end. */
const writeStringData = (buf: NodeBuffer, pos: number, s: string, bytes: number): number => {
  const n = s.length
  if (n >= SHORT_STRING) {
    if (s === stagedBody && bytes === stagedBytes) {
      if (buf !== stage || pos !== STAGE_AT) stage.copy(buf, pos, STAGE_AT, STAGE_AT + bytes)
      stagedBody = undefined
      return pos + bytes
    }
    return pos + (bytes === n ? buf.latin1Write(s, pos, bytes) : buf.utf8Write(s, pos, bytes))
  }
  if (bytes === n) return pos + buf.latin1Write(s, pos, n)
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) buf[pos++] = c
    else if (c < 0x800) {
      buf[pos++] = (c >> 6) | 0xc0
      buf[pos++] = (c & 0x3f) | 0x80
    } else {
      const d = s.charCodeAt(i + 1)
      if ((c & 0xfc00) === 0xd800 && (d & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (d & 0x03ff)
        i++
        buf[pos++] = (c >> 18) | 0xf0
        buf[pos++] = ((c >> 12) & 0x3f) | 0x80
        buf[pos++] = ((c >> 6) & 0x3f) | 0x80
        buf[pos++] = (c & 0x3f) | 0x80
      } else {
        buf[pos++] = (c >> 12) | 0xe0
        buf[pos++] = ((c >> 6) & 0x3f) | 0x80
        buf[pos++] = (c & 0x3f) | 0x80
      }
    }
  }
  return pos
}

/**
 * String byte lengths found by `measure`, in the order `write` writes the strings (UTF-8 as
 * Buffer counts it, which is also msgpackr's count: a lone surrogate takes 3 bytes either way).
 */
const measured: Array<number> = []
let measuredCount = 0
let written = 0

const measureString = (s: string): number => {
  const bytes = s.length >= STAGE_BODY ? stageBody(s) : Buffer.byteLength(s, "utf8")
  measured[measuredCount++] = bytes
  return stringHeaderBytes(bytes) + bytes
}

const writeString = (buf: NodeBuffer, pos: number, s: string): number => {
  const bytes = measured[written++]!
  return writeStringData(buf, writeStringHeader(buf, pos, bytes), s, bytes)
}

/** msgpackr's choice for a number: fixint/uint8..32, negative ints, else float64. */
const numberBytes = (v: number): number =>
  v >>> 0 === v
    ? v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5
    : v >> 0 === v
    ? v >= -0x20 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : 5
    : 9

const writeNumber = (buf: NodeBuffer, pos: number, v: number): number => {
  if (v >>> 0 === v) {
    if (v < 0x80) {
      buf[pos] = v
      return pos + 1
    }
    if (v < 0x100) {
      buf[pos] = 0xcc
      buf[pos + 1] = v
      return pos + 2
    }
    if (v < 0x10000) {
      buf[pos] = 0xcd
      buf[pos + 1] = v >>> 8
      buf[pos + 2] = v & 0xff
      return pos + 3
    }
    buf[pos] = 0xce
    return buf.writeUInt32BE(v, pos + 1)
  }
  if (v >> 0 === v) {
    if (v >= -0x20) {
      buf[pos] = 0x100 + v
      return pos + 1
    }
    if (v >= -0x80) {
      buf[pos] = 0xd0
      buf[pos + 1] = v + 0x100
      return pos + 2
    }
    if (v >= -0x8000) {
      buf[pos] = 0xd1
      return buf.writeInt16BE(v, pos + 1)
    }
    buf[pos] = 0xd2
    return buf.writeInt32BE(v, pos + 1)
  }
  buf[pos] = 0xcb
  return buf.writeDoubleBE(v, pos + 1)
}

const arrayHeaderBytes = (n: number): number => (n < 0x10 ? 1 : n < 0x10000 ? 3 : 5)

const writeArrayHeader = (buf: NodeBuffer, pos: number, n: number): number => {
  if (n < 0x10) {
    buf[pos] = 0x90 | n
    return pos + 1
  }
  if (n < 0x10000) {
    buf[pos] = 0xdc
    buf[pos + 1] = n >>> 8
    buf[pos + 2] = n & 0xff
    return pos + 3
  }
  buf[pos] = 0xdd
  return buf.writeUInt32BE(n, pos + 1)
}

const idsLength = (ids: unknown): number => {
  if (!Array.isArray(ids)) return -1
  let length = arrayHeaderBytes(ids.length)
  for (let i = 0; i < ids.length; i++) {
    const id: unknown = ids[i]
    if (typeof id !== "string") return -1
    length += measureString(id)
  }
  return length
}

const writeIds = (buf: NodeBuffer, pos: number, ids: ReadonlyArray<string>): number => {
  pos = writeArrayHeader(buf, pos, ids.length)
  for (let i = 0; i < ids.length; i++) pos = writeString(buf, pos, ids[i]!)
  return pos
}

const isNumber = (u: unknown): u is number => typeof u === "number"

/**
 * The exact encoded length of a message this module encodes, or -1 for msgpackr to encode it
 * (other types, or fields of unexpected types). Must be followed by `write` of the same message
 * before anything else is measured (a large body is staged between the two).
 */
export const measure = (message: WireMessage): number => {
  measuredCount = 0
  stagedBody = undefined
  switch (message._tag) {
    case "Text": {
      const { body, id, sentAt } = message
      if (typeof id !== "string" || typeof body !== "string" || !isNumber(sentAt)) return -1
      return 2 + measureString(id) + measureString(body) + numberBytes(sentAt)
    }
    case "GroupText": {
      const { body, groupId, id, sentAt } = message
      if (typeof groupId !== "string" || typeof id !== "string" || typeof body !== "string" || !isNumber(sentAt)) {
        return -1
      }
      return 2 + measureString(groupId) + measureString(id) + measureString(body) + numberBytes(sentAt)
    }
    case "Ack":
    case "Read": {
      const ids = idsLength(message.ids)
      return ids < 0 ? -1 : 2 + ids
    }
    case "Ping":
    case "Pong":
      return isNumber(message.seq) ? 2 + numberBytes(message.seq) : -1
    case "Typing":
      return typeof message.active === "boolean" ? 3 : -1
    case "GroupLeave":
      return typeof message.groupId === "string" ? 2 + measureString(message.groupId) : -1
    case "Bye":
      return typeof message.reason === "string" ? 2 + measureString(message.reason) : -1
    default:
      return -1
  }
}

/** Writes a message `measure` accepted at `pos`; returns the end. */
export const write = (buf: NodeBuffer, pos: number, message: WireMessage): number => {
  written = 0
  switch (message._tag) {
    case "Text":
      buf[pos] = 0x94
      buf[pos + 1] = wireIds.Text
      pos = writeString(buf, pos + 2, message.id)
      pos = writeString(buf, pos, message.body)
      return writeNumber(buf, pos, message.sentAt)
    case "GroupText":
      buf[pos] = 0x95
      buf[pos + 1] = wireIds.GroupText
      pos = writeString(buf, pos + 2, message.groupId)
      pos = writeString(buf, pos, message.id)
      pos = writeString(buf, pos, message.body)
      return writeNumber(buf, pos, message.sentAt)
    case "Ack":
    case "Read":
      buf[pos] = 0x92
      buf[pos + 1] = wireIds[message._tag]
      return writeIds(buf, pos + 2, message.ids)
    case "Ping":
    case "Pong":
      buf[pos] = 0x92
      buf[pos + 1] = wireIds[message._tag]
      return writeNumber(buf, pos + 2, message.seq)
    case "Typing":
      buf[pos] = 0x92
      buf[pos + 1] = wireIds.Typing
      buf[pos + 2] = message.active ? 0xc3 : 0xc2
      return pos + 3
    case "GroupLeave":
      buf[pos] = 0x92
      buf[pos + 1] = wireIds.GroupLeave
      return writeString(buf, pos + 2, message.groupId)
    case "Bye":
      buf[pos] = 0x92
      buf[pos + 1] = wireIds.Bye
      return writeString(buf, pos + 2, message.reason)
    default:
      throw new TypeError(`no hand encoding for ${message._tag}`)
  }
}

/**
 * Writes a string known to fit `3 * s.length` bytes at `pos` with UTF-8 and reports whether it was
 * ASCII (one byte per unit), i.e. whether a header written for `s.length` bytes was right.
 */
const writeAsciiString = (buf: NodeBuffer, pos: number, s: string): boolean => {
  const n = s.length
  pos = writeStringHeader(buf, pos, n)
  return buf.utf8Write(s, pos, 3 * n) === n
}

/**
 * The encoded length of a Text, GroupText, Ack or Read if all its strings are ASCII (the usual
 * case: ids always are), without looking at them; -1 for other messages or unusual fields.
 */
export const asciiLength = (message: WireMessage): number => {
  switch (message._tag) {
    case "Text": {
      const { body, id, sentAt } = message
      if (typeof id !== "string" || typeof body !== "string" || !isNumber(sentAt)) return -1
      if (id.length >= SHORT_STRING || body.length >= STAGE_BODY) return -1
      return 2 + stringHeaderBytes(id.length) + id.length + stringHeaderBytes(body.length) + body.length +
        numberBytes(sentAt)
    }
    case "GroupText": {
      const { body, groupId, id, sentAt } = message
      if (typeof groupId !== "string" || typeof id !== "string" || typeof body !== "string" || !isNumber(sentAt)) {
        return -1
      }
      if (groupId.length >= SHORT_STRING || id.length >= SHORT_STRING || body.length >= STAGE_BODY) return -1
      return 2 + stringHeaderBytes(groupId.length) + groupId.length + stringHeaderBytes(id.length) + id.length +
        stringHeaderBytes(body.length) + body.length + numberBytes(sentAt)
    }
    case "Ack":
    case "Read": {
      const ids: unknown = message.ids
      if (!Array.isArray(ids)) return -1
      let length = 2 + arrayHeaderBytes(ids.length)
      for (let i = 0; i < ids.length; i++) {
        const id: unknown = ids[i]
        if (typeof id !== "string" || id.length >= SHORT_STRING) return -1
        length += stringHeaderBytes(id.length) + id.length
      }
      return length
    }
    default:
      return -1
  }
}

/**
 * Writes a message `asciiLength` accepted at `pos` as if its strings were ASCII, and checks that
 * they were: false when one was not (or when `buf` lacks room to find out) and the message must
 * be measured and written again. Saves counting UTF-8 bytes before writing (two calls per Text).
 */
export const writeAscii = (buf: NodeBuffer, pos: number, message: WireMessage, length: number): boolean => {
  switch (message._tag) {
    case "Text":
      if (pos + 3 * length > buf.length) return false
      buf[pos] = 0x94
      buf[pos + 1] = wireIds.Text
      pos += 2
      if (!writeAsciiString(buf, pos, message.id)) return false
      pos += stringHeaderBytes(message.id.length) + message.id.length
      if (!writeAsciiString(buf, pos, message.body)) return false
      pos += stringHeaderBytes(message.body.length) + message.body.length
      writeNumber(buf, pos, message.sentAt)
      return true
    case "GroupText":
      if (pos + 3 * length > buf.length) return false
      buf[pos] = 0x95
      buf[pos + 1] = wireIds.GroupText
      pos += 2
      if (!writeAsciiString(buf, pos, message.groupId)) return false
      pos += stringHeaderBytes(message.groupId.length) + message.groupId.length
      if (!writeAsciiString(buf, pos, message.id)) return false
      pos += stringHeaderBytes(message.id.length) + message.id.length
      if (!writeAsciiString(buf, pos, message.body)) return false
      pos += stringHeaderBytes(message.body.length) + message.body.length
      writeNumber(buf, pos, message.sentAt)
      return true
    case "Ack":
    case "Read": {
      if (pos + 3 * length > buf.length) return false
      const ids = message.ids
      buf[pos] = 0x92
      buf[pos + 1] = wireIds[message._tag]
      pos = writeArrayHeader(buf, pos + 2, ids.length)
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!
        if (!writeAsciiString(buf, pos, id)) return false
        pos += stringHeaderBytes(id.length) + id.length
      }
      return true
    }
    default:
      return false
  }
}

const lengthOf = (u: unknown): number => (typeof u === "string" || Array.isArray(u) ? u.length : 0)

/** Roughly the encoded length (exact for ASCII strings), to size an output buffer before measuring. */
export const estimate = (message: WireMessage): number => {
  switch (message._tag) {
    case "Text":
      return 16 + lengthOf(message.id) + lengthOf(message.body)
    case "GroupText":
      return 50 + lengthOf(message.id) + lengthOf(message.body)
    case "Ack":
    case "Read": {
      const ids: unknown = message.ids
      if (!Array.isArray(ids)) return 64
      let length = 8
      for (let i = 0; i < ids.length; i++) length += 2 + lengthOf(ids[i])
      return length
    }
    default:
      return 64
  }
}

/**
 * Writes a measured message (`length` bytes) into the shared stage buffer with at least
 * `STAGE_ROOM` free bytes before it, leaving a staged body where it is; returns the start. The
 * buffer is `stageBuffer()` until the next `measure`.
 */
export const writeStaged = (message: WireMessage, length: number): number => {
  let start = STAGE_ROOM
  if ((message._tag === "Text" || message._tag === "GroupText") && message.body === stagedBody) {
    start = STAGE_AT - (length - stagedBytes - numberBytes(message.sentAt))
  } else {
    stagedBody = undefined
    if (stage.length < STAGE_ROOM + length + 16) stage = Buffer.allocUnsafeSlow(STAGE_ROOM + length + 16) as NodeBuffer
  }
  write(stage, start, message)
  return start
}

export const stageBuffer = (): NodeBuffer => stage
