/**
 * The user's identity: an X25519 static key pair, a random UID and a listen port, kept in
 * `identity.enc` in exactly the original's envelope so an original identity unlocks unchanged.
 *
 * @since 2.0.0
 */
import { FileSystem } from "@effect/platform"
import { Context, DateTime, Effect, Layer, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as Path from "node:path"
import type { ProfileView } from "../domain/Api.js"
import { IdentityError } from "../domain/Errors.js"
import { Fingerprint, Port, Uid, Username } from "../domain/Ids.js"
import type { PublicKey } from "../domain/Keys.js"
import { fingerprintOf, PublicKeyBytes } from "../domain/Keys.js"
import type { KeyPair } from "../protocol/crypto/X25519.js"
import { generateKeyPair, keyPairFromPrivate } from "../protocol/crypto/X25519.js"
import { pyJson } from "../protocol/internal/pyJson.js"
import { atomicWrite } from "./internal/atomicWrite.js"
import * as Envelope from "./internal/envelope.js"

/**
 * The public half of an identity: safe to show, to put in a link code or to send over IPC.
 *
 * @since 2.0.0
 * @category models
 */
export class Profile extends Schema.Class<Profile>("Profile")({
  uid: Uid,
  username: Username,
  publicKey: PublicKeyBytes,
  fingerprint: Fingerprint,
  listenPort: Port,
  createdAt: Schema.String
}) {}

/**
 * @since 2.0.0
 * @category views
 */
export const profileView = (profile: Profile): ProfileView => ({
  uid: profile.uid,
  username: profile.username,
  fingerprint: profile.fingerprint,
  publicKey: Buffer.from(profile.publicKey).toString("base64"),
  listenPort: profile.listenPort,
  createdAt: profile.createdAt
})

/**
 * An unlocked identity. The private key never leaves the daemon.
 *
 * @since 2.0.0
 * @category models
 */
export interface UnlockedIdentity {
  readonly profile: Profile
  readonly keyPair: KeyPair
}

const Key32 = Schema.compose(Schema.Uint8ArrayFromBase64, PublicKeyBytes)

/** The plaintext inside `identity.enc` (reference §4.2), field for field. */
const IdentityData = Schema.Struct({
  uid: Uid,
  username: Username,
  keypair: Schema.Struct({ private: Key32, public: Key32 }),
  created_at: Schema.String,
  fingerprint: Fingerprint,
  listen_port: Schema.optionalWith(Port, { default: () => 5000 })
})

const toPlaintext = (identity: UnlockedIdentity): string =>
  pyJson({
    uid: identity.profile.uid,
    username: identity.profile.username,
    keypair: {
      private: Buffer.from(identity.keyPair.privateKey).toString("base64"),
      public: Buffer.from(identity.keyPair.publicKey).toString("base64")
    },
    created_at: identity.profile.createdAt,
    fingerprint: identity.profile.fingerprint,
    listen_port: identity.profile.listenPort
  })

const fromPlaintext = (plaintext: string): Effect.Effect<UnlockedIdentity, IdentityError> =>
  Effect.try({
    try: () => JSON.parse(plaintext) as unknown,
    catch: () => new IdentityError({ reason: "Corrupt", detail: "plaintext is not JSON" })
  }).pipe(
    Effect.flatMap(Schema.decodeUnknown(IdentityData)),
    Effect.mapError((e) =>
      e._tag === "IdentityError" ? e : new IdentityError({ reason: "Corrupt", detail: e.message })
    ),
    Effect.flatMap((data) => {
      const keyPair = keyPairFromPrivate(data.keypair.private)
      if (Buffer.compare(keyPair.publicKey, data.keypair.public) !== 0) {
        return new IdentityError({ reason: "Corrupt", detail: "public key does not match private key" })
      }
      return Effect.succeed({
        keyPair,
        profile: new Profile({
          uid: data.uid,
          username: data.username,
          publicKey: keyPair.publicKey as PublicKey,
          fingerprint: fingerprintOf(keyPair.publicKey),
          listenPort: data.listen_port,
          createdAt: data.created_at
        })
      })
    })
  )

/** Python's `datetime.now(timezone.utc).isoformat()`: microseconds and "+00:00". */
const pythonUtcNow = DateTime.now.pipe(
  Effect.map((now) => DateTime.formatIso(now).replace(/\.(\d{3})Z$/, ".$1000+00:00").replace(/Z$/, "+00:00"))
)

/**
 * A new identity in memory only (bots, tests, simulations); `IdentityStore.create` also saves it.
 *
 * @since 2.0.0
 * @category constructors
 */
export const generate = (input: { readonly username: string; readonly listenPort: number }) =>
  Effect.gen(function*() {
    const username = yield* Schema.decodeUnknown(Username)(input.username).pipe(
      Effect.mapError(() =>
        new IdentityError({ reason: "Invalid", detail: "username must be 1-64 printable characters" })
      )
    )
    const listenPort = yield* Schema.decodeUnknown(Port)(input.listenPort).pipe(
      Effect.mapError(() => new IdentityError({ reason: "Invalid", detail: "listen port must be 0-65535" }))
    )
    const keyPair = generateKeyPair()
    const identity: UnlockedIdentity = {
      keyPair,
      profile: new Profile({
        uid: randomBytes(16).toString("hex") as Uid,
        username,
        publicKey: keyPair.publicKey as PublicKey,
        fingerprint: fingerprintOf(keyPair.publicKey),
        listenPort,
        createdAt: yield* pythonUtcNow
      })
    }
    return identity
  })

/**
 * @since 2.0.0
 * @category models
 */
export interface CreateInput {
  readonly username: string
  readonly password: string
  readonly listenPort: number
}

/**
 * @since 2.0.0
 * @category models
 */
export interface IdentityStoreShape {
  readonly path: string
  readonly exists: Effect.Effect<boolean>
  readonly create: (input: CreateInput) => Effect.Effect<UnlockedIdentity, IdentityError>
  readonly unlock: (password: string) => Effect.Effect<UnlockedIdentity, IdentityError>
  readonly changePassword: (oldPassword: string, newPassword: string) => Effect.Effect<void, IdentityError>
  readonly setListenPort: (password: string, port: number) => Effect.Effect<UnlockedIdentity, IdentityError>
}

/**
 * @since 2.0.0
 * @category constants
 */
export const FILE_NAME = "identity.enc"

/**
 * @since 2.0.0
 * @category services
 */
export class IdentityStore extends Context.Tag("jarvis/IdentityStore")<IdentityStore, IdentityStoreShape>() {}

const io = (detail: string) => (cause: { readonly message: string }) =>
  new IdentityError({ reason: "Io", detail: `${detail}: ${cause.message}` })

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (dataDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = Path.join(dataDir, FILE_NAME)

    const exists = fs.exists(path).pipe(Effect.orElseSucceed(() => false))

    const save = (identity: UnlockedIdentity, password: string) =>
      Envelope.seal(password, toPlaintext(identity)).pipe(
        Effect.flatMap((envelope) => atomicWrite(path, Envelope.encodeFile(envelope))),
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.mapError((e) => e._tag === "IdentityError" ? e : io("write")(e))
      )

    const unlock = Effect.fn("IdentityStore.unlock")(function*(password: string) {
      if (!(yield* exists)) return yield* new IdentityError({ reason: "NotFound" })
      const text = yield* fs.readFileString(path).pipe(Effect.mapError(io("read")))
      const envelope = yield* Envelope.decodeFile(text)
      return yield* Envelope.open(password, envelope).pipe(Effect.flatMap(fromPlaintext))
    })

    const create = Effect.fn("IdentityStore.create")(function*(input: CreateInput) {
      if (input.password.length === 0) return yield* new IdentityError({ reason: "Invalid", detail: "empty password" })
      const identity = yield* generate(input)
      if (yield* exists) return yield* new IdentityError({ reason: "AlreadyExists" })
      yield* fs.makeDirectory(dataDir, { recursive: true, mode: 0o700 }).pipe(Effect.mapError(io("mkdir")))
      yield* save(identity, input.password)
      return identity
    })

    const changePassword = Effect.fn("IdentityStore.changePassword")(
      function*(oldPassword: string, newPassword: string) {
        if (newPassword.length === 0) return yield* new IdentityError({ reason: "Invalid", detail: "empty password" })
        const identity = yield* unlock(oldPassword)
        yield* save(identity, newPassword)
      }
    )

    const setListenPort = Effect.fn("IdentityStore.setListenPort")(function*(password: string, port: number) {
      // Checked before the (deliberately slow) key derivation.
      const listenPort = yield* Schema.decodeUnknown(Port)(port).pipe(
        Effect.mapError(() => new IdentityError({ reason: "Invalid", detail: "listen port must be 0-65535" }))
      )
      const identity = yield* unlock(password)
      const updated = { ...identity, profile: new Profile({ ...identity.profile, listenPort }) }
      yield* save(updated, password)
      return updated
    })

    return IdentityStore.of({ path, exists, create, unlock, changePassword, setListenPort })
  })

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = (dataDir: string) => Layer.effect(IdentityStore, make(dataDir))
