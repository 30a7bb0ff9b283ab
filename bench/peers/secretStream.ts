/** @hyperswarm/secret-stream over TCP: Noise XX + libsodium secretstream, one frame per write. */
import SecretStream from "@hyperswarm/secret-stream"
import * as Net from "node:net"
import type { Contender, Pair } from "./types.js"
import { deferred } from "./types.js"

interface Duplex {
  write(data: Uint8Array): boolean
  on(event: string, f: (data: Uint8Array) => void): Duplex
  once(event: string, f: () => void): void
  destroy(): void
}

const keyPair = () => SecretStream.keyPair() as { publicKey: Buffer; secretKey: Buffer }

const pairOfStreams = (onServer: (s: Duplex) => void) =>
  new Promise<{ server: Net.Server; client: Duplex }>((resolve) => {
    const serverKeys = keyPair()
    const clientKeys = keyPair()
    const server = Net.createServer({ noDelay: true }, (socket) => {
      socket.on("error", () => {})
      onServer((new SecretStream(false, socket, { keyPair: serverKeys }) as Duplex).on("error", () => {}))
    })
    server.listen(0, "127.0.0.1", () => {
      const socket = Net.connect({ port: (server.address() as Net.AddressInfo).port, host: "127.0.0.1", noDelay: true })
      socket.on("error", () => {})
      resolve({
        server,
        client: (new SecretStream(true, socket, { keyPair: clientKeys }) as Duplex).on("error", () => {})
      })
    })
  })

export const secretStream: Contender = {
  name: "@hyperswarm/secret-stream",
  open: async (): Promise<Pair> => {
    let received = 0
    let target = 0
    let done = deferred()
    let echo = false
    const { client, server } = await pairOfStreams((s) =>
      s.on("data", (data) => {
        if (echo) s.write(data)
        received++
        if (received >= target) done.resolve()
      })
    )
    let backDone = deferred()
    client.on("data", () => backDone.resolve())
    return {
      blast: async (count, size) => {
        echo = false
        received = 0
        target = count
        done = deferred()
        const message = Buffer.alloc(size, 7)
        for (let i = 0; i < count; i++) {
          if (!client.write(message)) await new Promise<void>((r) => client.once("drain", r))
        }
        await done.promise
      },
      roundTrip: async (size) => {
        echo = true
        received = 0
        target = 1
        done = deferred()
        backDone = deferred()
        client.write(Buffer.alloc(size, 1))
        await backDone.promise
      },
      close: async () => {
        client.destroy()
        server.close()
      }
    }
  },
  connectOnce: async () => {
    const got = deferred()
    const start = performance.now()
    const { client, server } = await pairOfStreams((s) => s.on("data", () => got.resolve()))
    client.write(Buffer.alloc(100, 1))
    await got.promise
    const ms = performance.now() - start
    client.destroy()
    server.close()
    return ms
  },
  dispose: async () => {}
}
