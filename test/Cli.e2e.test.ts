/**
 * Two real daemons in temp dirs on loopback ports, driven only by the bundled `jarvis` CLI.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, freePort, jarvis, jarvisJson, jarvisLines, makeHome } from "./support/cli.js"

const PASSWORD = { JARVIS_PASSWORD: "correct horse battery staple" }

describe("jarvis CLI end to end", () => {
  const alice = makeHome("alice")
  const bob = makeHome("bob")

  afterAll(() => {
    alice.cleanup()
    bob.cleanup()
  })

  beforeAll(async () => {
    for (const [who, name] of [[alice, "alice"], [bob, "bob"]] as const) {
      const port = await freePort()
      const created = await jarvisJson(who.home, ["init", "--username", name, "--port", String(port)], {
        env: PASSWORD
      })
      expect(created.username).toBe(name)
      expect(created.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it("reports a missing daemon with its exit code", async () => {
    const run = await jarvis(alice.home, ["status"])
    expect(run.code).toBe(4)
    expect(run.stderr).toMatch(/daemon is not running/i)
    const json = await jarvis(alice.home, ["contacts", "list", "--json"])
    expect(json.code).toBe(4)
    expect(JSON.parse(json.stdout).error.exitCode).toBe(4)
    const usage = await jarvis(alice.home, ["history"])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/Missing argument <contact>/)
    const version = await jarvis(alice.home, ["--version"])
    expect(version.stdout).toMatch(/2\.0\.0/)
  })

  it("starts, unlocks, links, chats both ways, watches, and stops cleanly", async () => {
    for (const who of [alice, bob]) {
      const started = await jarvisJson(who.home, ["daemon", "start"])
      expect(started.started).toBe(true)
      const locked = await jarvis(who.home, ["contacts", "list"])
      expect(locked.code).toBe(5)
      const wrong = await jarvis(who.home, ["unlock"], { env: { JARVIS_PASSWORD: "nope" } })
      expect(wrong.code).toBe(7)
      await jarvisJson(who.home, ["unlock"], { env: PASSWORD })
      expect(Fs.statSync(Path.join(who.home, "jarvis.sock")).mode & 0o777).toBe(0o600)
      expect(Fs.statSync(who.home).mode & 0o777).toBe(0o700)
    }

    const aliceCode = (await jarvisJson(alice.home, ["link"])).code as string
    const bobCard = Path.join(Path.dirname(bob.home), "bob.jcard")
    await jarvisJson(bob.home, ["link", "--card", "--out", bobCard])
    expect(aliceCode).toMatch(/^jarvis:\/\//)

    const addedBob = await jarvisJson(alice.home, ["contacts", "add", bobCard])
    expect(addedBob.username).toBe("bob")
    expect(addedBob.signed).toBe(true)
    const addedAlice = await jarvisJson(bob.home, ["contacts", "add", "-"], { input: aliceCode + "\n" })
    expect(addedAlice.username).toBe("alice")

    const unknown = await jarvis(alice.home, ["send", "carol", "hi"])
    expect(unknown.code).toBe(3)

    // Replaying from cursor 0 means the watcher misses nothing, however late it subscribes.
    const watch = jarvisLines(bob.home, ["watch", "--json", "--from", "0"])
    try {
      await eventually(async () => {
        const s = await jarvisJson(alice.home, ["status"])
        return s.links.summary === "green" ? s : undefined
      })

      const sent = await jarvisJson(alice.home, ["send", "bob", "hello bob"])
      expect(sent.id).toBeTypeOf("string")
      await jarvisJson(bob.home, ["send", addedAlice.uid.slice(0, 6), "-"], { input: "hi alice\n" })

      const events = await watch.until((lines) =>
        lines.some((l) => {
          const e = JSON.parse(l)
          if (e.event === undefined) throw new Error(l)
          return e.event._tag === "MessageReceived" && e.event.body === "hello bob"
        })
      )
      const received = events.map((l) => JSON.parse(l)).find((e) => e.event._tag === "MessageReceived")
      expect(received.event.contact).toBe(addedAlice.uid)
      expect(received.cursor).toBeTypeOf("number")

      const delivered = (history: any) =>
        history.messages.length === 2 && history.messages.every((m: any) => m.status !== "queued")
          ? history
          : undefined
      const aliceHistory = await eventually(async () => delivered(await jarvisJson(alice.home, ["history", "bob"])))
      expect(aliceHistory.messages.map((m: any) => [m.direction, m.body])).toEqual([
        ["out", "hello bob"],
        ["in", "hi alice"]
      ])
      const bobHistory = await eventually(async () => delivered(await jarvisJson(bob.home, ["history", "alice"])))
      expect(bobHistory.messages.map((m: any) => [m.direction, m.body])).toEqual([
        ["in", "hello bob"],
        ["out", "hi alice"]
      ])
      const human = await jarvis(bob.home, ["history", "alice"])
      expect(human.stdout).toMatch(/alice: hello bob/)
      expect(human.stdout).toMatch(/bob: hi alice/)

      const status = await jarvisJson(bob.home, ["status"])
      expect(status.links.summary).toBe("green")
      expect(status.unread.total).toBe(1)
      expect((await jarvisJson(bob.home, ["read", "alice"])).marked).toBe(1)
      expect((await jarvisJson(bob.home, ["status"])).unread.total).toBe(0)
      const statusText = await jarvis(alice.home, ["status"])
      expect(statusText.stdout).toMatch(/links\s+green \(1\/1 connected\)/)

      const ping = await jarvisJson(alice.home, ["ping", "bob"])
      expect(ping.rttMs).toBeGreaterThanOrEqual(0)
    } finally {
      await watch.stop()
    }

    const NEW = { JARVIS_NEW_PASSWORD: "tr0ub4dor&3" }
    expect((await jarvisJson(alice.home, ["passwd"], { env: { ...PASSWORD, ...NEW } })).changed).toBe(true)
    expect((await jarvisJson(alice.home, ["lock"])).locked).toBe(true)
    expect((await jarvis(alice.home, ["history", "bob"])).code).toBe(5)
    expect((await jarvis(alice.home, ["unlock"], { env: PASSWORD })).code).toBe(7)
    await jarvisJson(alice.home, ["unlock"], { env: { JARVIS_PASSWORD: NEW.JARVIS_NEW_PASSWORD } })
    expect((await jarvisJson(alice.home, ["history", "bob"])).messages).toHaveLength(2)

    for (const who of [alice, bob]) {
      const stopped = await jarvisJson(who.home, ["daemon", "stop"])
      expect(stopped.stopped).toBe(true)
      expect(Fs.existsSync(Path.join(who.home, "daemon.pid"))).toBe(false)
      expect(Fs.existsSync(Path.join(who.home, "jarvis.sock"))).toBe(false)
      expect((await jarvis(who.home, ["daemon", "status"])).code).toBe(4)
    }
    const log = Fs.readFileSync(Path.join(alice.home, "logs", "daemon.log"), "utf8")
    expect(log).toMatch(/stopped/)

    // At rest, nothing in either data directory (store, WAL, event log, logs, identity) shows
    // what was said.
    for (const who of [alice, bob]) {
      for (const file of Fs.readdirSync(who.home, { recursive: true, encoding: "utf8" })) {
        const path = Path.join(who.home, file)
        if (!Fs.statSync(path).isFile()) continue
        const bytes = Fs.readFileSync(path)
        for (const text of ["hello bob", "hi alice"]) {
          expect(bytes.includes(text), `${file} of ${who.home} contains "${text}"`).toBe(false)
        }
      }
    }
  })
})
