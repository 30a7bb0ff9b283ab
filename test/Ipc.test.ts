import type { Rpc, RpcGroup } from "@effect/rpc"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Context, Effect, Exit, Layer, Stream } from "effect"
import * as Fs from "node:fs"
import type * as Net from "node:net"
import * as Path from "node:path"
import * as IpcServer from "../src/daemon/IpcServer.js"
import { JarvisApi } from "../src/domain/Api.js"
import { Contact } from "../src/domain/Contact.js"
import type { Uid } from "../src/domain/Ids.js"
import type { PublicKey } from "../src/domain/Keys.js"
import { JarvisClient } from "../src/services/JarvisClient.js"
import { layerTcp, Transport } from "../src/services/Transport.js"
import { inProcessDaemon, rawConnection, unlockedDaemon } from "./support/daemon.js"
import { makeIdentity, startNode } from "./support/node.js"
import { tempDir } from "./support/temp.js"

const send = (socket: Net.Socket, value: unknown) =>
  socket.write(typeof value === "string" ? value : JSON.stringify(value) + "\n")

/** An IPC server on `path` whose every handler throws (a bug in a handler, not in the input). */
const serveThrowing = (path: string) =>
  IpcServer.layer({ endpoint: { _tag: "Unix", path } }).pipe(
    Layer.provide(Layer.succeedContext(
      Context.unsafeMake<Rpc.ToHandler<RpcGroup.Rpcs<typeof JarvisApi>>>(
        new Map(
          [...JarvisApi.requests.values()].map((rpc) => [rpc.key, {
            handler: () => {
              throw new Error("handler bug")
            },
            context: Context.empty()
          }])
        )
      )
    ))
  )

describe("IPC robustness (JSON-RPC over the Unix socket)", () => {
  it.scopedLive(
    "bad JSON, unknown methods, bad params and oversized lines get JSON-RPC errors; the connection stays usable",
    () =>
      Effect.gen(function*() {
        const { socket } = yield* inProcessDaemon({ ipc: { maxLine: 4096 } })
        const raw = yield* rawConnection(socket)
        const next = () => Effect.promise(() => raw.next())

        send(raw.socket, "{not json\n")
        const parse = (yield* next()) as { id: unknown; error: { code: number; message: string } }
        assert.strictEqual(parse.id, null)
        assert.strictEqual(parse.error.code, -32700)

        send(raw.socket, { jsonrpc: "2.0", id: 1, method: "no.such.method" })
        const unknown = (yield* next()) as { id: number; error: { code: number; message: string } }
        assert.deepStrictEqual([unknown.id, unknown.error.code], [1, -32601])
        assert.match(unknown.error.message, /no\.such\.method/)

        send(raw.socket, { jsonrpc: "2.0", id: 2, method: "messages.send", params: { contact: "bob", body: 42 } })
        const params = (yield* next()) as { id: number; error: { code: number; message: string } }
        assert.deepStrictEqual([params.id, params.error.code], [2, -32602])
        assert.match(params.error.message, /body/)

        send(raw.socket, { jsonrpc: "2.0", id: 22, method: "messages.history", params: { contact: "bob", limt: 5 } })
        const misspelt = (yield* next()) as { id: number; error: { code: number; message: string } }
        assert.deepStrictEqual([misspelt.id, misspelt.error.code], [22, -32602])
        assert.match(misspelt.error.message, /limt/)

        send(
          raw.socket,
          JSON.stringify({ jsonrpc: "2.0", id: 3, method: "daemon.status", params: { pad: "x".repeat(10_000) } }) + "\n"
        )
        const oversized = (yield* next()) as { error: { code: number; message: string } }
        assert.strictEqual(oversized.error.code, -32600)
        assert.match(oversized.error.message, /longer than 4096/)

        send(raw.socket, { jsonrpc: "2.0", id: 4, method: "contacts.list" })
        const locked = (yield* next()) as { id: number; error: { code: number; data: { _tag: string } } }
        assert.deepStrictEqual([locked.id, locked.error.code, locked.error.data._tag], [4, -32001, "Locked"])

        send(raw.socket, { jsonrpc: "2.0", id: "five", method: "daemon.status" })
        const ok = (yield* next()) as { id: string; result: { state: string } }
        assert.strictEqual(ok.id, "five")
        assert.strictEqual(ok.result.state, "no-identity", "still usable after every kind of bad input")

        send(raw.socket, { jsonrpc: "2.0", id: 7, method: "daemon.ping" })
        assert.deepStrictEqual(yield* next(), { jsonrpc: "2.0", id: 7, result: null })
        send(raw.socket, { jsonrpc: "2.0", id: 8, method: "daemon.ping", params: { verbose: true } })
        const pingParams = (yield* next()) as { id: number; error: { code: number; message: string } }
        assert.deepStrictEqual([pingParams.id, pingParams.error.code], [8, -32602], "a no-op still takes no params")

        send(raw.socket, { jsonrpc: "2.0", id: 6, method: "rpc.discover" })
        const described = (yield* next()) as { result: { openrpc: string; methods: Array<{ name: string }> } }
        assert.isTrue(described.result.methods.some((m) => m.name === "messages.send"))
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "a handler that throws instead of returning an Effect answers an internal error; the server stays up",
    () =>
      Effect.gen(function*() {
        const path = Path.join(yield* tempDir(), "ipc.sock")
        yield* Layer.build(serveThrowing(path))
        const raw = yield* rawConnection(path)
        for (const id of [1, 2]) {
          send(raw.socket, { jsonrpc: "2.0", id, method: "daemon.ping" })
          const answer = (yield* Effect.promise(() => raw.next())) as { id: number; error: { code: number } }
          assert.deepStrictEqual([answer.id, answer.error.code], [id, -32603])
        }
      }),
    { timeout: 30_000 }
  )

  it.scopedLive("the socket's directory is made private, and one that belongs to another user is refused", () =>
    Effect.gen(function*() {
      const dir = Path.join(yield* tempDir(), "run")
      Fs.mkdirSync(dir, { mode: 0o755 })
      Fs.chmodSync(dir, 0o755)
      yield* Effect.scoped(Layer.build(serveThrowing(Path.join(dir, "ipc.sock"))))
      assert.strictEqual(Fs.statSync(dir).mode & 0o777, 0o700, "an existing directory is closed to others")

      // Only root can hand a directory to someone else; elsewhere this half cannot be set up.
      if (process.getuid?.() !== 0) return
      Fs.chownSync(dir, 4321, 4321)
      const refused = yield* Effect.exit(Effect.scoped(Layer.build(serveThrowing(Path.join(dir, "ipc.sock")))))
      assert.isTrue(Exit.isFailure(refused))
      assert.match(String(Cause.squash((refused as Exit.Failure<unknown, unknown>).cause)), /belongs to another user/)
      assert.isFalse(Fs.existsSync(Path.join(dir, "ipc.sock")), "nothing was bound there")
    }))

  it.scopedLive(
    "a daemon that stops answers the requests still running (\"stopping\") before it closes",
    () =>
      Effect.gen(function*() {
        const { client, socket } = yield* unlockedDaemon("me")
        const raw = yield* rawConnection(socket)
        send(raw.socket, { jsonrpc: "2.0", id: "sub", method: "events.subscribe", params: {} })
        send(raw.socket, { jsonrpc: "2.0", id: 1, method: "daemon.ping" })
        let line = (yield* Effect.promise(() => raw.next())) as { id?: unknown }
        while (line.id !== 1) line = (yield* Effect.promise(() => raw.next())) as { id?: unknown }
        yield* client.daemon.stop()
        const last = yield* Effect.promise(async () => {
          while (true) {
            const next = (await raw.next()) as { id?: unknown; method?: string; error?: { message: string } }
            if (next.method !== "stream") return next
          }
        })
        assert.strictEqual(last.id, "sub")
        assert.match(last.error!.message, /stopping/)
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "$/cancel ends a subscription, whose last word is the cancel's null; the connection stays usable",
    () =>
      Effect.gen(function*() {
        const { client, socket } = yield* unlockedDaemon("me")
        const raw = yield* rawConnection(socket)
        const next = () => Effect.promise(() => raw.next() as Promise<{ id?: unknown; method?: string }>)

        send(raw.socket, { jsonrpc: "2.0", id: "sub", method: "events.subscribe", params: { from: 0 } })
        send(raw.socket, { jsonrpc: "2.0", id: 1, method: "daemon.status" })
        let line = yield* next()
        while (line.id !== 1) line = yield* next()
        send(raw.socket, { jsonrpc: "2.0", id: 2, method: "$/cancel", params: { id: "sub" } })
        line = yield* next()
        while (line.method === "stream") line = yield* next()
        assert.deepStrictEqual(line as unknown, { jsonrpc: "2.0", id: 2, result: null })

        // New events (an unreachable contact's link states) reach a second subscription only.
        const ghost = makeIdentity("ghost", 0)
        yield* client.contacts.add({
          fields: {
            uid: ghost.profile.uid,
            username: "ghost",
            publicKey: Buffer.from(ghost.keyPair.publicKey).toString("base64"),
            host: "127.0.0.1",
            port: 1
          }
        })
        send(raw.socket, { jsonrpc: "2.0", id: "sub2", method: "events.subscribe", params: { from: 0 } })
        const seen: Array<unknown> = []
        let dialing = false
        while (!dialing) {
          const item = (yield* next()) as { id?: unknown; params?: { id: unknown; items: Array<unknown> } }
          seen.push(item.id ?? item.params?.id)
          dialing = JSON.stringify(item).includes("dialing")
        }
        assert.deepStrictEqual(new Set(seen), new Set(["sub2"]), "nothing more for the cancelled subscription")
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "a client that never reads gets an overflow signal and cannot block the daemon or other clients",
    () =>
      Effect.gen(function*() {
        const { client, socket } = yield* inProcessDaemon({ ipc: { maxBuffered: 64 * 1024 } })
        yield* client.identity.create({ username: "me", password: "pw", listenPort: 0 })
        const me = yield* client.identity.unlock({ password: "pw" })
        const port = (yield* client.daemon.status()).listen!.port

        const peerIdentity = makeIdentity("flood", 0)
        const peer = yield* startNode({
          identity: peerIdentity,
          contacts: [
            new Contact({
              uid: me.uid,
              username: me.username,
              publicKey: new Uint8Array(Buffer.from(me.publicKey, "base64")) as PublicKey,
              fingerprint: me.fingerprint,
              host: "127.0.0.1",
              port,
              verified: true,
              legacy: false,
              signed: true,
              notes: "",
              addedAt: 0
            })
          ],
          transport: yield* Effect.provide(Transport, layerTcp),
          settings: { listenPort: 0, mailboxCapacity: 100_000 }
        })
        yield* client.contacts.add({
          fields: {
            uid: peerIdentity.profile.uid,
            username: "flood",
            publicKey: Buffer.from(peerIdentity.keyPair.publicKey).toString("base64"),
            host: "127.0.0.1",
            port: peer.listener.address.port
          }
        })

        const slow = yield* rawConnection(socket)
        send(slow.socket, { jsonrpc: "2.0", id: 1, method: "events.subscribe", params: { from: 0 } })
        slow.socket.pause()

        const other = Context.get(yield* Layer.build(JarvisClient.layer({ _tag: "Unix", path: socket })), JarvisClient)
        const flood = 3000
        for (let i = 0; i < flood; i++) yield* peer.runtime.send(me.uid as Uid, `flood ${i} ${"x".repeat(200)}`)
        let answered = 0
        while ((yield* other.messages.unread()).total < flood) {
          assert.strictEqual((yield* other.daemon.status()).state, "unlocked")
          answered++
        }
        assert.isAbove(answered, 0, "another client was served throughout the flood")

        slow.socket.resume()
        const end = yield* Effect.promise(async () => {
          while (true) {
            const line = (await Promise.race([
              slow.next(),
              new Promise((r) => slow.socket.once("close", () => r("closed")))
            ])) as
              | "closed"
              | {
                readonly id?: number
                readonly error?: { readonly code: number; readonly data: { readonly resumeFrom: number } }
              }
            if (line === "closed" || line.error !== undefined) return line
          }
        })
        assert.notStrictEqual(end, "closed", "an overflow error is sent before giving up on the client")
        const overflow = end as {
          readonly id: number
          readonly error: { readonly code: number; readonly data: { readonly resumeFrom: number } }
        }
        assert.strictEqual(overflow.id, 1)
        assert.strictEqual(overflow.error.code, -32010)

        const resumed = yield* other.events.subscribe({ from: overflow.error.data.resumeFrom }).pipe(
          Stream.filter((e) => e.event._tag === "MessageReceived"),
          Stream.take(1),
          Stream.runCollect
        )
        assert.strictEqual(Chunk.size(resumed), 1, "the subscriber can resume from its cursor")
      }),
    { timeout: 90_000 }
  )
})
