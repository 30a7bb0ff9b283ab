/**
 * Errors that cross the wire, the IPC socket or the storage boundary. Each is one class with a
 * `reason` literal, so callers match on the reason rather than on many classes.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"

const detail = { detail: Schema.optional(Schema.String) }

const describe = (what: string, reason: string, extra?: string) =>
  extra === undefined ? `${what}: ${reason}` : `${what}: ${reason} (${extra})`

/**
 * @since 2.0.0
 * @category errors
 */
export class IdentityError extends Schema.TaggedError<IdentityError>()("IdentityError", {
  reason: Schema.Literal("NotFound", "AlreadyExists", "WrongPassword", "Corrupt", "Io", "Invalid"),
  ...detail
}) {
  override get message() {
    switch (this.reason) {
      case "WrongPassword":
        return "Incorrect password (or the identity file is corrupted)"
      case "NotFound":
        return "No identity found: create one with `jarvis init`"
      case "AlreadyExists":
        return "An identity already exists in this data directory"
      default:
        return describe("Identity", this.reason, this.detail)
    }
  }
}

/**
 * A link code or contact card that cannot be used.
 *
 * @since 2.0.0
 * @category errors
 */
export class ContactCodeError extends Schema.TaggedError<ContactCodeError>()("ContactCodeError", {
  reason: Schema.Literal("Format", "FingerprintMismatch", "BadSignature"),
  ...detail
}) {
  override get message() {
    switch (this.reason) {
      case "FingerprintMismatch":
        return "The fingerprint does not match the public key: the code was altered"
      case "BadSignature":
        return "The signature does not verify: the code was altered"
      default:
        return describe("Invalid contact code", this.reason, this.detail)
    }
  }
}

/**
 * A peer sent something that breaks the protocol. The connection is closed.
 *
 * @since 2.0.0
 * @category errors
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  reason: Schema.Literal(
    "Preamble",
    "Handshake",
    "FrameTooLarge",
    "MessageTooLarge",
    "Malformed",
    "Decrypt",
    "UnknownPeer",
    "KeyMismatch"
  ),
  ...detail
}) {
  override get message() {
    return describe("Protocol error", this.reason, this.detail)
  }
}

/**
 * The byte stream under a channel failed or ended.
 *
 * @since 2.0.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Literal("Connect", "Read", "Write", "Closed", "Timeout"),
  ...detail
}) {
  override get message() {
    return describe("Transport", this.reason, this.detail)
  }
}

/**
 * A bounded queue refused a message.
 *
 * @since 2.0.0
 * @category errors
 */
export class MailboxFull extends Schema.TaggedError<MailboxFull>()("MailboxFull", {
  capacity: Schema.Number,
  ...detail
}) {
  override get message() {
    return `Mailbox full (capacity ${this.capacity})${this.detail === undefined ? "" : `: ${this.detail}`}`
  }
}

/**
 * Anything a peer channel can fail with.
 *
 * @since 2.0.0
 * @category errors
 */
export type ChannelError = ProtocolError | TransportError

/**
 * @since 2.0.0
 * @category errors
 */
export class ContactError extends Schema.TaggedError<ContactError>()("ContactError", {
  reason: Schema.Literal("NotFound", "AlreadyExists", "KeyInUse", "Ambiguous", "Invalid"),
  ...detail
}) {
  override get message() {
    switch (this.reason) {
      case "NotFound":
        return `No such contact${this.detail === undefined ? "" : `: ${this.detail}`}`
      case "AlreadyExists":
        return `Contact already exists${this.detail === undefined ? "" : `: ${this.detail}`}`
      case "KeyInUse":
        return `Another contact already has this key${this.detail === undefined ? "" : `: ${this.detail}`}`
      case "Ambiguous":
        return `Several contacts match${this.detail === undefined ? "" : `: ${this.detail}`}`
      default:
        return describe("Contact", this.reason, this.detail)
    }
  }
}

/**
 * A request that cannot be carried out as given (too long, malformed, out of range).
 *
 * @since 2.0.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  detail: Schema.String
}) {
  override get message() {
    return `Invalid input: ${this.detail}`
  }
}

/**
 * The contact has no link right now.
 *
 * @since 2.0.0
 * @category errors
 */
export class NotConnected extends Schema.TaggedError<NotConnected>()("NotConnected", {
  contact: Schema.String,
  ...detail
}) {
  override get message() {
    return `Not connected to ${this.contact}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * The node was closed (`JarvisNode.close`) before this call.
 *
 * @since 2.1.0
 * @category errors
 */
export class NodeClosed extends Schema.TaggedError<NodeClosed>()("NodeClosed", {}) {
  override get message() {
    return "The node is closed"
  }
}
