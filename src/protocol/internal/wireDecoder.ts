/**
 * Hand-written MessagePack decoding of the messages that dominate traffic, straight out of frame
 * plaintexts. It accepts only what it decodes exactly as msgpackr + the Schema would; anything
 * unusual (an int width or string form it does not know, invalid UTF-8, extra elements, a bad
 * id) returns `null`, and the caller takes the msgpackr + Schema path, which also produces the
 * precise error. Strings are copied out: nothing decoded refers to the input.
 */
import { isAscii } from "node:buffer"
import { endianness } from "node:os"
import type { GroupId, MessageId } from "../../domain/Ids.js"
import type { WireMessage } from "../../domain/Messages.js"
import { Bye, MAX_BODY_LENGTH, MAX_IDS, wireIds } from "../../domain/Messages.js"
import type { NodeBuffer } from "./nodeBuffer.js"

/** `[A-Za-z0-9._:-]` (message ids) and `[0-9a-f]` (group ids) as byte tables. */
const ID_BYTE = new Uint8Array(256)
const HEX_BYTE = new Uint8Array(256)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ID_BYTE[c.charCodeAt(0)] = 1
for (const c of "0123456789abcdef") HEX_BYTE[c.charCodeAt(0)] = 1

/**
 * From this length a body is checked for ASCII (then read as latin1) and otherwise decoded by
 * `utf8`, both faster than V8's UTF-8 decoder, which takes 3-4 ns a byte for non-ASCII text.
 */
const LARGE_BODY = 4096
const LITTLE_ENDIAN = endianness() === "LE"

/** UTF-16 units of the body being decoded (grown on demand, up to `MAX_BODY_LENGTH`). */
let units = new Uint16Array(0)
let unitBytes = Buffer.alloc(0) as NodeBuffer

/**
 * Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points above U+10FFFF, nothing
 * truncated) to a string of at most `MAX_BODY_LENGTH` units; `undefined` otherwise, and msgpackr
 * then decides (it replaces what is invalid).
 */
const utf8 = (buf: NodeBuffer, start: number, end: number): string | undefined => {
  if (units.length < MAX_BODY_LENGTH + 1) {
    units = new Uint16Array(MAX_BODY_LENGTH + 1)
    unitBytes = Buffer.from(units.buffer) as NodeBuffer
  }
  const out = units
  let n = 0
  let i = start
  while (i < end) {
    if (n >= MAX_BODY_LENGTH) return undefined
    const a = buf[i]!
    if (a < 0x80) {
      out[n++] = a
      i += 1
    } else if (a < 0xc2) {
      return undefined
    } else if (a < 0xe0) {
      if (i + 1 >= end) return undefined
      const b = buf[i + 1]!
      if ((b & 0xc0) !== 0x80) return undefined
      out[n++] = ((a & 0x1f) << 6) | (b & 0x3f)
      i += 2
    } else if (a < 0xf0) {
      if (i + 2 >= end) return undefined
      const b = buf[i + 1]!
      const c = buf[i + 2]!
      if ((b & 0xc0) !== 0x80 || (c & 0xc0) !== 0x80) return undefined
      const code = ((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f)
      if (code < 0x800 || (code >= 0xd800 && code <= 0xdfff)) return undefined
      out[n++] = code
      i += 3
    } else if (a < 0xf5) {
      if (i + 3 >= end || n + 1 >= MAX_BODY_LENGTH) return undefined
      const b = buf[i + 1]!
      const c = buf[i + 2]!
      const d = buf[i + 3]!
      if ((b & 0xc0) !== 0x80 || (c & 0xc0) !== 0x80 || (d & 0xc0) !== 0x80) return undefined
      const code = ((a & 0x07) << 18) | ((b & 0x3f) << 12) | ((c & 0x3f) << 6) | (d & 0x3f)
      if (code < 0x10000 || code > 0x10ffff) return undefined
      out[n++] = 0xd800 | ((code - 0x10000) >> 10)
      out[n++] = 0xdc00 | (code & 0x3ff)
      i += 4
    } else {
      return undefined
    }
  }
  return unitBytes.ucs2Slice(0, 2 * n)
}

/** Read position of the decoder (decoding is synchronous and never re-entered). */
let at = 0

/** Byte length of the str at `at` (and moves past its header), or -1 if not a str that fits before `end`. */
const strHeader = (buf: NodeBuffer, end: number): number => {
  if (at >= end) return -1
  const b = buf[at]!
  let length: number
  if ((b & 0xe0) === 0xa0) {
    length = b & 0x1f
    at += 1
  } else if (b === 0xd9) {
    if (at + 2 > end) return -1
    length = buf[at + 1]!
    at += 2
  } else if (b === 0xda) {
    if (at + 3 > end) return -1
    length = (buf[at + 1]! << 8) | buf[at + 2]!
    at += 3
  } else if (b === 0xdb) {
    if (at + 5 > end) return -1
    length = buf.readUInt32BE(at + 1)
    at += 5
  } else return -1
  return at + length > end ? -1 : length
}

const messageId = (buf: NodeBuffer, end: number): MessageId | undefined => {
  const length = strHeader(buf, end)
  if (length < 1 || length > 64) return undefined
  const start = at
  for (let i = start; i < start + length; i++) if (ID_BYTE[buf[i]!] === 0) return undefined
  at = start + length
  return buf.latin1Slice(start, at) as MessageId
}

const groupId = (buf: NodeBuffer, end: number): GroupId | undefined => {
  const length = strHeader(buf, end)
  if (length !== 32 || buf[at] !== 0x67) return undefined
  const start = at
  for (let i = start + 1; i < start + 32; i++) if (HEX_BYTE[buf[i]!] === 0) return undefined
  at = start + 32
  return buf.latin1Slice(start, at) as GroupId
}

/**
 * A body msgpackr decodes to the same string: valid UTF-8 within the limit (from V8's decoder,
 * without U+FFFD at all, since it stands for what was invalid).
 */
const body = (buf: NodeBuffer, end: number): string | undefined => {
  const length = strHeader(buf, end)
  if (length < 0) return undefined
  const start = at
  at += length
  if (length >= LARGE_BODY) {
    if (isAscii(buf.subarray(start, at))) return length <= MAX_BODY_LENGTH ? buf.latin1Slice(start, at) : undefined
    if (LITTLE_ENDIAN) return utf8(buf, start, at)
  }
  const s = buf.utf8Slice(start, at)
  return s.length <= MAX_BODY_LENGTH && s.indexOf("\ufffd") === -1 ? s : undefined
}

/** A non-negative safe integer in any encoding msgpackr decodes to a number, or -1. */
const natural = (buf: NodeBuffer, end: number): number => {
  if (at >= end) return -1
  const b = buf[at]!
  if (b < 0x80) {
    at += 1
    return b
  }
  switch (b) {
    case 0xcc:
    case 0xd0: {
      if (at + 2 > end) return -1
      const v = b === 0xcc ? buf[at + 1]! : buf.readInt8(at + 1)
      at += 2
      return v
    }
    case 0xcd:
    case 0xd1: {
      if (at + 3 > end) return -1
      const v = b === 0xcd ? buf.readUInt16BE(at + 1) : buf.readInt16BE(at + 1)
      at += 3
      return v
    }
    case 0xce:
    case 0xd2: {
      if (at + 5 > end) return -1
      const v = b === 0xce ? buf.readUInt32BE(at + 1) : buf.readInt32BE(at + 1)
      at += 5
      return v
    }
    case 0xcf:
    case 0xd3: {
      if (at + 9 > end) return -1
      const high = buf.readUInt32BE(at + 1)
      if (high >= 0x200000) return -1
      const v = high * 0x100000000 + buf.readUInt32BE(at + 5)
      at += 9
      return v
    }
    case 0xcb: {
      if (at + 9 > end) return -1
      const v = buf.readDoubleBE(at + 1)
      if (!(Number.isSafeInteger(v) && v >= 0)) return -1
      at += 9
      return v
    }
    default:
      return -1
  }
}

const BYE_REASONS: ReadonlySet<string> = new Set(Bye.fields.reason.literals)

/**
 * Decodes the message in `buf[start, end)` if it is one of the hand-decoded types in a form
 * decoded exactly; `null` sends the caller to msgpackr and the Schemas. Strings are copied out.
 */
export const decode = (buf: NodeBuffer, start: number, end: number): WireMessage | null => {
  if (end - start < 3) return null
  const head = buf[start]!
  at = start + 2
  switch (buf[start + 1]) {
    case wireIds.Text: {
      if (head !== 0x94) return null
      const id = messageId(buf, end)
      if (id === undefined) return null
      const text = body(buf, end)
      if (text === undefined) return null
      const sentAt = natural(buf, end)
      return sentAt < 0 || at !== end ? null : { _tag: "Text", id, body: text, sentAt }
    }
    case wireIds.Ack:
    case wireIds.Read: {
      if (head !== 0x92) return null
      const b = buf[at]!
      let count: number
      if ((b & 0xf0) === 0x90) {
        count = b & 0x0f
        at += 1
      } else if (b === 0xdc && at + 3 <= end) {
        count = (buf[at + 1]! << 8) | buf[at + 2]!
        at += 3
      } else return null
      if (count > MAX_IDS) return null
      const ids: Array<MessageId> = new Array(count)
      for (let i = 0; i < count; i++) {
        const id = messageId(buf, end)
        if (id === undefined) return null
        ids[i] = id
      }
      if (at !== end) return null
      return buf[start + 1] === wireIds.Ack ? { _tag: "Ack", ids } : { _tag: "Read", ids }
    }
    case wireIds.Ping:
    case wireIds.Pong: {
      if (head !== 0x92) return null
      const seq = natural(buf, end)
      if (seq < 0 || at !== end) return null
      return buf[start + 1] === wireIds.Ping ? { _tag: "Ping", seq } : { _tag: "Pong", seq }
    }
    case wireIds.GroupText: {
      if (head !== 0x95) return null
      const group = groupId(buf, end)
      if (group === undefined) return null
      const id = messageId(buf, end)
      if (id === undefined) return null
      const text = body(buf, end)
      if (text === undefined) return null
      const sentAt = natural(buf, end)
      return sentAt < 0 || at !== end ? null : { _tag: "GroupText", groupId: group, id, body: text, sentAt }
    }
    case wireIds.Typing: {
      const b = buf[at]
      return head !== 0x92 || end !== at + 1 || (b !== 0xc2 && b !== 0xc3)
        ? null
        : { _tag: "Typing", active: b === 0xc3 }
    }
    case wireIds.GroupLeave: {
      if (head !== 0x92) return null
      const group = groupId(buf, end)
      return group === undefined || at !== end ? null : { _tag: "GroupLeave", groupId: group }
    }
    case wireIds.Bye: {
      if (head !== 0x92) return null
      const length = strHeader(buf, end)
      if (length < 0 || at + length !== end) return null
      const reason = buf.latin1Slice(at, end)
      return BYE_REASONS.has(reason) ? { _tag: "Bye", reason: reason as Bye["reason"] } : null
    }
    default:
      return null
  }
}
