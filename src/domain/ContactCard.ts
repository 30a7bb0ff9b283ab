/**
 * What one person hands another to become a contact: the six fields of the original's link code
 * and `.jcard`, plus whether an XEdDSA signature by the key itself vouched for them.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { Fingerprint, Host, Port, Uid, Username } from "./Ids.js"
import { PublicKey } from "./Keys.js"

/**
 * @since 2.0.0
 * @category schemas
 */
export class ContactCard extends Schema.Class<ContactCard>("ContactCard")({
  uid: Uid,
  username: Username,
  publicKey: PublicKey,
  fingerprint: Fingerprint,
  host: Host,
  port: Port,
  signed: Schema.Boolean.annotations({ description: "true when the card carried a valid signature by its key" })
}) {}
