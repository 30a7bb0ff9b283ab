/**
 * The legacy v1 channel, for contacts marked legacy: the original's raw key exchange, HANDSHAKE /
 * HANDSHAKE_RESPONSE and five-layer messages (reference §1), presented as a {@link Channel}.
 * Secure by default where the format allows: `content` is always sent empty (the original receiver
 * ignores it), and a message that fails to decrypt closes the link, so a peer that merely presents
 * a contact's public key can neither read nor inject anything.
 *
 * @since 2.0.0
 */
import { Effect, Either, Schema } from "effect"
import type { Clock } from "effect"
import type { ChannelError } from "../domain/Errors.js"
import { ProtocolError, TransportError } from "../domain/Errors.js"
import { GroupId, MessageId, Uid, Username } from "../domain/Ids.js"
import type { PublicKey } from "../domain/Keys.js"
import { bytesEqual, fingerprintOf } from "../domain/Keys.js"
import type { Hello, WireMessage } from "../domain/Messages.js"
import { MAX_BODY_LENGTH } from "../domain/Messages.js"
import type { ByteStream } from "./ByteStream.js"
import { readExactly, write } from "./ByteStream.js"
import type { Channel, ChannelReceiver } from "./Channel.js"
import { startDecoding } from "./Channel.js"
import { sha256 } from "./crypto/Hash.js"
import type { KeyPair } from "./crypto/X25519.js"
import { dh } from "./crypto/X25519.js"
import { ByteQueue } from "./internal/ByteQueue.js"
import { V1_KEY_RECORD_PREFIX } from "./Preamble.js"
import type { SessionKeys } from "./v1/FiveLayer.js"
import * as FiveLayer from "./v1/FiveLayer.js"
import type { Frame } from "./v1/Frame.js"
import * as V1 from "./v1/Frame.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface LegacyOptions {
  readonly staticKeyPair: KeyPair
  readonly uid: string
  readonly username: string
  /** Receive bound on a v1 frame payload (the original packs up to 10 MiB). */
  readonly maxPayloadBytes?: number | undefined
}

const keyRecord = (publicKey: Uint8Array) => [V1_KEY_RECORD_PREFIX, publicKey]

const handshakeError = (detail: string) => new ProtocolError({ reason: "Handshake", detail })

const readKeyRecord = (stream: ByteStream, queue: ByteQueue) =>
  Effect.gen(function*() {
    const length = yield* readExactly(stream, queue, 4)
    if (!bytesEqual(length, V1_KEY_RECORD_PREFIX)) return yield* handshakeError("key record length is not 32")
    return (yield* readExactly(stream, queue, 32)).slice() as PublicKey
  })

const readFrame = (stream: ByteStream, decoder: V1.FrameDecoder): Effect.Effect<Frame, ChannelError> =>
  Effect.suspend(() => {
    const next = decoder.next()
    if (Either.isLeft(next)) return next.left
    if (next.right !== undefined) return Effect.succeed(next.right)
    return Effect.flatMap(stream.read, (chunk) => {
      decoder.push(chunk)
      return readFrame(stream, decoder)
    })
  })

const decoderFrom = (queue: ByteQueue, maxPayloadBytes: number | undefined) => {
  const decoder = new V1.FrameDecoder(maxPayloadBytes)
  if (queue.length > 0) decoder.push(queue.read(queue.length))
  return decoder
}

const sessionKeys = (keyPair: KeyPair, remote: Uint8Array): Effect.Effect<SessionKeys, ProtocolError> => {
  const shared = dh(keyPair.privateKey, remote)
  return shared === undefined
    ? handshakeError("low-order public key")
    : Effect.succeed(FiveLayer.deriveSessionKeys(shared))
}

const isUid = Schema.is(Uid)
const isUsername = Schema.is(Username)
const isMessageId = Schema.is(MessageId)
const isGroupId = Schema.is(GroupId)

const helloFrom = (payload: Frame["payload"], remote: PublicKey): Hello => ({
  _tag: "Hello",
  uid: isUid(payload.uid) ? payload.uid : (fingerprintOf(remote).slice(0, 32) as Uid),
  username: isUsername(payload.username) ? payload.username : "unknown",
  listenPort: 0,
  agent: "jarvis-v1",
  features: []
})

/** A v1 message id as ours: kept if it fits, otherwise a stable digest of it. */
const messageIdFrom = (raw: string): MessageId =>
  isMessageId(raw)
    ? raw
    : (`v1-${Buffer.from(sha256(Buffer.from(raw, "utf8"))).toString("hex").slice(0, 32)}` as MessageId)

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** Python's naive local `datetime.isoformat()`. */
const isoLocal = (millis: number): string => {
  const d = new Date(millis)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }.${pad(d.getMilliseconds(), 3)}000`
}

const parseTimestamp = (raw: string, fallback: number): number => {
  const millis = new Date(raw).getTime()
  return Number.isFinite(millis) && millis >= 0 ? millis : fallback
}

const decodeText = Schema.decodeUnknownEither(V1.TextMessagePayload)
const decodeGroup = Schema.decodeUnknownEither(V1.GroupMessagePayload)
/** Most messages handed over at once. */
const MAX_BATCH = 256

const makeChannel = (
  stream: ByteStream,
  decoder: V1.FrameDecoder,
  keys: SessionKeys,
  remoteStatic: PublicKey,
  remoteHello: Hello,
  options: LegacyOptions,
  clock: Clock.Clock
): Channel => {
  let lastPingSeq = 0

  const encode = (message: WireMessage): Uint8Array | undefined => {
    switch (message._tag) {
      case "Text":
        return V1.encodeFrame(V1.MessageType.TEXT_MESSAGE, {
          message_id: message.id,
          content: "",
          timestamp: isoLocal(message.sentAt),
          encrypted: FiveLayer.encrypt(keys, message.body)
        })
      case "GroupText":
        return V1.encodeFrame(V1.MessageType.GROUP_MESSAGE, {
          group_id: message.groupId,
          message_id: message.id,
          sender_uid: options.uid,
          content: "",
          timestamp: isoLocal(message.sentAt),
          encrypted: FiveLayer.encrypt(keys, message.body)
        })
      case "Ping":
        lastPingSeq = message.seq
        return V1.encodeFrame(V1.MessageType.PING, {})
      case "Pong":
        return V1.encodeFrame(V1.MessageType.PONG, {})
      case "Bye":
        return V1.encodeFrame(V1.MessageType.DISCONNECT, {})
      default:
        return undefined
    }
  }

  const decryptBody = (encrypted: FiveLayer.FiveLayerCiphertext): Either.Either<string, ProtocolError> =>
    Either.flatMap(FiveLayer.decrypt(keys, encrypted), (body) =>
      body.length > MAX_BODY_LENGTH
        ? Either.left(new ProtocolError({ reason: "MessageTooLarge", detail: `${body.length} characters` }))
        : Either.right(body))

  const malformedFields = (what: string) => new ProtocolError({ reason: "Malformed", detail: `${what} fields` })

  const decode = (frame: Frame): Either.Either<WireMessage | undefined, ChannelError> => {
    switch (frame.type) {
      case V1.MessageType.PING:
        return Either.right({ _tag: "Ping", seq: 0 })
      case V1.MessageType.PONG:
        return Either.right({ _tag: "Pong", seq: lastPingSeq })
      case V1.MessageType.DISCONNECT:
        return Either.left(new TransportError({ reason: "Closed", detail: "peer sent DISCONNECT" }))
      case V1.MessageType.TEXT_MESSAGE: {
        const payload = decodeText(frame.payload)
        if (Either.isLeft(payload)) return Either.left(malformedFields("TEXT_MESSAGE"))
        return Either.map(decryptBody(payload.right.encrypted), (body) => ({
          _tag: "Text",
          id: messageIdFrom(payload.right.message_id),
          body,
          sentAt: parseTimestamp(payload.right.timestamp, clock.unsafeCurrentTimeMillis())
        }))
      }
      case V1.MessageType.GROUP_MESSAGE: {
        const payload = decodeGroup(frame.payload)
        if (Either.isLeft(payload)) return Either.left(malformedFields("GROUP_MESSAGE"))
        const { group_id: groupId } = payload.right
        return Either.map(decryptBody(payload.right.encrypted), (body) =>
          isGroupId(groupId)
            ? {
              _tag: "GroupText",
              groupId,
              id: messageIdFrom(payload.right.message_id),
              body,
              sentAt: parseTimestamp(payload.right.timestamp, clock.unsafeCurrentTimeMillis())
            }
            : undefined)
      }
      default:
        return Either.right(undefined)
    }
  }

  /**
   * Decodes the frames already complete in the buffer (a partial next frame must not hold back
   * what has been decoded), at most MAX_BATCH messages.
   */
  const decodeBuffered = (messages: Array<WireMessage>): ChannelError | undefined => {
    while (messages.length < MAX_BATCH) {
      const next = decoder.next()
      if (Either.isLeft(next)) return next.left
      if (next.right === undefined) return undefined
      const message = decode(next.right)
      if (Either.isLeft(message)) return message.left
      if (message.right !== undefined) messages.push(message.right)
    }
    return undefined
  }

  const sendNow = (messages: ReadonlyArray<WireMessage>) => {
    const frames = messages.map(encode).filter((frame): frame is Uint8Array => frame !== undefined)
    return frames.length === 0 ? undefined : stream.writeNow(frames)
  }

  const receive: Effect.Effect<ReadonlyArray<WireMessage>, ChannelError> = Effect.suspend(() => {
    const messages: Array<WireMessage> = []
    const error = decodeBuffered(messages)
    if (error !== undefined) return Effect.fail(error)
    if (messages.length > 0) return Effect.succeed(messages)
    return Effect.flatMap(stream.read, (chunk) => {
      decoder.push(chunk)
      return receive
    })
  })

  const start = (receiver: ChannelReceiver) =>
    startDecoding(stream, receiver, (chunk) => decoder.push(chunk), decodeBuffered, MAX_BATCH)

  return {
    protocol: "v1",
    remoteStatic,
    remoteHello,
    remoteAddress: stream.remoteAddress,
    supportsReceipts: false,
    sendNow,
    send: (messages) =>
      Effect.suspend(() => {
        const error = sendNow(messages)
        return error === undefined ? Effect.void : Effect.fail(error)
      }),
    congested: stream.congested,
    drain: stream.drain,
    receive,
    start,
    setReading: stream.setReading,
    rekey: Effect.void,
    close: stream.close
  }
}

/**
 * Dials a legacy contact whose key is pinned.
 *
 * @since 2.0.0
 * @category handshake
 */
export const initiate = (
  stream: ByteStream,
  remoteStatic: Uint8Array,
  options: LegacyOptions
): Effect.Effect<Channel, ChannelError> =>
  Effect.gen(function*() {
    const queue = new ByteQueue()
    yield* write(stream, keyRecord(options.staticKeyPair.publicKey))
    const presented = yield* readKeyRecord(stream, queue)
    if (!bytesEqual(presented, remoteStatic)) {
      return yield* new ProtocolError({ reason: "KeyMismatch", detail: "peer presented another key (possible MITM)" })
    }
    const keys = yield* sessionKeys(options.staticKeyPair, presented)
    yield* write(stream, [
      V1.encodeFrame(V1.MessageType.HANDSHAKE, {
        uid: options.uid,
        username: options.username,
        public_key: fingerprintOf(options.staticKeyPair.publicKey),
        protocol_version: 1
      })
    ])
    const decoder = decoderFrom(queue, options.maxPayloadBytes)
    const response = yield* readFrame(stream, decoder)
    if (response.type !== V1.MessageType.HANDSHAKE_RESPONSE || !response.payload.accepted) {
      return yield* handshakeError("no HANDSHAKE_RESPONSE accepting us")
    }
    const clock = yield* Effect.clock
    return makeChannel(stream, decoder, keys, presented, helloFrom(response.payload, presented), options, clock)
  })

/**
 * @since 2.0.0
 * @category models
 */
export interface LegacyRespondOptions extends LegacyOptions {
  readonly authorize: (remoteStatic: PublicKey) => Effect.Effect<void, ProtocolError>
}

/**
 * Accepts a v1 connection after {@link Preamble.sniff} saw its key record (left unread in `queue`).
 *
 * @since 2.0.0
 * @category handshake
 */
export const respond = (
  stream: ByteStream,
  queue: ByteQueue,
  options: LegacyRespondOptions
): Effect.Effect<Channel, ChannelError> =>
  Effect.gen(function*() {
    const presented = yield* readKeyRecord(stream, queue)
    yield* options.authorize(presented)
    yield* write(stream, keyRecord(options.staticKeyPair.publicKey))
    const keys = yield* sessionKeys(options.staticKeyPair, presented)
    const decoder = decoderFrom(queue, options.maxPayloadBytes)
    const handshake = yield* readFrame(stream, decoder)
    if (handshake.type !== V1.MessageType.HANDSHAKE) return yield* handshakeError("expected HANDSHAKE")
    yield* write(stream, [
      V1.encodeFrame(V1.MessageType.HANDSHAKE_RESPONSE, {
        uid: options.uid,
        username: options.username,
        public_key: fingerprintOf(options.staticKeyPair.publicKey),
        accepted: true
      })
    ])
    const clock = yield* Effect.clock
    return makeChannel(stream, decoder, keys, presented, helloFrom(handshake.payload, presented), options, clock)
  })
