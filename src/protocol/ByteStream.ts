/**
 * The abstract byte stream every channel runs over: TCP in production, an in-memory pipe in tests.
 * Writes never wait: they hand bytes to the transport at once and report congestion, so a writer
 * can stop taking new work until `drain` (TCP's backpressure, without an effect per write).
 *
 * @since 2.0.0
 */
import { Effect } from "effect"
import { TransportError } from "../domain/Errors.js"
import type { ByteQueue } from "./internal/ByteQueue.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface ByteStream {
  /** The next chunk; fails with reason "Closed" once the peer has ended the stream. */
  readonly read: Effect.Effect<Uint8Array, TransportError>
  /** Hands the chunks to the transport in order, as one write when it can. Never waits. */
  readonly writeNow: (chunks: ReadonlyArray<Uint8Array>) => TransportError | undefined
  /** True while the transport's send buffer is over its high-water mark. */
  readonly congested: () => boolean
  /** Waits until the stream is no longer congested. */
  readonly drain: Effect.Effect<void, TransportError>
  /** Ends the stream in both directions after flushing what was written; idempotent. */
  readonly close: Effect.Effect<void>
  readonly remoteAddress: string
}

/**
 * @since 2.0.0
 * @category errors
 */
export const closed = new TransportError({ reason: "Closed" })

/**
 * `writeNow` as an effect.
 *
 * @since 2.0.0
 * @category writing
 */
export const write = (stream: ByteStream, chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void, TransportError> =>
  Effect.suspend(() => {
    const error = stream.writeNow(chunks)
    return error === undefined ? Effect.void : Effect.fail(error)
  })

/**
 * Reads until `queue` holds `n` bytes, then takes them.
 *
 * @since 2.0.0
 * @category reading
 */
export const readExactly = (
  stream: ByteStream,
  queue: ByteQueue,
  n: number
): Effect.Effect<Uint8Array, TransportError> =>
  queue.length >= n
    ? Effect.sync(() => queue.read(n))
    : Effect.flatMap(stream.read, (chunk) => {
      queue.push(chunk)
      return readExactly(stream, queue, n)
    })

/**
 * Waits until `queue` holds at least `n` bytes without taking them.
 *
 * @since 2.0.0
 * @category reading
 */
export const fill = (stream: ByteStream, queue: ByteQueue, n: number): Effect.Effect<void, TransportError> =>
  queue.length >= n ? Effect.void : Effect.flatMap(stream.read, (chunk) => {
    queue.push(chunk)
    return fill(stream, queue, n)
  })

type Resume<A> = (effect: Effect.Effect<A, TransportError>) => void

/**
 * One direction of a pipe: chunks waiting to be read, and the reader or drainers parked on it.
 */
class Lane {
  chunks: Array<Uint8Array> = []
  bytes = 0
  reader: Resume<Uint8Array> | undefined = undefined
  drainers: Array<Resume<void>> = []

  constructor(readonly highWater: number) {}

  push(chunk: Uint8Array) {
    const reader = this.reader
    if (reader !== undefined) {
      this.reader = undefined
      reader(Effect.succeed(chunk))
      return
    }
    this.chunks.push(chunk)
    this.bytes += chunk.length
  }

  shift(): Uint8Array | undefined {
    const chunk = this.chunks.shift()
    if (chunk === undefined) return undefined
    this.bytes -= chunk.length
    if (this.bytes <= this.highWater && this.drainers.length > 0) {
      const drainers = this.drainers
      this.drainers = []
      for (const d of drainers) d(Effect.void)
    }
    return chunk
  }
}

/**
 * Two connected in-memory streams with TCP-like semantics: bytes are delivered in order, a writer
 * past `highWater` unread bytes is told it is congested, and closing either end delivers what was
 * already written, then ends both directions.
 *
 * @since 2.0.0
 * @category constructors
 */
export const memoryPair = (highWater = 1024 * 1024): Effect.Effect<readonly [ByteStream, ByteStream]> =>
  Effect.sync(() => {
    const aToB = new Lane(highWater)
    const bToA = new Lane(highWater)
    const state = { ended: false }
    const end = () => {
      if (state.ended) return
      state.ended = true
      for (const lane of [aToB, bToA]) {
        const reader = lane.reader
        lane.reader = undefined
        reader?.(Effect.fail(closed))
        const drainers = lane.drainers
        lane.drainers = []
        for (const d of drainers) d(Effect.fail(closed))
      }
    }
    const side = (inbox: Lane, outbox: Lane, name: string): ByteStream => ({
      remoteAddress: name,
      read: Effect.suspend(() => {
        const chunk = inbox.shift()
        if (chunk !== undefined) return Effect.succeed(chunk)
        if (state.ended) return Effect.fail(closed)
        return Effect.async<Uint8Array, TransportError>((resume) => {
          inbox.reader = resume
          return Effect.sync(() => {
            if (inbox.reader === resume) inbox.reader = undefined
          })
        })
      }),
      writeNow: (chunks) => {
        if (state.ended) return closed
        for (const chunk of chunks) outbox.push(new Uint8Array(chunk))
        return undefined
      },
      congested: () => outbox.bytes > outbox.highWater,
      drain: Effect.suspend(() => {
        if (state.ended) return Effect.fail(closed)
        if (outbox.bytes <= outbox.highWater) return Effect.void
        return Effect.async<void, TransportError>((resume) => {
          outbox.drainers.push(resume)
        })
      }),
      close: Effect.sync(end)
    })
    return [side(bToA, aToB, "memory:a"), side(aToB, bToA, "memory:b")] as const
  })
