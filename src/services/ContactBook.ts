/**
 * The contacts the runtime may talk to. The supervisor follows `changes` to start and stop peer
 * actors, and the listener asks `byKey` who is knocking.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Queue, Scope } from "effect"
import type { Contact } from "../domain/Contact.js"
import { ContactError } from "../domain/Errors.js"
import type { Uid } from "../domain/Ids.js"
import * as Hub from "./internal/hub.js"

/**
 * @since 2.0.0
 * @category models
 */
export type ContactChange =
  | { readonly _tag: "Added"; readonly contact: Contact }
  | { readonly _tag: "Updated"; readonly contact: Contact }
  | { readonly _tag: "Removed"; readonly uid: Uid }

/**
 * @since 2.0.0
 * @category models
 */
export interface ContactBookShape {
  readonly list: Effect.Effect<ReadonlyArray<Contact>>
  readonly get: (uid: Uid) => Effect.Effect<Option.Option<Contact>>
  /** `get` without an effect, for the send path (the book is in memory). */
  readonly unsafeGet: (uid: Uid) => Contact | undefined
  readonly byKey: (publicKey: Uint8Array) => Effect.Effect<Option.Option<Contact>>
  readonly add: (contact: Contact) => Effect.Effect<void, ContactError>
  readonly update: (contact: Contact) => Effect.Effect<void, ContactError>
  readonly remove: (uid: Uid) => Effect.Effect<void, ContactError>
  /** Changes from the moment of subscription (subscribe, then read `list`, to miss nothing). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<ContactChange>, never, Scope.Scope>
}

/**
 * @since 2.0.0
 * @category services
 */
export class ContactBook extends Context.Tag("jarvis/ContactBook")<ContactBook, ContactBookShape>() {}

const keyOf = (publicKey: Uint8Array) => Buffer.from(publicKey).toString("hex")

/**
 * Where changes are made durable before they take effect (nothing, in memory).
 *
 * @since 2.0.0
 * @category models
 */
export interface ContactPersistence<E> {
  readonly put: (contact: Contact) => Effect.Effect<void, E>
  readonly delete: (uid: Uid) => Effect.Effect<void, E>
}

const inMemory: ContactPersistence<never> = { put: () => Effect.void, delete: () => Effect.void }

/**
 * In memory, for tests and embedding without storage.
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = (initial: ReadonlyArray<Contact> = []) => makeWith(initial, inMemory)

/**
 * The contact book over `initial`, writing every change through `persistence` first. Persistence
 * failures are defects here: a store that cannot write is not something a caller can handle.
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeWith = <E>(initial: ReadonlyArray<Contact>, persistence: ContactPersistence<E>) =>
  Effect.gen(function*() {
    const byUid = new Map(initial.map((c) => [c.uid, c]))
    const byKey = new Map(initial.map((c) => [keyOf(c.publicKey), c]))
    // Unbounded: a subscriber (the peer supervisor) must never lose a change.
    const changes = yield* Hub.make<ContactChange>(Number.MAX_SAFE_INTEGER)
    const lock = yield* Effect.makeSemaphore(1)
    const notFound = (uid: Uid) => new ContactError({ reason: "NotFound", detail: uid })
    const put = (contact: Contact) => {
      const previous = byUid.get(contact.uid)
      if (previous !== undefined) byKey.delete(keyOf(previous.publicKey))
      byUid.set(contact.uid, contact)
      byKey.set(keyOf(contact.publicKey), contact)
    }
    /** Persists, then indexes and announces, an added or updated contact. */
    const write = (contact: Contact, change: "Added" | "Updated") =>
      persistence.put(contact).pipe(
        Effect.orDie,
        Effect.zipRight(Effect.sync(() => put(contact))),
        Effect.zipRight(Effect.sync(() => changes.publish({ _tag: change, contact }))),
        Effect.asVoid
      )
    return ContactBook.of({
      list: Effect.sync(() => [...byUid.values()]),
      get: (uid) => Effect.sync(() => Option.fromNullable(byUid.get(uid))),
      unsafeGet: (uid) => byUid.get(uid),
      byKey: (publicKey) => Effect.sync(() => Option.fromNullable(byKey.get(keyOf(publicKey)))),
      add: (contact) =>
        lock.withPermits(1)(
          Effect.suspend(() => {
            if (byUid.has(contact.uid)) return new ContactError({ reason: "AlreadyExists", detail: contact.username })
            const sameKey = byKey.get(keyOf(contact.publicKey))
            if (sameKey !== undefined) return new ContactError({ reason: "KeyInUse", detail: sameKey.username })
            return write(contact, "Added")
          })
        ),
      update: (contact) =>
        lock.withPermits(1)(
          Effect.suspend(() => {
            if (!byUid.has(contact.uid)) return notFound(contact.uid)
            const sameKey = byKey.get(keyOf(contact.publicKey))
            if (sameKey !== undefined && sameKey.uid !== contact.uid) {
              return new ContactError({ reason: "KeyInUse", detail: sameKey.username })
            }
            return write(contact, "Updated")
          })
        ),
      remove: (uid) =>
        lock.withPermits(1)(
          Effect.suspend(() => {
            const existing = byUid.get(uid)
            if (existing === undefined) return notFound(uid)
            return persistence.delete(uid).pipe(
              Effect.orDie,
              Effect.zipRight(Effect.sync(() => {
                byUid.delete(uid)
                byKey.delete(keyOf(existing.publicKey))
              })),
              Effect.zipRight(Effect.sync(() => changes.publish({ _tag: "Removed", uid }))),
              Effect.asVoid
            )
          })
        ),
      subscribe: changes.subscribe
    })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory = (initial: ReadonlyArray<Contact> = []): Layer.Layer<ContactBook> =>
  Layer.scoped(ContactBook, makeMemory(initial))
