/**
 * What one person hands another to become a contact: the six fields of the original's link code
 * and `.jcard`, plus whether an XEdDSA signature by the key itself vouched for them.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"
import { Contact } from "./Contact.js"
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

/**
 * What a card (or the same fields given by hand) says about a contact.
 *
 * @since 2.1.0
 * @category models
 */
export type CardFields = Pick<Contact, "uid" | "username" | "publicKey" | "fingerprint" | "host" | "port" | "signed">

/**
 * Whether a card is our own identity (same uid or same key): nobody adds themselves.
 *
 * @since 2.1.0
 * @category utils
 */
export const isOwn = (card: CardFields, uid: string, publicKey: Uint8Array): boolean =>
  card.uid === uid || Buffer.compare(card.publicKey, publicKey) === 0

/**
 * The contact a card makes, with the trust the user gives it (unverified, v2, no notes by default).
 *
 * @since 2.1.0
 * @category constructors
 */
export const toContact = (
  card: CardFields,
  trust: {
    readonly verified?: boolean | undefined
    readonly legacy?: boolean | undefined
    readonly notes?: string | undefined
    readonly addedAt: number
  }
): Contact =>
  new Contact({
    uid: card.uid,
    username: card.username,
    publicKey: card.publicKey,
    fingerprint: card.fingerprint,
    host: card.host,
    port: card.port,
    signed: card.signed,
    verified: trust.verified ?? false,
    legacy: trust.legacy ?? false,
    notes: trust.notes ?? "",
    addedAt: trust.addedAt
  })
