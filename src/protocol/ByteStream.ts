/**
 * The abstract byte stream every channel runs over: TCP in production, an in-memory pipe in tests.
 * Writes never wait: they hand bytes to the transport at once and report congestion, so a writer
 * can stop taking new work until `drain` (TCP's backpressure, without an effect per write).
 * Reading is pulled (`read`, for handshakes) until a {@link ByteSink} is attached; from then on
 * every chunk is pushed to it from the transport's own callback, with no fiber in between.
 *
 * @since 2.0.0
 */
import { Effect } from "effect"
import { TransportError } from "../domain/Errors.js"
import type { ByteQueue } from "./internal/ByteQueue.js"

/**
 * Where an attached stream pushes what happens to it. Called synchronously from the transport's
 * callbacks (never from inside `writeNow`), so implementations must not throw.
 *
 * @since 2.0.0
 * @category models
 */
export interface ByteSink {
  /** A chunk arrived; it belongs to the sink (which may decrypt it in place). */
  readonly chunk: (chunk: Uint8Array) => void
  /** The stream ended (the peer closed, an error, or `close`); called once, nothing follows. */
  readonly end: (error: TransportError) => void
  /** The transport is no longer congested. */
  readonly drained: () => void
}

/**
 * @since 2.0.0
 * @category models
 */
export interface ByteStream {
  /** The next chunk; fails with reason "Closed" once the peer has ended the stream. */
  readonly read: Effect.Effect<Uint8Array, TransportError>
  /**
   * Pushes every later chunk to `sink`, those already buffered first (synchronously, before
   * `attach` returns); `read` must not be used afterwards.
   */
  readonly attach: (sink: ByteSink) => void
  /** Stops (false) or resumes (true) taking bytes from the transport, for a sink that falls behind. */
  readonly setReading: (reading: boolean) => void
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
 * One direction of a pipe: chunks waiting to be read, and the reader, sink or drainers parked on
 * it. An attached sink gets chunks in a later microtask, never inside the writer's call (as a
 * socket would), so two linked ends cannot re-enter each other.
 */
class Lane {
  chunks: Array<Uint8Array> = []
  bytes = 0
  reader: Resume<Uint8Array> | undefined = undefined
  drainers: Array<Resume<void>> = []
  sink: ByteSink | undefined = undefined
  /** The sink on the writing side of this lane, told when the lane drains. */
  writerSink: (() => ByteSink | undefined) | undefined = undefined
  reading = true
  deliveryQueued = false
  ended: TransportError | undefined = undefined

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
    if (this.sink !== undefined) this.deliverSoon()
  }

  shift(): Uint8Array | undefined {
    const chunk = this.chunks.shift()
    if (chunk === undefined) return undefined
    const wasCongested = this.bytes > this.highWater
    this.bytes -= chunk.length
    if (this.bytes <= this.highWater) {
      if (this.drainers.length > 0) {
        const drainers = this.drainers
        this.drainers = []
        for (const d of drainers) d(Effect.void)
      }
      if (wasCongested) this.writerSink?.()?.drained()
    }
    return chunk
  }

  deliverSoon() {
    if (this.deliveryQueued) return
    this.deliveryQueued = true
    queueMicrotask(() => {
      this.deliveryQueued = false
      this.deliver()
    })
  }

  deliver() {
    const sink = this.sink
    if (sink === undefined) return
    while (this.reading && this.chunks.length > 0) sink.chunk(this.shift()!)
    if (this.chunks.length === 0 && this.ended !== undefined) {
      this.sink = undefined
      sink.end(this.ended)
    }
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
        lane.ended = closed
        if (lane.sink !== undefined) lane.deliverSoon()
      }
    }
    aToB.writerSink = () => bToA.sink
    bToA.writerSink = () => aToB.sink
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
      attach: (sink) => {
        inbox.sink = sink
        inbox.deliver()
      },
      setReading: (reading) => {
        inbox.reading = reading
        if (reading) inbox.deliverSoon()
      },
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
