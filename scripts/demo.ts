/**
 * `npm run demo`: two real daemons (Alice and Bob) in temporary directories on loopback ports,
 * driven only through the `jarvis` CLI, exactly as a person would type it. Prints the transcript
 * and removes everything afterwards.
 */
import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

const JARVIS = Path.resolve("dist/jarvis.cjs")
const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jarvis-demo-"))
const env: NodeJS.ProcessEnv = {
  ...process.env,
  JARVIS_PASSWORD: "correct horse battery staple",
  JARVIS_BIND: "127.0.0.1",
  JARVIS_ADVERTISE_HOST: "127.0.0.1"
}
delete env.JARVIS_HOME

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)

interface Person {
  readonly name: string
  readonly home: string
}
const alice: Person = { name: "alice", home: Path.join(root, "alice") }
const bob: Person = { name: "bob", home: Path.join(root, "bob") }

const run = (who: Person, args: ReadonlyArray<string>, input = "") =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [JARVIS, "--home", who.home, ...args], { env, timeout: 30_000 }, (
      error,
      stdout,
      stderr
    ) => resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    child.stdin?.end(input)
  })

/** Runs a command and prints it with its output, as in a terminal. */
const say = async (who: Person, args: ReadonlyArray<string>, input?: string) => {
  const shown = args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")
  console.log(`${bold(`${who.name}$`)} jarvis ${shown}${input === undefined ? "" : dim(`  <<< ${input.trim()}`)}`)
  const result = await run(who, args, input)
  const out = (result.stdout + result.stderr).trimEnd()
  if (out !== "") console.log(out.replace(/^/gm, "  "))
  if (result.code !== 0) throw new Error(`jarvis ${shown} exited with ${result.code}`)
  return result.stdout
}

const json = async (who: Person, args: ReadonlyArray<string>) => {
  const result = await run(who, [...args, "--json"])
  if (result.code !== 0) throw new Error(`jarvis ${args.join(" ")} exited with ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

const until = async (what: string, check: () => Promise<boolean>, ms = 20_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer().once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const section = (title: string) => console.log(`\n${bold(`── ${title} `.padEnd(72, "─"))}`)

const killLeftovers = () => {
  for (const who of [alice, bob]) {
    try {
      process.kill(Number.parseInt(Fs.readFileSync(Path.join(who.home, "daemon.pid"), "utf8"), 10), "SIGKILL")
    } catch {
      // not running
    }
  }
}

const main = async () => {
  console.log(bold("Jarvis demo: two daemons on this machine, talking over loopback TCP"))
  console.log(dim(`(data in ${root}; password from JARVIS_PASSWORD)`))

  section("1. Each person creates an identity and starts a daemon")
  for (const who of [alice, bob]) {
    await say(who, ["init", "--username", who.name, "--port", String(await freePort())])
    await say(who, ["daemon", "start"])
    await say(who, ["unlock"])
  }

  section("2. They exchange link codes (signed; the fingerprint is checked on import)")
  const aliceCode = (await say(alice, ["link"])).trim()
  const bobCard = Path.join(root, "bob.jcard")
  await say(bob, ["link", "--card", "--out", bobCard])
  await say(alice, ["contacts", "add", bobCard])
  await say(bob, ["contacts", "add", "-"], aliceCode)
  await until("the link", async () => (await json(alice, ["status"])).links.summary === "green")
  await say(alice, ["status"])

  section("3. They chat; Bob watches his events live")
  const watch = spawn(process.execPath, [JARVIS, "--home", bob.home, "watch", "--from", "0"], {
    env,
    stdio: ["ignore", "pipe", "ignore"]
  })
  const watched: Array<string> = []
  watch.stdout.on(
    "data",
    (chunk: Buffer) => watched.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""))
  )
  await say(alice, ["send", "bob", "Hi Bob! This went over a Noise IK channel."])
  await say(alice, ["send", "bob", "Nobody in between can read it."])
  await until("Bob to receive", async () => (await json(bob, ["status"])).unread.total === 2)
  await say(bob, ["send", "alice", "-"], "Hi Alice, got both. Replying from stdin.\n")
  await until("Alice to receive", async () => (await json(alice, ["status"])).unread.total === 1)
  watch.kill()
  console.log(`${bold("bob$")} jarvis watch ${dim("(running in the background, replaying from cursor 0)")}`)
  for (const line of watched) console.log(`  ${line}`)
  await say(bob, ["history", "alice"])
  await say(bob, ["read", "alice"])

  section("4. Offline delivery: Bob's daemon stops, Alice keeps writing")
  await say(bob, ["daemon", "stop"])
  await say(alice, ["send", "bob", "Are you there? This waits in my outbox."])
  await say(alice, ["outbox", "list"])
  await say(bob, ["daemon", "start"])
  await say(bob, ["unlock"])
  await until("the queued message", async () => (await json(alice, ["outbox", "list"])).length === 0)
  await say(alice, ["history", "bob"])
  await say(bob, ["history", "alice", "--limit", "1"])

  section("5. Both stop cleanly")
  await say(alice, ["daemon", "stop"])
  await say(bob, ["daemon", "stop"])
}

main().then(
  () => {
    Fs.rmSync(root, { recursive: true, force: true })
    console.log(`\n${bold("Demo finished.")} Everything above was real: two processes, TCP, SQLite, the CLI.`)
  },
  (error: unknown) => {
    killLeftovers()
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
    for (const who of [alice, bob]) {
      const log = Path.join(who.home, "logs", "daemon.log")
      if (Fs.existsSync(log)) console.error(`--- ${who.name}'s daemon log\n${Fs.readFileSync(log, "utf8")}`)
    }
    Fs.rmSync(root, { recursive: true, force: true })
    process.exitCode = 1
  }
)
