/** Node's Buffer string codecs the wire codec uses (not in @types/node; msgpackr relies on them too). */
export interface NodeBuffer extends Buffer {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
  ucs2Slice(start: number, end: number): string
  latin1Write(string: string, offset: number, length: number): number
  utf8Write(string: string, offset: number, length: number): number
}

/** A Buffer view of any bytes (no copy). */
export const nodeBuffer = (bytes: Uint8Array): NodeBuffer =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as NodeBuffer
