/**
 * The contact book kept in the Store: every contact is one sealed record, loaded into memory when
 * the store opens and written through on every change.
 *
 * @since 2.0.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Schema } from "effect"
import { Contact } from "../domain/Contact.js"
import { PublicKey } from "../domain/Keys.js"
import { ContactBook, makeWith } from "./ContactBook.js"
import { Store } from "./Store.js"

const ContactRecord = Schema.Struct({ ...Contact.fields, publicKey: PublicKey })

const ad = (uid: string) => `contact:${uid}`

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const { sealed, sql, write } = yield* Store
  const rows = yield* sql<
    { readonly uid: string; readonly record: Uint8Array }
  >`SELECT uid, record FROM contacts ORDER BY added_at`
  const initial: Array<Contact> = []
  for (const row of rows) {
    const decoded = Schema.decodeUnknownOption(ContactRecord)(sealed.openJson(ad(row.uid), row.record))
    if (decoded._tag === "Some") initial.push(new Contact(decoded.value))
    else yield* Effect.logWarning(`contact record ${row.uid} does not open; skipped`)
  }
  return yield* makeWith<SqlError>(initial, {
    put: (contact) => {
      const record = sealed.sealJson(ad(contact.uid), Schema.encodeSync(ContactRecord)(contact))
      return write(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql`INSERT INTO contacts (uid, record, added_at) VALUES (${contact.uid}, ${record}, ${contact.addedAt})
              ON CONFLICT (uid) DO UPDATE SET record = excluded.record`
        )
      )
    },
    delete: (uid) => write(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM contacts WHERE uid = ${uid}`))
  })
})

/**
 * @since 2.0.0
 * @category layers
 */
export const layer: Layer.Layer<ContactBook, SqlError, Store> = Layer.scoped(ContactBook, make)
