/**
 * Noise HandshakeState (§5.3) for the 25519 / ChaChaPoly / SHA256 suites and the patterns
 * NN, KK, XK, IK and XX. Jarvis uses IK; the others exist to pass the public test vectors.
 *
 * @since 2.0.0
 */
import { Either } from "effect"
import { ProtocolError } from "../../domain/Errors.js"
import type { Aead } from "../crypto/Aead.js"
import { hybridAead } from "../crypto/Aead.js"
import type { KeyPair } from "../crypto/X25519.js"
import { dh, generateKeyPair } from "../crypto/X25519.js"
import type { CipherState } from "./CipherState.js"
import { SymmetricState } from "./SymmetricState.js"

type Token = "e" | "s" | "ee" | "es" | "se" | "ss"

interface Pattern {
  readonly initiatorPre: ReadonlyArray<"s">
  readonly responderPre: ReadonlyArray<"s">
  readonly messages: ReadonlyArray<ReadonlyArray<Token>>
}

/**
 * @since 2.0.0
 * @category patterns
 */
export const patterns = {
  NN: { initiatorPre: [], responderPre: [], messages: [["e"], ["e", "ee"]] },
  KK: { initiatorPre: ["s"], responderPre: ["s"], messages: [["e", "es", "ss"], ["e", "ee", "se"]] },
  XK: { initiatorPre: [], responderPre: ["s"], messages: [["e", "es"], ["e", "ee"], ["s", "se"]] },
  IK: { initiatorPre: [], responderPre: ["s"], messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]] },
  XX: { initiatorPre: [], responderPre: [], messages: [["e"], ["e", "ee", "s", "es"], ["s", "se"]] }
} satisfies Record<string, Pattern>

/**
 * @since 2.0.0
 * @category patterns
 */
export type PatternName = keyof typeof patterns

/**
 * @since 2.0.0
 * @category models
 */
export interface HandshakeOptions {
  readonly pattern: PatternName
  readonly initiator: boolean
  readonly prologue: Uint8Array
  readonly staticKeyPair?: KeyPair | undefined
  readonly ephemeralKeyPair?: KeyPair | undefined
  readonly remoteStatic?: Uint8Array | undefined
  readonly aead?: Aead | undefined
}

/**
 * @since 2.0.0
 * @category models
 */
export interface TransportKeys {
  readonly send: CipherState
  readonly receive: CipherState
  readonly handshakeHash: Uint8Array
  readonly remoteStatic: Uint8Array | undefined
}

const handshakeError = (detail: string) => new ProtocolError({ reason: "Handshake", detail })
const fail = (detail: string) => Either.left(handshakeError(detail))

/**
 * @since 2.0.0
 * @category models
 */
export class HandshakeState {
  private readonly symmetric: SymmetricState
  private readonly pattern: Pattern
  private readonly s: KeyPair | undefined
  private e: KeyPair | undefined
  private rs: Uint8Array | undefined
  private re: Uint8Array | undefined = undefined
  private index = 0

  constructor(private readonly options: HandshakeOptions) {
    this.pattern = patterns[options.pattern]
    this.symmetric = new SymmetricState(`Noise_${options.pattern}_25519_ChaChaPoly_SHA256`, options.aead ?? hybridAead)
    this.s = options.staticKeyPair
    this.e = options.ephemeralKeyPair
    this.rs = options.remoteStatic
    this.symmetric.mixHash(options.prologue)
    const initiatorStatic = options.initiator ? this.s?.publicKey : this.rs
    const responderStatic = options.initiator ? this.rs : this.s?.publicKey
    for (const _ of this.pattern.initiatorPre) this.symmetric.mixHash(required(initiatorStatic, "initiator static"))
    for (const _ of this.pattern.responderPre) this.symmetric.mixHash(required(responderStatic, "responder static"))
  }

  get isFinished(): boolean {
    return this.index >= this.pattern.messages.length
  }

  /** True when the next message is ours to write. */
  get isMyTurn(): boolean {
    return (this.index % 2 === 0) === this.options.initiator
  }

  get remoteStatic(): Uint8Array | undefined {
    return this.rs
  }

  get handshakeHash(): Uint8Array {
    return this.symmetric.handshakeHash
  }

  private mixDh(token: "ee" | "es" | "se" | "ss"): ProtocolError | undefined {
    const initiator = this.options.initiator
    const [local, remote] = token === "ee"
      ? [this.e, this.re]
      : token === "ss"
      ? [this.s, this.rs]
      : (token === "es") === initiator
      ? [this.e, this.rs]
      : [this.s, this.re]
    if (local === undefined || remote === undefined) return handshakeError(`missing key for ${token}`)
    const shared = dh(local.privateKey, remote)
    if (shared === undefined) return handshakeError("low-order public key")
    this.symmetric.mixKey(shared)
    return undefined
  }

  writeMessage(payload: Uint8Array): Either.Either<Uint8Array, ProtocolError> {
    if (this.isFinished || !this.isMyTurn) return fail("not our turn to write")
    const parts: Array<Uint8Array> = []
    for (const token of this.pattern.messages[this.index]!) {
      switch (token) {
        case "e": {
          this.e ??= generateKeyPair()
          parts.push(this.e.publicKey)
          this.symmetric.mixHash(this.e.publicKey)
          break
        }
        case "s": {
          if (this.s === undefined) return fail("no static key")
          parts.push(this.symmetric.encryptAndHash(this.s.publicKey))
          break
        }
        default: {
          const error = this.mixDh(token)
          if (error !== undefined) return Either.left(error)
        }
      }
    }
    parts.push(this.symmetric.encryptAndHash(payload))
    this.index++
    return Either.right(Buffer.concat(parts))
  }

  readMessage(message: Uint8Array): Either.Either<Uint8Array, ProtocolError> {
    if (this.isFinished || this.isMyTurn) return fail("not our turn to read")
    let offset = 0
    for (const token of this.pattern.messages[this.index]!) {
      switch (token) {
        case "e": {
          if (message.length - offset < 32) return fail("short ephemeral key")
          this.re = message.slice(offset, offset + 32)
          offset += 32
          this.symmetric.mixHash(this.re)
          break
        }
        case "s": {
          const length = this.symmetric.cipher.hasKey() ? 48 : 32
          if (message.length - offset < length) return fail("short static key")
          const rs = this.symmetric.decryptAndHash(message.subarray(offset, offset + length))
          if (rs === undefined) return fail("static key does not decrypt")
          this.rs = new Uint8Array(rs)
          offset += length
          break
        }
        default: {
          const error = this.mixDh(token)
          if (error !== undefined) return Either.left(error)
        }
      }
    }
    const payload = this.symmetric.decryptAndHash(message.subarray(offset))
    if (payload === undefined) return fail("payload does not decrypt")
    this.index++
    return Either.right(new Uint8Array(payload))
  }

  /** The transport cipher states; only once the pattern is complete. */
  split(): Either.Either<TransportKeys, ProtocolError> {
    if (!this.isFinished) return fail("handshake not finished")
    const [c1, c2] = this.symmetric.split()
    return Either.right({
      send: this.options.initiator ? c1 : c2,
      receive: this.options.initiator ? c2 : c1,
      handshakeHash: this.symmetric.handshakeHash,
      remoteStatic: this.rs
    })
  }
}

const required = (key: Uint8Array | undefined, what: string): Uint8Array => {
  if (key === undefined) throw new TypeError(`Noise pattern needs the ${what} key`)
  return key
}
