/**
 * Branded identifiers shared by the wire protocol, the IPC API and storage.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"

/**
 * A user id: 16 random bytes as 32 lowercase hex digits (the original's `secrets.token_hex(16)`).
 *
 * @since 2.0.0
 * @category ids
 */
export const Uid = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{32}$/),
  Schema.brand("Uid"),
  Schema.annotations({ identifier: "Uid", description: "32 lowercase hex digits" })
)
export type Uid = typeof Uid.Type

/**
 * SHA-256 of a raw 32-byte X25519 public key, 64 lowercase hex digits.
 *
 * @since 2.0.0
 * @category ids
 */
export const Fingerprint = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{64}$/),
  Schema.brand("Fingerprint"),
  Schema.annotations({ identifier: "Fingerprint", description: "SHA-256 of the public key, 64 lowercase hex digits" })
)
export type Fingerprint = typeof Fingerprint.Type

/**
 * A group id: "g" followed by 31 lowercase hex digits.
 *
 * @since 2.0.0
 * @category ids
 */
export const GroupId = Schema.String.pipe(
  Schema.pattern(/^g[0-9a-f]{31}$/),
  Schema.brand("GroupId"),
  Schema.annotations({ identifier: "GroupId", description: "\"g\" followed by 31 lowercase hex digits" })
)
export type GroupId = typeof GroupId.Type

/**
 * A message id. Jarvis makes 32 hex digits; clients may supply their own (an idempotency key) and
 * legacy peers send arbitrary strings, so any 1–64 characters from a URL-safe alphabet are accepted.
 *
 * @since 2.0.0
 * @category ids
 */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * @since 2.0.0
 * @category ids
 */
export const MessageId = Schema.String.pipe(
  Schema.pattern(MESSAGE_ID_PATTERN),
  Schema.brand("MessageId"),
  Schema.annotations({ identifier: "MessageId", description: "1-64 characters of [A-Za-z0-9._:-]" })
)
export type MessageId = typeof MessageId.Type

/**
 * A display name: 1–64 characters, no control characters.
 *
 * @since 2.0.0
 * @category ids
 */
export const Username = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(64),
  Schema.pattern(/^[^\p{Cc}]+$/u),
  Schema.annotations({ identifier: "Username", description: "1-64 characters without control characters" })
)
export type Username = typeof Username.Type

/**
 * A TCP port.
 *
 * @since 2.0.0
 * @category ids
 */
export const Port = Schema.Int.pipe(Schema.between(0, 65535), Schema.annotations({ identifier: "Port" }))

/**
 * A host name or IP address as given in a link code.
 *
 * @since 2.0.0
 * @category ids
 */
export const Host = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(253),
  Schema.pattern(/^[A-Za-z0-9._:%[\]-]+$/),
  Schema.annotations({ identifier: "Host" })
)
