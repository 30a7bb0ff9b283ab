/**
 * The v2 secure channel: preamble, Noise IK handshake with the identity keys as static keys,
 * Hello exchange, then framed transport (see docs/PROTOCOL.md).
 *
 * @since 2.0.0
 */
import { Effect, Either } from "effect"
import type { ChannelError } from "../domain/Errors.js"
import { ProtocolError } from "../domain/Errors.js"
import type { PublicKey } from "../domain/Keys.js"
import type { Hello, WireMessage } from "../domain/Messages.js"
import type { ByteStream } from "./ByteStream.js"
import { readExactly, write } from "./ByteStream.js"
import type { Channel, ChannelReceiver } from "./Channel.js"
import { startDecoding } from "./Channel.js"
import type { Aead } from "./crypto/Aead.js"
import type { KeyPair } from "./crypto/X25519.js"
import type { FramingOptions } from "./Framing.js"
import { defaultFramingOptions, FrameDecoder, FrameEncoder } from "./Framing.js"
import { ByteQueue } from "./internal/ByteQueue.js"
import * as MessageCodec from "./MessageCodec.js"
import type { TransportKeys } from "./noise/HandshakeState.js"
import { HandshakeState } from "./noise/HandshakeState.js"
import { PREAMBLE } from "./Preamble.js"

/**
 * Largest handshake message accepted: IK message 1 is 96 bytes plus its payload, message 2 is 48
 * plus the responder's Hello, and the largest Hello the Schema allows (every string at its limit,
 * in 3-byte UTF-8) encodes to about 3.6 KB.
 *
 * @since 2.0.0
 * @category constants
 */
export const MAX_HANDSHAKE_MESSAGE = 4096

/**
 * @since 2.0.0
 * @category models
 */
export interface SecureChannelOptions {
  readonly staticKeyPair: KeyPair
  readonly hello: Hello
  readonly framing?: FramingOptions | undefined
  readonly aead?: Aead | undefined
  /** Test hook: a fixed ephemeral key (the Noise vectors use one). */
  readonly ephemeralKeyPair?: KeyPair | undefined
}

const lengthPrefixed = (message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 + message.length)
  out[0] = message.length >>> 8
  out[1] = message.length & 0xff
  out.set(message, 2)
  return out
}

const readHandshakeMessage = (stream: ByteStream, queue: ByteQueue) =>
  Effect.gen(function*() {
    const header = yield* readExactly(stream, queue, 2)
    const length = (header[0]! << 8) | header[1]!
    if (length > MAX_HANDSHAKE_MESSAGE) {
      return yield* new ProtocolError({ reason: "FrameTooLarge", detail: `handshake message of ${length} bytes` })
    }
    return yield* readExactly(stream, queue, length)
  })

const expectHello = (message: WireMessage | undefined): Effect.Effect<Hello, ProtocolError> =>
  message?._tag === "Hello"
    ? Effect.succeed(message)
    : new ProtocolError({ reason: "Handshake", detail: "expected Hello first" })

type Transport = Pick<Channel, "send" | "sendNow" | "receive" | "start" | "rekey">

const makeTransport = (
  stream: ByteStream,
  queue: ByteQueue,
  keys: TransportKeys,
  framing: FramingOptions,
  pending: Array<WireMessage>
): Transport => {
  const encoder = new FrameEncoder(keys.send, framing)
  const decoder = new FrameDecoder(keys.receive, framing, queue)

  const decodeBuffered = (): Either.Either<Array<WireMessage>, ProtocolError> => {
    const messages: Array<WireMessage> = []
    const error = decoder.drainMessages(messages)
    return error === undefined ? Either.right(messages) : Either.left(error)
  }

  const receive: Effect.Effect<ReadonlyArray<WireMessage>, ChannelError> = Effect.suspend(() => {
    if (pending.length > 0) return Effect.succeed(pending.splice(0))
    const decoded = decodeBuffered()
    if (Either.isLeft(decoded)) return decoded.left
    if (decoded.right.length > 0) return Effect.succeed(decoded.right)
    return Effect.flatMap(stream.read, (chunk) => {
      decoder.push(chunk)
      return receive
    })
  })

  /** Decodes in the socket's callback and hands each chunk's messages over at once. */
  const start = (receiver: ChannelReceiver) => {
    if (pending.length > 0) receiver.messages(pending.splice(0))
    startDecoding(stream, receiver, (chunk) => decoder.push(chunk), (out) => decoder.drainMessages(out))
  }

  const sendNow = (messages: ReadonlyArray<WireMessage>) => stream.writeNow([encoder.encodeMessages(messages)])
  return {
    sendNow,
    send: (messages) =>
      Effect.suspend(() => {
        const error = sendNow(messages)
        return error === undefined ? Effect.void : Effect.fail(error)
      }),
    receive,
    start,
    rekey: Effect.sync(() => encoder.requestRekey())
  }
}

const makeChannel = (stream: ByteStream, keys: TransportKeys, remoteHello: Hello, transport: Transport): Channel => ({
  ...transport,
  protocol: "v2",
  remoteStatic: keys.remoteStatic as PublicKey,
  remoteHello,
  remoteAddress: stream.remoteAddress,
  supportsReceipts: true,
  congested: stream.congested,
  drain: stream.drain,
  setReading: stream.setReading,
  close: stream.close
})

/**
 * Dials side: the peer's static key is known (pinned from its contact card), so IK authenticates
 * it in one round trip and never reveals our identity to anyone who does not hold that key.
 *
 * @since 2.0.0
 * @category handshake
 */
export const initiate = (
  stream: ByteStream,
  remoteStatic: Uint8Array,
  options: SecureChannelOptions
): Effect.Effect<Channel, ChannelError> =>
  Effect.gen(function*() {
    const framing = options.framing ?? defaultFramingOptions
    const handshake = new HandshakeState({
      pattern: "IK",
      initiator: true,
      prologue: PREAMBLE,
      staticKeyPair: options.staticKeyPair,
      ephemeralKeyPair: options.ephemeralKeyPair,
      remoteStatic,
      aead: options.aead
    })
    const first = yield* handshake.writeMessage(new Uint8Array(0))
    yield* write(stream, [PREAMBLE, lengthPrefixed(first)])
    const queue = new ByteQueue()
    const second = yield* readHandshakeMessage(stream, queue)
    const payload = yield* handshake.readMessage(second)
    const remoteHello = yield* Effect.flatMap(MessageCodec.decode(payload), expectHello)
    const keys = yield* handshake.split()
    const transport = makeTransport(stream, queue, keys, framing, [])
    yield* transport.send([options.hello])
    return makeChannel(stream, keys, remoteHello, transport)
  })

/**
 * @since 2.0.0
 * @category models
 */
export interface RespondOptions extends SecureChannelOptions {
  /** Decides whether this static key may connect; fails to reject (the connection just closes). */
  readonly authorize: (remoteStatic: PublicKey) => Effect.Effect<void, ProtocolError>
}

/**
 * Listening side, after {@link Preamble.sniff} consumed the preamble. The link counts as
 * authenticated only once the initiator's first transport frame (its Hello) decrypts, so a
 * replayed first message cannot displace a live link.
 *
 * @since 2.0.0
 * @category handshake
 */
export const respond = (
  stream: ByteStream,
  queue: ByteQueue,
  options: RespondOptions
): Effect.Effect<Channel, ChannelError> =>
  Effect.gen(function*() {
    const framing = options.framing ?? defaultFramingOptions
    const handshake = new HandshakeState({
      pattern: "IK",
      initiator: false,
      prologue: PREAMBLE,
      staticKeyPair: options.staticKeyPair,
      ephemeralKeyPair: options.ephemeralKeyPair,
      aead: options.aead
    })
    const first = yield* readHandshakeMessage(stream, queue)
    yield* handshake.readMessage(first)
    const remoteStatic = handshake.remoteStatic as PublicKey
    yield* options.authorize(remoteStatic)
    const second = yield* handshake.writeMessage(MessageCodec.encode(options.hello))
    yield* write(stream, [lengthPrefixed(second)])
    const keys = yield* handshake.split()
    const pending: Array<WireMessage> = []
    const transport = makeTransport(stream, queue, keys, framing, pending)
    const batch = yield* transport.receive
    const remoteHello = yield* expectHello(batch[0])
    pending.push(...batch.slice(1))
    return makeChannel(stream, keys, remoteHello, transport)
  })
