/**
 * The IPC API's handlers: each method resolves contacts by name or uid prefix, then calls the
 * unlocked runtime, the history or the event log. Storage failures are defects (an internal error
 * over IPC); everything a caller can act on is a typed error.
 *
 * @since 2.0.0
 */
import { Clock, Context, Effect, Option, Stream } from "effect"
import { Listener } from "../actors/Listener.js"
import { Runtime } from "../actors/Runtime.js"
import type { ContactView, LinksStatus } from "../domain/Api.js"
import { JarvisApi } from "../domain/Api.js"
import { Contact } from "../domain/Contact.js"
import type { CardFields } from "../domain/ContactCard.js"
import { isOwn, toContact } from "../domain/ContactCard.js"
import { ContactError, InvalidInput } from "../domain/Errors.js"
import type { LinkHealth } from "../domain/Events.js"
import type { Uid } from "../domain/Ids.js"
import type { PublicKey } from "../domain/Keys.js"
import { fingerprintOf } from "../domain/Keys.js"
import * as ContactCode from "../protocol/ContactCode.js"
import { ContactBook } from "../services/ContactBook.js"
import { EventLog } from "../services/EventLog.js"
import { IdentityStore, profileView } from "../services/Identity.js"
import { History } from "../services/MessageStore.js"
import { RuntimeConfig } from "../services/RuntimeConfig.js"
import { lanAddress } from "../services/Transport.js"
import type { Unlocked } from "./Daemon.js"
import { Daemon } from "./Daemon.js"

const contactView = (contact: Contact, link?: LinkHealth): ContactView => ({
  uid: contact.uid,
  username: contact.username,
  fingerprint: contact.fingerprint,
  publicKey: Buffer.from(contact.publicKey).toString("base64"),
  host: contact.host,
  port: contact.port,
  verified: contact.verified,
  legacy: contact.legacy,
  signed: contact.signed,
  notes: contact.notes,
  addedAt: contact.addedAt,
  ...(link === undefined ? {} : { link })
})

/**
 * A contact by uid, by username (case-insensitive), or by a unique uid prefix of 4+ characters.
 *
 * @since 2.0.0
 * @category contacts
 */
export const resolveContact = (contacts: ReadonlyArray<Contact>, ref: string): Effect.Effect<Contact, ContactError> => {
  const exact = contacts.find((c) => c.uid === ref)
  if (exact !== undefined) return Effect.succeed(exact)
  const byName = contacts.filter((c) => c.username.toLowerCase() === ref.toLowerCase())
  if (byName.length === 1) return Effect.succeed(byName[0]!)
  if (byName.length > 1) {
    return new ContactError({
      reason: "Ambiguous",
      detail: `${byName.length} contacts are called ${ref}; use a uid prefix`
    })
  }
  const byPrefix = ref.length >= 4 ? contacts.filter((c) => c.uid.startsWith(ref.toLowerCase())) : []
  if (byPrefix.length === 1) return Effect.succeed(byPrefix[0]!)
  if (byPrefix.length > 1) return new ContactError({ reason: "Ambiguous", detail: `uid prefix ${ref}` })
  return new ContactError({ reason: "NotFound", detail: ref })
}

const summary = (links: ReadonlyArray<LinkHealth>): LinksStatus["summary"] => {
  if (links.length === 0) return "none"
  const connected = links.filter((l) => l.state === "connected").length
  return connected === links.length ? "green" : connected === 0 ? "red" : "amber"
}

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = JarvisApi.toLayer(
  Effect.gen(function*() {
    const daemon = yield* Daemon
    const identities = yield* IdentityStore
    const settings = yield* RuntimeConfig

    const withUnlocked = <A, E>(f: (u: Unlocked, services: ReturnType<typeof servicesOf>) => Effect.Effect<A, E>) =>
      Effect.flatMap(daemon.unlocked, (u) => f(u, servicesOf(u)))

    const servicesOf = (u: Unlocked) => ({
      runtime: Context.get(u.context, Runtime),
      contacts: Context.get(u.context, ContactBook),
      history: Context.get(u.context, History),
      log: Context.get(u.context, EventLog),
      listener: Context.get(u.context, Listener)
    })

    const resolve = (s: ReturnType<typeof servicesOf>, ref: string) =>
      Effect.flatMap(s.contacts.list, (all) => resolveContact(all, ref))

    const healthOf = (s: ReturnType<typeof servicesOf>, uid: Uid) =>
      Effect.option(s.runtime.health(uid)).pipe(Effect.map(Option.getOrUndefined))

    const signer = (u: Unlocked) => ({
      ...u.identity.keyPair,
      uid: u.identity.profile.uid,
      username: u.identity.profile.username
    })

    const advertised = (u: Unlocked, s: ReturnType<typeof servicesOf>, host?: string, port?: number) => ({
      host: host ?? settings.advertiseHost ?? lanAddress(),
      port: port ?? (s.listener.address.port || u.identity.profile.listenPort)
    })

    return JarvisApi.of({
      "daemon.ping": () => Effect.void,
      "daemon.status": () => daemon.status,
      "daemon.stop": () => daemon.stop,
      "identity.create": (p) => daemon.create(p),
      "identity.unlock": ({ password }) => daemon.unlock(password),
      "identity.lock": () => daemon.lock,
      "identity.show": () => withUnlocked((u) => Effect.succeed(profileView(u.identity.profile))),
      "identity.changePassword": ({ newPassword, oldPassword }) => identities.changePassword(oldPassword, newPassword),
      "identity.linkCode": ({ host, port }) =>
        withUnlocked((u, s) => {
          const at = advertised(u, s, host, port)
          return Effect.succeed({ code: ContactCode.makeLinkCode(signer(u), at.host, at.port) })
        }),
      "identity.card": ({ host, port }) =>
        withUnlocked((u, s) =>
          Effect.gen(function*() {
            const at = advertised(u, s, host, port)
            const now = new Date(yield* Clock.currentTimeMillis).toISOString().replace("Z", "")
            return {
              fileName: ContactCode.cardFileName(u.identity.profile.username, u.identity.profile.uid),
              contents: ContactCode.makeCardFile(signer(u), at.host, at.port, now)
            }
          })
        ),
      "contacts.add": (p) =>
        withUnlocked((u, s) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            let base: CardFields
            if (p.code !== undefined) {
              const card = yield* ContactCode.parse(p.code)
              base = { ...card }
            } else if (p.fields !== undefined) {
              const key = Buffer.from(p.fields.publicKey, "base64")
              if (key.length !== 32) return yield* new InvalidInput({ detail: "publicKey must be 32 bytes of base64" })
              base = {
                ...p.fields,
                publicKey: new Uint8Array(key) as PublicKey,
                fingerprint: fingerprintOf(key),
                signed: false
              }
            } else {
              return yield* new InvalidInput({
                detail: "give a link code, a .jcard's contents, or the contact's fields"
              })
            }
            if (isOwn(base, u.identity.profile.uid, u.identity.keyPair.publicKey)) {
              return yield* new ContactError({ reason: "Invalid", detail: "that is your own identity" })
            }
            const contact = toContact(base, { verified: p.verified, legacy: p.legacy, notes: p.notes, addedAt: now })
            yield* s.contacts.add(contact)
            return contactView(contact)
          })
        ),
      "contacts.list": () =>
        withUnlocked((_, s) =>
          Effect.gen(function*() {
            const all = [...(yield* s.contacts.list)].sort((a, b) =>
              a.username.localeCompare(b.username, undefined, { sensitivity: "base" })
            )
            return yield* Effect.forEach(all, (c) => Effect.map(healthOf(s, c.uid), (h) => contactView(c, h)))
          })
        ),
      "contacts.show": ({ contact }) =>
        withUnlocked((_, s) =>
          Effect.flatMap(resolve(s, contact), (c) => Effect.map(healthOf(s, c.uid), (h) => contactView(c, h)))
        ),
      "contacts.remove": ({ contact }) =>
        withUnlocked((_, s) =>
          Effect.flatMap(
            resolve(s, contact),
            (c) => Effect.zipRight(s.runtime.removeContact(c.uid), Effect.orDie(s.history.forget(c.uid)))
          )
        ),
      "contacts.verify": ({ contact, fingerprint }) =>
        withUnlocked((_, s) =>
          Effect.gen(function*() {
            const c = yield* resolve(s, contact)
            if (fingerprint !== undefined && fingerprint.replace(/\s+/g, "").toLowerCase() !== c.fingerprint) {
              return yield* new ContactError({
                reason: "Invalid",
                detail: "the fingerprint does not match this contact's key"
              })
            }
            const verified = new Contact({ ...c, verified: true })
            yield* s.contacts.update(verified)
            return contactView(verified)
          })
        ),
      "contacts.update": (p) =>
        withUnlocked((_, s) =>
          Effect.gen(function*() {
            const c = yield* resolve(s, p.contact)
            const updated = new Contact({
              ...c,
              host: p.host ?? c.host,
              port: p.port ?? c.port,
              legacy: p.legacy ?? c.legacy,
              notes: p.notes ?? c.notes
            })
            yield* s.contacts.update(updated)
            return contactView(updated)
          })
        ),
      "messages.send": ({ body, contact, expiresAt, id }) =>
        withUnlocked((_, s) =>
          Effect.flatMap(
            resolve(s, contact),
            (c) =>
              Effect.map(s.runtime.send(c.uid, body, { id, expiresAt }), (m) => ({
                id: m.id,
                contact: c.uid,
                sentAt: m.sentAt,
                status: "queued" as const
              }))
          )
        ),
      "messages.history": ({ before, contact, limit }) =>
        withUnlocked((_, s) =>
          Effect.flatMap(
            resolve(s, contact),
            (c) => Effect.orDie(s.history.page(c.uid, { limit: limit ?? 50, before }))
          )
        ),
      "messages.markRead": ({ contact }) =>
        withUnlocked((_, s) =>
          Effect.gen(function*() {
            const c = yield* resolve(s, contact)
            const ids = yield* Effect.orDie(s.history.markRead(c.uid))
            if (settings.readReceipts && ids.length > 0) yield* s.runtime.sendReadReceipts(c.uid, ids)
            return { marked: ids.length }
          })
        ),
      "messages.unread": () => withUnlocked((_, s) => Effect.orDie(s.history.unread)),
      "messages.typing": ({ active, contact }) =>
        withUnlocked((_, s) => Effect.flatMap(resolve(s, contact), (c) => s.runtime.typing(c.uid, active))),
      "outbox.list": ({ contact }) =>
        withUnlocked((_, s) =>
          Effect.gen(function*() {
            const uid = contact === undefined ? undefined : (yield* resolve(s, contact)).uid
            const pending = yield* s.history.pending(uid)
            // One health lookup per contact, not per message.
            const retries = new Map<Uid, number | undefined>()
            for (const contact of new Set(pending.map((m) => m.contact))) {
              retries.set(contact, (yield* healthOf(s, contact))?.nextRetryAt)
            }
            return pending.map((m) => {
              const nextRetryAt = retries.get(m.contact)
              return nextRetryAt === undefined ? m : { ...m, nextRetryAt }
            })
          })
        ),
      "outbox.cancel": ({ id }) =>
        withUnlocked((_, s) => Effect.map(Effect.orDie(s.history.cancel(id)), (cancelled) => ({ cancelled }))),
      "links.status": () =>
        withUnlocked((_, s) =>
          Effect.map(s.runtime.healthAll, (links) => ({
            summary: summary(links),
            connected: links.filter((l) => l.state === "connected").length,
            total: links.length,
            links
          }))
        ).pipe(
          Effect.catchTag(
            "Locked",
            () => Effect.succeed({ summary: "grey" as const, connected: 0, total: 0, links: [] })
          )
        ),
      "links.health": ({ contact }) =>
        withUnlocked((_, s) => Effect.flatMap(resolve(s, contact), (c) => s.runtime.health(c.uid))),
      "links.connect": ({ contact }) =>
        withUnlocked((_, s) => Effect.flatMap(resolve(s, contact), (c) => s.runtime.connectNow(c.uid))),
      "links.ping": ({ contact }) =>
        withUnlocked((_, s) =>
          Effect.flatMap(resolve(s, contact), (c) => Effect.map(s.runtime.ping(c.uid), (rttMs) => ({ rttMs })))
        ),
      "events.subscribe": ({ from }) =>
        Stream.unwrap(Effect.map(daemon.unlocked, (u) => Stream.orDie(servicesOf(u).log.stream(from))))
    })
  })
)
