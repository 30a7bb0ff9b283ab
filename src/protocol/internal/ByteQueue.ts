/**
 * A FIFO of received chunks with exact reads. Reads inside one chunk return a view (no copy);
 * reads across chunks copy once. Nothing here allocates more than the caller asked to read,
 * and callers bound every length before asking.
 */
export class ByteQueue {
  private chunks: Array<Uint8Array> = []
  private offset = 0
  private size = 0

  get length(): number {
    return this.size
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.size += chunk.length
  }

  /** The byte at position `index` from the front; the caller checks `index < length`. */
  byteAt(index: number): number {
    let i = index + this.offset
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i]!
      i -= chunk.length
    }
    throw new RangeError("ByteQueue.byteAt past the end")
  }

  uint16At(index: number): number {
    return (this.byteAt(index) << 8) | this.byteAt(index + 1)
  }

  uint32At(index: number): number {
    return ((this.byteAt(index) << 24) >>> 0) + (this.uint16At(index + 1) << 8) + this.byteAt(index + 3)
  }

  /**
   * Removes and returns the first `n` bytes; the caller checks `n <= length`. Across chunks they
   * are copied into `scratch` when given (it must hold `n`; the result is then a view of it).
   */
  read(n: number, scratch?: Uint8Array): Uint8Array {
    if (n > this.size) throw new RangeError("ByteQueue.read past the end")
    this.size -= n
    const first = this.chunks[0]
    if (n === 0 || first === undefined) return new Uint8Array(0)
    if (first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n)
      this.advance(first, n)
      return view
    }
    const out = scratch === undefined ? new Uint8Array(n) : scratch.subarray(0, n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const take = Math.min(chunk.length - this.offset, n - filled)
      out.set(chunk.subarray(this.offset, this.offset + take), filled)
      filled += take
      this.advance(chunk, take)
    }
    return out
  }

  /** Removes the first `n` bytes without reading them; the caller checks `n <= length`. */
  skip(n: number): void {
    if (n > this.size) throw new RangeError("ByteQueue.skip past the end")
    this.size -= n
    while (n > 0) {
      const chunk = this.chunks[0]!
      const part = Math.min(chunk.length - this.offset, n)
      this.advance(chunk, part)
      n -= part
    }
  }

  private advance(chunk: Uint8Array, n: number): void {
    this.offset += n
    if (this.offset === chunk.length) {
      this.chunks.shift()
      this.offset = 0
    }
  }
}
