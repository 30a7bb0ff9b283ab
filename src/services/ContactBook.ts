/**
 * The contacts the runtime may talk to. The supervisor follows `changes` to start and stop peer
 * actors, and the listener asks `byKey` who is knocking.
 *
 * @since 2.0.0
 */
import { Context, Effect, Layer, Option, PubSub, Ref } from "effect"
import type { Queue, Scope } from "effect"
import type { Contact } from "../domain/Contact.js"
import { ContactError } from "../domain/Errors.js"
import type { Uid } from "../domain/Ids.js"

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
 * Checks shared by every implementation: unique uid and unique key.
 *
 * @since 2.0.0
 * @category validation
 */
export const checkNew = (existing: ReadonlyArray<Contact>, contact: Contact): Effect.Effect<void, ContactError> => {
  if (existing.some((c) => c.uid === contact.uid)) {
    return new ContactError({ reason: "AlreadyExists", detail: contact.username })
  }
  const sameKey = existing.find((c) => keyOf(c.publicKey) === keyOf(contact.publicKey))
  if (sameKey !== undefined) return new ContactError({ reason: "KeyInUse", detail: sameKey.username })
  return Effect.void
}

/**
 * In memory, for tests and embedding without storage.
 *
 * @since 2.0.0
 * @category constructors
 */
export const makeMemory = (initial: ReadonlyArray<Contact> = []) =>
  Effect.gen(function*() {
    const contacts = yield* Ref.make<ReadonlyArray<Contact>>(initial)
    const changes = yield* Effect.acquireRelease(PubSub.unbounded<ContactChange>(), PubSub.shutdown)
    const notFound = (uid: Uid) => new ContactError({ reason: "NotFound", detail: uid })
    return ContactBook.of({
      list: Ref.get(contacts),
      get: (uid) => Effect.map(Ref.get(contacts), (all) => Option.fromNullable(all.find((c) => c.uid === uid))),
      byKey: (publicKey) =>
        Effect.map(Ref.get(contacts), (all) =>
          Option.fromNullable(all.find((c) => keyOf(c.publicKey) === keyOf(publicKey)))),
      add: (contact) =>
        Effect.flatMap(Ref.get(contacts), (all) =>
          checkNew(all, contact)).pipe(
            Effect.zipRight(Ref.update(contacts, (all) => [...all, contact])),
            Effect.zipRight(PubSub.publish(changes, { _tag: "Added", contact })),
            Effect.asVoid
          ),
      update: (contact) =>
        Effect.flatMap(Ref.get(contacts), (all) =>
          all.some((c) => c.uid === contact.uid)
            ? Ref.set(contacts, all.map((c) => (c.uid === contact.uid ? contact : c))).pipe(
              Effect.zipRight(PubSub.publish(changes, { _tag: "Updated", contact })),
              Effect.asVoid
            )
            : notFound(contact.uid)),
      remove: (uid) =>
        Effect.flatMap(Ref.get(contacts), (all) =>
          all.some((c) => c.uid === uid)
            ? Ref.set(contacts, all.filter((c) => c.uid !== uid)).pipe(
              Effect.zipRight(PubSub.publish(changes, { _tag: "Removed", uid })),
              Effect.asVoid
            )
            : notFound(uid)),
      subscribe: PubSub.subscribe(changes)
    })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layerMemory = (initial: ReadonlyArray<Contact> = []): Layer.Layer<ContactBook> =>
  Layer.scoped(ContactBook, makeMemory(initial))
