/**
 * The abstract byte stream every channel runs over: TCP in production, an in-memory pipe in tests.
 *
 * @since 2.0.0
 */
import { Deferred, Effect, Option, Queue } from "effect"
import { TransportError } from "../domain/Errors.js"
import type { ByteQueue } from "./internal/ByteQueue.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface ByteStream {
  /** The next chunk; fails with reason "Closed" once the peer has ended the stream. */
  readonly read: Effect.Effect<Uint8Array, TransportError>
  /** Writes the chunks in order as one operation (one syscall on TCP when it can). */
  readonly write: (chunks: ReadonlyArray<Uint8Array>) => Effect.Effect<void, TransportError>
  /** Ends the stream in both directions; idempotent. */
  readonly close: Effect.Effect<void>
  readonly remoteAddress: string
}

/**
 * @since 2.0.0
 * @category errors
 */
export const closed = new TransportError({ reason: "Closed" })

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

/**
 * Two connected in-memory streams. Each direction holds at most `capacity` pending writes, so a
 * writer that outruns its reader waits, like TCP backpressure. Closing either end delivers what
 * was already written, then ends both directions.
 *
 * @since 2.0.0
 * @category constructors
 */
export const memoryPair = (capacity = 1024): Effect.Effect<readonly [ByteStream, ByteStream]> =>
  Effect.gen(function*() {
    const aToB = yield* Queue.bounded<Uint8Array>(capacity)
    const bToA = yield* Queue.bounded<Uint8Array>(capacity)
    const ended = yield* Deferred.make<void>()
    const drainOrFail = (inbox: Queue.Queue<Uint8Array>) =>
      Effect.flatMap(Queue.poll(inbox), Option.match({ onNone: () => Effect.fail(closed), onSome: Effect.succeed }))
    const end = (inbox: Queue.Queue<Uint8Array>, outbox: Queue.Queue<Uint8Array>, name: string): ByteStream => ({
      remoteAddress: name,
      read: Effect.flatMap(Queue.poll(inbox), (next) => {
        if (Option.isSome(next)) return Effect.succeed(next.value)
        return Effect.raceFirst(
          Queue.take(inbox),
          Effect.zipRight(Deferred.await(ended), drainOrFail(inbox))
        )
      }),
      write: (chunks) =>
        Effect.flatMap(Deferred.isDone(ended), (isDone) =>
          isDone
            ? Effect.fail(closed)
            : Effect.raceFirst(
              Effect.forEach(chunks, (chunk) => Queue.offer(outbox, new Uint8Array(chunk)), { discard: true }),
              Effect.zipRight(Deferred.await(ended), Effect.fail(closed))
            )),
      close: Effect.asVoid(Deferred.succeed(ended, undefined))
    })
    return [end(bToA, aToB, "memory:a"), end(aToB, bToA, "memory:b")] as const
  })
