/**
 * A {@link ByteStream} over a `node:net` socket. This is the hot path between the kernel and the
 * channel, so it bridges Node's events by hand: before a sink is attached, received chunks wait
 * in an array (the socket is paused past a high-water mark) and a pending read is resumed
 * directly from the "data" handler; once attached, the "data" handler calls the sink. A write is
 * one corked batch handed to the socket at once; `congested`, `drain` and the sink's `drained`
 * expose the socket's own backpressure.
 *
 * @since 2.0.0
 */
import { Effect } from "effect"
import * as Net from "node:net"
import { TransportError } from "../domain/Errors.js"
import type { ByteSink, ByteStream } from "./ByteStream.js"

const HIGH_WATER = 1024 * 1024
const LOW_WATER = 256 * 1024
/** How long a closed socket may wait for a peer that does not read what is left to flush. */
const CLOSE_LINGER_MS = 10_000

/**
 * @since 2.0.0
 * @category constructors
 */
export const fromSocket = (socket: Net.Socket): ByteStream => {
  /** Chunks not handed over yet: before a sink is attached, or while it does not read. */
  const chunks: Array<Uint8Array> = []
  let buffered = 0
  /** Whether the socket itself is paused (past the high-water mark, or for the sink). */
  let paused = false
  let ended: TransportError | undefined
  let waiter: ((effect: Effect.Effect<Uint8Array, TransportError>) => void) | undefined
  let drainWaiters: Array<(effect: Effect.Effect<void, TransportError>) => void> = []
  let sink: ByteSink | undefined
  let sinkReading = true
  let sinkEnded = false

  socket.setNoDelay(true)

  const pauseSocket = (pause: boolean) => {
    if (pause === paused || ended !== undefined) return
    paused = pause
    if (pause) socket.pause()
    else socket.resume()
  }

  /** Hands buffered chunks to the sink while it reads, then the end once nothing is left. */
  const pump = () => {
    const to = sink
    if (to === undefined) return
    while (sinkReading && chunks.length > 0) to.chunk(chunks.shift()!)
    if (chunks.length === 0 && ended !== undefined && !sinkEnded) {
      sinkEnded = true
      to.end(ended)
    }
  }

  const finish = (error: TransportError) => {
    if (ended !== undefined) return
    ended = error
    const w = waiter
    waiter = undefined
    w?.(Effect.fail(error))
    const drains = drainWaiters
    drainWaiters = []
    for (const d of drains) d(Effect.fail(error))
    pump()
  }

  socket.on("data", (chunk: Buffer) => {
    if (sink !== undefined) {
      // A paused socket may still hand over what it had read: it waits for the sink.
      if (sinkReading && chunks.length === 0) return sink.chunk(chunk)
      return void chunks.push(chunk)
    }
    if (waiter !== undefined) {
      const w = waiter
      waiter = undefined
      w(Effect.succeed(chunk))
      return
    }
    chunks.push(chunk)
    buffered += chunk.length
    if (buffered > HIGH_WATER) pauseSocket(true)
  })
  socket.on("drain", () => {
    const drains = drainWaiters
    drainWaiters = []
    for (const d of drains) d(Effect.void)
    sink?.drained()
  })
  socket.on("end", () => finish(new TransportError({ reason: "Closed" })))
  socket.on("error", (error) => finish(new TransportError({ reason: "Read", detail: error.message })))
  socket.on("close", () => finish(new TransportError({ reason: "Closed" })))

  const read: Effect.Effect<Uint8Array, TransportError> = Effect.suspend(() => {
    const chunk = chunks.shift()
    if (chunk !== undefined) {
      buffered -= chunk.length
      if (buffered < LOW_WATER) pauseSocket(false)
      return Effect.succeed(chunk)
    }
    if (ended !== undefined) return Effect.fail(ended)
    return Effect.async<Uint8Array, TransportError>((resume) => {
      waiter = resume
      return Effect.sync(() => {
        if (waiter === resume) waiter = undefined
      })
    })
  })

  const writeNow = (data: ReadonlyArray<Uint8Array>): TransportError | undefined => {
    if (ended !== undefined || socket.destroyed || !socket.writable) {
      return new TransportError({ reason: "Write", detail: "socket closed" })
    }
    if (data.length === 1) {
      socket.write(data[0]!)
    } else {
      socket.cork()
      for (const chunk of data) socket.write(chunk)
      socket.uncork()
    }
    return undefined
  }

  const drain: Effect.Effect<void, TransportError> = Effect.suspend(() => {
    if (ended !== undefined) return Effect.fail(ended)
    if (!socket.writableNeedDrain) return Effect.void
    return Effect.async<void, TransportError>((resume) => {
      drainWaiters.push(resume)
    })
  })

  const close = Effect.sync(() => {
    if (socket.destroyed) return
    if (!socket.writable) return socket.destroy()
    // What was written is flushed first, unless the peer stops reading: the socket's own
    // inactivity timer then destroys it.
    socket.end(() => socket.destroy())
    socket.setTimeout(CLOSE_LINGER_MS, () => socket.destroy())
  })

  const attach = (to: ByteSink) => {
    sink = to
    buffered = 0
    pump()
    // The sink may have asked to stop reading while it took what was buffered.
    pauseSocket(!sinkReading)
  }

  const setReading = (reading: boolean) => {
    sinkReading = reading
    if (reading) pump()
    pauseSocket(!sinkReading)
  }

  return {
    read,
    attach,
    setReading,
    writeNow,
    congested: () => socket.writableNeedDrain,
    drain,
    close,
    remoteAddress: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`
  }
}

/**
 * Dials TCP; interruption (a timeout) destroys the half-open socket.
 *
 * @since 2.0.0
 * @category constructors
 */
export const connect = (host: string, port: number): Effect.Effect<ByteStream, TransportError> =>
  Effect.async<ByteStream, TransportError>((resume) => {
    const socket = Net.connect({ host, port })
    const onError = (error: Error) => {
      socket.destroy()
      resume(Effect.fail(new TransportError({ reason: "Connect", detail: `${host}:${port}: ${error.message}` })))
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(fromSocket(socket)))
    })
    return Effect.sync(() => socket.destroy())
  })
