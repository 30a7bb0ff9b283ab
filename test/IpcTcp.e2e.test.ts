/**
 * The IPC endpoint Windows gets (forced here with JARVIS_IPC=tcp): loopback TCP, where the first
 * request must present the token from the data directory. Driven by the real CLI and a raw socket.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, jarvis, jarvisJson, makeHome } from "./support/cli.js"

const ENV = { JARVIS_IPC: "tcp", JARVIS_PASSWORD: "correct horse battery staple" }

/** Sends `lines` on a fresh loopback connection; resolves with the replies and whether it closed. */
const converse = (port: number, lines: ReadonlyArray<unknown>) =>
  new Promise<{ readonly replies: Array<any>; readonly closed: boolean }>((resolve, reject) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    const replies: Array<any> = []
    let buffer = ""
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ replies, closed: false })
    }, 1_500)
    socket.on("error", reject)
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8")
      let i: number
      while ((i = buffer.indexOf("\n")) >= 0) {
        replies.push(JSON.parse(buffer.slice(0, i)))
        buffer = buffer.slice(i + 1)
      }
      if (replies.length === lines.length) {
        clearTimeout(timer)
        socket.destroy()
        resolve({ replies, closed: false })
      }
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ replies, closed: true })
    })
    socket.on("connect", () => {
      for (const line of lines) socket.write(JSON.stringify(line) + "\n")
    })
  })

describe("IPC over loopback TCP with a token", () => {
  const alice = makeHome("alice")
  afterAll(() => alice.cleanup())

  it("admits only a client that presents the token first; the CLI does so by itself", async () => {
    await jarvisJson(alice.home, ["init", "--username", "alice", "--port", String(await freePort())], { env: ENV })
    expect((await jarvisJson(alice.home, ["daemon", "start"], { env: ENV })).started).toBe(true)
    try {
      expect(Fs.existsSync(Path.join(alice.home, "jarvis.sock"))).toBe(false)
      const tokenFile = Path.join(alice.home, "ipc.token")
      expect(Fs.statSync(tokenFile).mode & 0o777).toBe(0o600)
      const token = Fs.readFileSync(tokenFile, "utf8").trim()
      expect(token).toMatch(/^[0-9a-f]{64}$/)
      const port = Number.parseInt(Fs.readFileSync(Path.join(alice.home, "ipc.port"), "utf8"), 10)

      const status = { jsonrpc: "2.0", id: 2, method: "daemon.status", params: {} }
      const anonymous = await converse(port, [status, status])
      expect(anonymous.replies).toHaveLength(1)
      expect(anonymous.replies[0].error.code).toBe(-32011)
      expect(anonymous.closed).toBe(true)

      const forged = await converse(port, [
        { jsonrpc: "2.0", id: 1, method: "auth", params: { token: "0".repeat(64) } },
        status
      ])
      expect(forged.replies.map((r) => r.error?.code)).toEqual([-32011])
      expect(forged.closed).toBe(true)

      const admitted = await converse(port, [{ jsonrpc: "2.0", id: 1, method: "auth", params: { token } }, status])
      expect(admitted.replies[0].result).toEqual({ authenticated: true })
      expect(admitted.replies[1].result.state).toBe("locked")

      // The CLI finds the port and token in the data directory.
      await jarvisJson(alice.home, ["unlock"], { env: ENV })
      expect((await jarvisJson(alice.home, ["whoami"], { env: ENV })).username).toBe("alice")
    } finally {
      expect((await jarvis(alice.home, ["daemon", "stop"], { env: ENV })).code).toBe(0)
    }
    expect(Fs.existsSync(Path.join(alice.home, "ipc.token"))).toBe(false)
    expect(Fs.existsSync(Path.join(alice.home, "ipc.port"))).toBe(false)
  })
})
