/**
 * What a peer link runs over once a handshake succeeded: v2 (Noise IK) or legacy v1. The actor
 * above sees only this.
 *
 * @since 2.0.0
 */
import type { Effect } from "effect"
import type { ChannelError } from "../domain/Errors.js"
import type { PublicKey } from "../domain/Keys.js"
import type { Hello, WireMessage } from "../domain/Messages.js"
import type { ByteStream } from "./ByteStream.js"

/**
 * What a started channel calls, synchronously from the transport's callbacks. Implementations must
 * not throw.
 *
 * @since 2.0.0
 * @category models
 */
export interface ChannelReceiver {
  /** One or more messages arrived, decoded and validated; the array is the receiver's. */
  readonly messages: (batch: Array<WireMessage>) => void
  /** The channel ended (the peer closed, a protocol violation, `close`); called once, nothing follows. */
  readonly closed: (error: ChannelError) => void
  /** The transport is no longer congested. */
  readonly writable: () => void
}

/**
 * @since 2.0.0
 * @category models
 */
export interface Channel {
  readonly protocol: "v2" | "v1"
  /** The authenticated static key of the peer. */
  readonly remoteStatic: PublicKey
  /** The peer's Hello (synthesised from the v1 handshake for legacy peers). */
  readonly remoteHello: Hello
  /** Encodes, seals and hands messages to the transport at once; they share frames and one write. */
  readonly sendNow: (messages: ReadonlyArray<WireMessage>) => ChannelError | undefined
  /** `sendNow` as an effect. */
  readonly send: (messages: ReadonlyArray<WireMessage>) => Effect.Effect<void, ChannelError>
  /** True while the transport's send buffer is full: stop taking bulk work until `drain`. */
  readonly congested: () => boolean
  readonly drain: Effect.Effect<void, ChannelError>
  /** The next batch of one or more messages. One reader at a time, and not once started. */
  readonly receive: Effect.Effect<ReadonlyArray<WireMessage>, ChannelError>
  /**
   * Pushes everything that arrives from now on to `receiver` (what is already buffered first,
   * possibly before `start` returns); `receive` must not be used afterwards.
   */
  readonly start: (receiver: ChannelReceiver) => void
  /** Stops (false) or resumes (true) reading, for a receiver that falls behind. */
  readonly setReading: (reading: boolean) => void
  /** Asks for a rekey with the next frame (v2 only). */
  readonly rekey: Effect.Effect<void>
  readonly close: Effect.Effect<void>
  readonly remoteAddress: string
  /** Whether the peer understands receipts (v1 peers do not). */
  readonly supportsReceipts: boolean
}

/**
 * What `start` does for a channel whose decoder is fed chunk by chunk: decodes what is already
 * buffered, then attaches to the stream and decodes after every chunk, handing each batch to the
 * receiver; the first error (or the end of the stream) ends it, once. `decode` appends at most
 * `batchLimit` messages per call and returns the first violation.
 *
 * @since 2.0.0
 * @category constructors
 */
export const startDecoding = (
  stream: ByteStream,
  receiver: ChannelReceiver,
  push: (chunk: Uint8Array) => void,
  decode: (out: Array<WireMessage>) => ChannelError | undefined,
  batchLimit = Number.POSITIVE_INFINITY
): void => {
  let ended = false
  const end = (error: ChannelError) => {
    if (ended) return
    ended = true
    receiver.closed(error)
  }
  const deliver = () => {
    while (!ended) {
      const messages: Array<WireMessage> = []
      const error = decode(messages)
      if (messages.length > 0) receiver.messages(messages)
      if (error !== undefined) return end(error)
      if (messages.length < batchLimit) return
    }
  }
  deliver()
  stream.attach({
    chunk: (chunk) => {
      if (ended) return
      push(chunk)
      deliver()
    },
    end,
    drained: receiver.writable
  })
}
