/**
 * The Promise facade (`Jarvis.start`): two nodes on 127.0.0.1 added to each other by link codes,
 * an echo written as a plain listener, typed rejections, listener failures and close.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import type { Contact } from "../src/domain/Contact.js"
import type { RuntimeEvent } from "../src/domain/Events.js"
import * as Jarvis from "../src/Jarvis.js"

const HOST = "127.0.0.1"
const settings = { bindAddress: HOST, listenPort: 0 }

const open: Array<Jarvis.JarvisNode> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((node) => node.close()))
})

const start = async (username: string, extra: Partial<Jarvis.StartOptions["settings"]> = {}) => {
  const node = await Jarvis.start({ username, settings: { ...settings, ...extra } })
  open.push(node)
  return node
}

/** Resolves with the first event `f` accepts (the listener stops then). */
const next = <A>(node: Jarvis.JarvisNode, f: (event: RuntimeEvent) => A | undefined) =>
  new Promise<A>((resolve) => {
    const stop = node.on((event) => {
      const a = f(event)
      if (a !== undefined) {
        stop()
        resolve(a)
      }
    })
  })

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail("expected a rejection"),
    (error: { readonly _tag: string; readonly reason?: string }) => error
  )

const pair = async () => {
  const alice = await start("alice")
  const bob = await start("bob")
  await bob.addContact(alice.linkCode(HOST), { verified: true })
  await alice.addContact(bob.linkCode(HOST))
  return { alice, bob }
}

describe("Jarvis (Promise API)", () => {
  it("two nodes added by link codes exchange messages both ways; the sender gets the receipt", async () => {
    const { alice, bob } = await pair()
    const seen: Array<string> = []
    bob.on((event) => {
      if (event._tag !== "MessageReceived") return
      seen.push(event.body)
      void bob.send(event.contact, `echo: ${event.body}`)
    })
    const echoes: Array<string> = []
    const allEchoes = new Promise<void>((resolve) =>
      alice.on((event) => {
        if (event._tag === "MessageReceived") echoes.push(event.body)
        if (echoes.length === 3) resolve()
      })
    )
    const first = await alice.send(bob.profile.uid, "one")
    const receipt = next(alice, (e) => e._tag === "ReceiptReceived" && e.ids.includes(first.id) ? e : undefined)
    await alice.send(bob.profile.uid, "two")
    await alice.send(bob.profile.uid, "three")
    await allEchoes
    assert.deepStrictEqual(seen, ["one", "two", "three"])
    assert.deepStrictEqual(echoes, ["echo: one", "echo: two", "echo: three"])
    assert.strictEqual((await receipt).kind, "delivered")
    assert.strictEqual((await alice.health(bob.profile.uid)).state, "connected")
    assert.isAtLeast(await alice.ping(bob.profile.uid), 0)
    const contacts = await bob.contacts()
    assert.deepStrictEqual(contacts.map((c) => [c.username, c.verified]), [["alice", true]])
  })

  it("refusals reject with typed errors, and nothing is queued for them", async () => {
    const alice = await start("alice", { mailboxCapacity: 1 })
    const bob = await start("bob")
    assert.strictEqual((await rejection(alice.send(bob.profile.uid, "hi")))._tag, "ContactError")
    // Bob is known but not listening where the code says: messages wait in the outbox.
    await alice.addContact(bob.linkCode(HOST, 1))
    assert.strictEqual((await rejection(alice.send(bob.profile.uid, "")))._tag, "InvalidInput")
    assert.strictEqual((await rejection(alice.send(bob.profile.uid, 42 as unknown as string)))._tag, "InvalidInput")
    assert.strictEqual((await rejection(alice.send(bob.profile.uid, "x", { id: "not an id!" })))._tag, "InvalidInput")
    await alice.send(bob.profile.uid, "queued")
    const full = await rejection(alice.send(bob.profile.uid, "one too many"))
    assert.strictEqual(full._tag, "MailboxFull")
    assert.strictEqual((await alice.health(bob.profile.uid)).queueDepth, 1)

    const own = await rejection(alice.addContact(alice.linkCode(HOST)))
    assert.deepStrictEqual([own._tag, own.reason], ["ContactError", "Invalid"])
    assert.strictEqual((await rejection(alice.addContact("jarvis://nonsense")))._tag, "ContactCodeError")
    const twice = await rejection(alice.addContact(bob.linkCode(HOST)))
    assert.deepStrictEqual([twice._tag, twice.reason], ["ContactError", "AlreadyExists"])
  })

  it("what plain JavaScript passes is checked at the edge: InvalidInput, never a defect or a bad frame", async () => {
    const alice = await start("alice")
    const bob = await start("bob")
    const carol = await start("carol")
    await alice.addContact(bob.linkCode(HOST, 1))
    const invalid = async (promise: Promise<unknown>) =>
      assert.strictEqual((await rejection(promise))._tag, "InvalidInput")
    await invalid(alice.send(bob.profile.uid, "x", { expiresAt: "9999999999999" as unknown as number }))
    await invalid(alice.send(bob.profile.uid, "x", { expiresAt: 1 }))
    await invalid(alice.typing(bob.profile.uid, "yes" as unknown as boolean))
    await invalid(alice.sendReadReceipts(bob.profile.uid, ["", 42 as unknown as string]))
    await invalid(alice.addContact(carol.linkCode(HOST), { notes: "n".repeat(5000) }))
    await invalid(alice.addContact(42 as unknown as string))
    await invalid(alice.putContact({ uid: carol.profile.uid } as unknown as Contact))
    await invalid(Jarvis.start({ settings: { ...settings, pingInterval: "banana" as unknown as number } }))
    assert.strictEqual((await rejection(Jarvis.start({ username: "", settings })))._tag, "IdentityError")
    assert.deepStrictEqual((await alice.contacts()).map((c) => c.username), ["bob"])
    // Durations as plain input: milliseconds or text.
    const tuned = await Jarvis.start({ settings: { ...settings, pingInterval: 5_000, deadAfter: "20 seconds" } })
    open.push(tuned)
  })

  it("a listener that throws keeps listening and harms no other; a stopped one hears nothing", async () => {
    const { alice, bob } = await pair()
    const thrown: Array<string> = []
    bob.on((event) => {
      if (event._tag !== "MessageReceived") return
      thrown.push(event.body)
      throw new Error(`listener failed on ${event.body}`)
    })
    const stopped: Array<string> = []
    const stop = bob.on((event) => {
      if (event._tag === "MessageReceived") stopped.push(event.body)
    })
    const third = next(bob, (e) => e._tag === "MessageReceived" && e.body === "3" ? e : undefined)
    await alice.send(bob.profile.uid, "1")
    await next(bob, (e) => e._tag === "MessageReceived" ? e : undefined)
    stop()
    await alice.send(bob.profile.uid, "2")
    await alice.send(bob.profile.uid, "3")
    await third
    assert.deepStrictEqual(thrown, ["1", "2", "3"])
    assert.deepStrictEqual(stopped, ["1"])
  })

  it("an async listener whose send is refused is logged on stderr, not an unhandled rejection, and keeps listening", async () => {
    const { alice, bob } = await pair()
    const errors = vi.spyOn(console, "error").mockImplementation(() => {})
    try {
      const refused: Array<string> = []
      bob.on(async (event) => {
        if (event._tag !== "MessageReceived") return
        try {
          await bob.send("nobody", `re: ${event.body}`)
        } catch (error) {
          refused.push(`${(error as { readonly _tag: string })._tag} for ${event.body}`)
          throw error
        }
      })
      const second = next(bob, (e) => e._tag === "MessageReceived" && e.body === "2" ? e : undefined)
      await alice.send(bob.profile.uid, "1")
      await alice.send(bob.profile.uid, "2")
      await second
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepStrictEqual(refused, ["ContactError for 1", "ContactError for 2"])
      const logged = errors.mock.calls.map((args) => String(args[0]))
      assert.strictEqual(logged.filter((line) => line.includes("an event listener failed")).length, 2)
    } finally {
      errors.mockRestore()
    }
  })

  it("after close every call rejects with NodeClosed, and the peer sees the link go", async () => {
    const { alice, bob } = await pair()
    await alice.send(bob.profile.uid, "hello")
    await next(bob, (e) => e._tag === "MessageReceived" ? e : undefined)
    const down = next(bob, (e) => e._tag === "LinkStateChanged" && e.state !== "connected" ? e : undefined)
    const closing = alice.close()
    assert.strictEqual(alice.close(), closing, "a second close waits for the same end")
    await closing
    assert.strictEqual((await rejection(alice.send(bob.profile.uid, "late")))._tag, "NodeClosed")
    assert.strictEqual((await rejection(alice.contacts()))._tag, "NodeClosed")
    assert.throws(() => alice.on(() => {}))
    assert.strictEqual((await down).contact, alice.profile.uid)
  })
})
