import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { pyJson } from "../src/protocol/internal/pyJson.js"
import * as Identity from "../src/services/Identity.js"
import * as Envelope from "../src/services/internal/envelope.js"
import { tempDir } from "./support/temp.js"
import { b64, toHex, v1Vectors as v } from "./support/vectors.js"

const withStore = <A, E>(f: (store: Identity.IdentityStoreShape, dir: string) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const dir = yield* tempDir()
    const store = yield* Identity.make(dir)
    return yield* f(store, dir)
  }).pipe(Effect.provide(NodeContext.layer))

describe("Identity", () => {
  it.effect("derives the original's Argon2id key and opens its identity.enc byte for byte", () =>
    Effect.gen(function*() {
      const key = yield* Envelope.deriveKey(v.identity_file.password, b64(v.identity_file.file.salt))
      assert.strictEqual(toHex(key), v.identity_file.argon2id_key_hex)
      const plaintext = yield* Envelope.openWithKey(key, v.identity_file.file)
      assert.strictEqual(plaintext, pyJson(v.identity_file.plaintext))
    }))

  it.scoped("unlocks an original identity.enc unchanged", () =>
    withStore((store, dir) =>
      Effect.gen(function*() {
        Fs.writeFileSync(Path.join(dir, "identity.enc"), JSON.stringify(v.identity_file.file, null, 2))
        const identity = yield* store.unlock(v.identity_file.password)
        assert.strictEqual(identity.profile.uid, v.identity_file.plaintext.uid)
        assert.strictEqual(identity.profile.username, "alice")
        assert.strictEqual(identity.profile.fingerprint, v.x25519.alice_fingerprint)
        assert.strictEqual(toHex(identity.keyPair.publicKey), v.x25519.alice_public_hex)
        assert.strictEqual(identity.profile.listenPort, 5000)
        const wrong = yield* Effect.flip(store.unlock("not the password"))
        assert.strictEqual(wrong.reason, "WrongPassword")
      })
    ))

  it.scoped("creates, unlocks and re-keys an identity; the file is 0600 and in the original's envelope", () =>
    withStore((store, dir) =>
      Effect.gen(function*() {
        const created = yield* store.create({ username: "bob", password: "hunter2", listenPort: 6000 })
        assert.match(created.profile.uid, /^[0-9a-f]{32}$/)
        assert.match(created.profile.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
        const file = Path.join(dir, "identity.enc")
        assert.strictEqual(Fs.statSync(file).mode & 0o777, 0o600)
        assert.isFalse(Fs.existsSync(`${file}.tmp`))
        const envelope = JSON.parse(Fs.readFileSync(file, "utf8"))
        assert.deepStrictEqual(Object.keys(envelope), ["salt", "nonce", "ciphertext", "version"])
        assert.strictEqual(Buffer.from(envelope.salt, "base64").length, 16)
        assert.strictEqual(Buffer.from(envelope.nonce, "base64").length, 12)

        const unlocked = yield* store.unlock("hunter2")
        assert.deepStrictEqual(unlocked.profile, created.profile)
        assert.deepStrictEqual(unlocked.keyPair.privateKey, created.keyPair.privateKey)

        const again = yield* Effect.flip(store.create({ username: "bob", password: "x", listenPort: 1 }))
        assert.strictEqual(again.reason, "AlreadyExists")

        yield* store.changePassword("hunter2", "correct horse")
        assert.strictEqual((yield* Effect.flip(store.unlock("hunter2"))).reason, "WrongPassword")
        assert.strictEqual((yield* store.unlock("correct horse")).profile.uid, created.profile.uid)
        assert.notStrictEqual(JSON.parse(Fs.readFileSync(file, "utf8")).salt, envelope.salt)

        const moved = yield* store.setListenPort("correct horse", 7000)
        assert.strictEqual(moved.profile.listenPort, 7000)
        assert.strictEqual((yield* store.unlock("correct horse")).profile.listenPort, 7000)
      })
    ))

  it.scoped("gives typed errors for a missing, corrupt or invalid identity", () =>
    withStore((store, dir) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* Effect.flip(store.unlock("x"))).reason, "NotFound")
        const bad = yield* Effect.flip(store.create({ username: "", password: "x", listenPort: 1 }))
        assert.strictEqual(bad.reason, "Invalid")
        const badPort = yield* Effect.flip(store.create({ username: "a", password: "x", listenPort: 70000 }))
        assert.strictEqual(badPort.reason, "Invalid")
        Fs.writeFileSync(Path.join(dir, "identity.enc"), "{ not json")
        assert.strictEqual((yield* Effect.flip(store.unlock("x"))).reason, "Corrupt")
        Fs.writeFileSync(Path.join(dir, "identity.enc"), JSON.stringify({ ...v.identity_file.file, salt: "AAAA" }))
        assert.strictEqual((yield* Effect.flip(store.unlock("x"))).reason, "Corrupt")
      })
    ))

  it.prop(
    "the identity file decoder gives an envelope or a typed Corrupt error for any text, never a defect",
    [
      fc.oneof(
        fc.string({ maxLength: 400 }),
        fc.jsonValue({ maxDepth: 3 }).map((j) => JSON.stringify(j)),
        // The original's file with one field replaced by anything.
        fc.tuple(fc.constantFrom("salt", "nonce", "ciphertext", "version"), fc.jsonValue({ maxDepth: 2 })).map((
          [field, value]
        ) => JSON.stringify({ ...v.identity_file.file, [field]: value }))
      )
    ],
    ([text]) => {
      const exit = Effect.runSyncExit(Envelope.decodeFile(text))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(error?.reason, "Corrupt", `not a typed failure: ${String(exit.cause)}`)
      }
    }
  )
})
