/**
 * One runtime holding many authenticated idle links (10,000 by default, BENCH_LINKS): RSS per
 * link, handshakes per second, and a ping over every link. The dialling side runs in a child
 * process so the hub's memory is its own.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { createInterface } from "node:readline"
import { Listener } from "../../src/actors/Listener.js"
import { Runtime } from "../../src/actors/Runtime.js"
import { Contact } from "../../src/domain/Contact.js"
import type { Uid } from "../../src/domain/Ids.js"
import type { PublicKey } from "../../src/domain/Keys.js"
import { fingerprintOf } from "../../src/domain/Keys.js"
import * as Embedded from "../../src/Embedded.js"
import { generateKeyPair } from "../../src/protocol/crypto/X25519.js"
import { ContactBook } from "../../src/services/ContactBook.js"
import * as Identity from "../../src/services/Identity.js"
import { median, percentile, table } from "../lib.js"

const LINKS = Number(process.env.BENCH_LINKS ?? 10_000)

const rss = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().rss
}

export const run = async () => {
  const scope = Effect.runSync(Scope.make())
  const hubIdentity = await Effect.runPromise(Identity.generate({ username: "hub", listenPort: 0 }))
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      Embedded.layer({
        identity: hubIdentity,
        settings: { bindAddress: "127.0.0.1", listenPort: 0, maxPendingHandshakes: 256 }
      }),
      scope
    )
  )
  const runtime = Context.get(context, Runtime)
  const contacts = Context.get(context, ContactBook)
  const port = Context.get(context, Listener).address.port

  const clients = Array.from({ length: LINKS }, (_, i) => {
    const keyPair = generateKeyPair()
    return { uid: i.toString(16).padStart(32, "0"), keyPair }
  })
  const base = rss()
  await Effect.runPromise(
    Effect.forEach(clients, (c) =>
      contacts.add(
        new Contact({
          uid: c.uid as Uid,
          username: "client",
          publicKey: c.keyPair.publicKey as PublicKey,
          fingerprint: fingerprintOf(c.keyPair.publicKey),
          host: "127.0.0.1",
          port: 0,
          verified: true,
          legacy: false,
          signed: true,
          notes: "",
          addedAt: 0
        })
      ), { discard: true })
  )
  // Every contact's actor must be up before the baseline is taken (10,000 take a few seconds to
  // start); otherwise the per-link figure also counts the actors that started after it.
  while ((await Effect.runPromise(runtime.healthAll)).length < LINKS) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, 500))
  const withContacts = rss()

  const dir = mkdtempSync(Path.join(Os.tmpdir(), "jarvis-links-"))
  const planFile = Path.join(dir, "plan.json")
  writeFileSync(
    planFile,
    JSON.stringify({
      port,
      hubKey: Buffer.from(hubIdentity.keyPair.publicKey).toString("hex"),
      clients: clients.map((c) => ({ uid: c.uid, privateKey: Buffer.from(c.keyPair.privateKey).toString("hex") }))
    })
  )
  const child = spawn(process.execPath, [
    "--import",
    "tsx",
    "--import",
    Path.join(import.meta.dirname, "..", "use-dist.mjs"),
    Path.join(import.meta.dirname, "..", "links-client.ts"),
    planFile
  ], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const start = performance.now()
  const report = await new Promise<{ ready?: number; error?: string }>((resolve) => {
    createInterface({ input: child.stdout! }).once("line", (line) => resolve(JSON.parse(line)))
  })
  if (report.error !== undefined) throw new Error(`links client: ${report.error}`)
  const connectedCount = async () =>
    (await Effect.runPromise(runtime.healthAll)).filter((h) => h.state === "connected").length
  while ((await connectedCount()) < LINKS) await new Promise((r) => setTimeout(r, 50))
  const establishMs = performance.now() - start
  await new Promise((r) => setTimeout(r, 500))
  const withLinks = rss()

  const pingStart = performance.now()
  const rtts = await Effect.runPromise(
    Effect.forEach(clients, (c) => Effect.orDie(runtime.ping(c.uid as Uid)), { concurrency: 1000 })
  )
  const pingAllMs = performance.now() - pingStart

  child.kill()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dir, { recursive: true, force: true })

  table(`${LINKS.toLocaleString()} authenticated idle links in one runtime`, [
    {
      name: "RSS per idle link (links up − contacts only)",
      value: (withLinks - withContacts) / LINKS / 1024,
      unit: "KiB",
      ratio: { to: "the 32 KiB budget", value: (withLinks - withContacts) / LINKS / 1024 / 32 }
    },
    { name: "RSS per contact actor without a link", value: (withContacts - base) / LINKS / 1024, unit: "KiB" },
    { name: "handshakes per second (64 dials in flight)", value: LINKS / (establishMs / 1000), unit: "/s" },
    { name: "ping every link, 1,000 in flight: total", value: pingAllMs, unit: "ms" },
    { name: "ping every link: p50 RTT", value: median(rtts), unit: "ms" },
    { name: "ping every link: p99 RTT", value: percentile(rtts, 99), unit: "ms" }
  ])
}
