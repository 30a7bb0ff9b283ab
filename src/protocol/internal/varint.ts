/** Unsigned LEB128, at most 4 bytes (values below 2^28); every caller bounds the value first. */

export const MAX_VARINT_BYTES = 4

export const varintLength = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4)

export const writeVarint = (buf: Uint8Array, offset: number, n: number): number => {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  buf[offset++] = n
  return offset
}

/**
 * Reads a varint without allocating: returns `value * 8 + bytesRead` (`value` is `result >>> 3`,
 * the bytes read `result & 7`), or -1 if truncated or longer than 4 bytes.
 */
export const readVarint = (buf: Uint8Array, offset: number, end: number): number => {
  let value = 0
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= end) return -1
    const byte = buf[offset + i]!
    value |= (byte & 0x7f) << (7 * i)
    if ((byte & 0x80) === 0) return value * 8 + i + 1
  }
  return -1
}
