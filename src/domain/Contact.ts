/**
 * A contact: someone whose key we pinned, where to reach them, and how we trust them.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { Fingerprint, Host, Port, Uid, Username } from "./Ids.js"
import { PublicKeyBytes } from "./Keys.js"

/**
 * @since 2.0.0
 * @category models
 */
export class Contact extends Schema.Class<Contact>("Contact")({
  uid: Uid,
  username: Username,
  publicKey: PublicKeyBytes,
  fingerprint: Fingerprint,
  host: Host,
  port: Port,
  verified: Schema.Boolean.annotations({ description: "the user compared fingerprints out of band" }),
  legacy: Schema.Boolean.annotations({ description: "speaks only the original v1 protocol" }),
  signed: Schema.Boolean.annotations({ description: "added from a code signed by its own key" }),
  notes: Schema.String.pipe(Schema.maxLength(4096)),
  addedAt: Schema.Number.annotations({ description: "ms since epoch" })
}) {}
