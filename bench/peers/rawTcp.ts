/** Plain TCP: the floor. `batched` corks writes so queued messages share one syscall. */
import * as Net from "node:net"
import type { Contender, Pair } from "./types.js"
import { deferred } from "./types.js"

const listen = (onSocket: (s: Net.Socket) => void) =>
  new Promise<Net.Server>((resolve) => {
    const server = Net.createServer({ noDelay: true }, onSocket)
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const connect = (port: number) =>
  new Promise<Net.Socket>((resolve) => {
    const socket = Net.connect({ port, host: "127.0.0.1", noDelay: true }, () => resolve(socket))
  })

export const rawTcp = (batched: boolean): Contender => {
  let servers: Array<Net.Server> = []
  const open = async (): Promise<Pair> => {
    let received = 0
    let target = 0
    let done = deferred()
    let echo = false
    const server = await listen((socket) => {
      socket.on("data", (chunk) => {
        if (echo) socket.write(chunk)
        received += chunk.length
        if (received >= target) done.resolve()
      })
    })
    servers.push(server)
    const client = await connect((server.address() as Net.AddressInfo).port)
    let back = 0
    let backTarget = 0
    let backDone = deferred()
    client.on("data", (chunk) => {
      back += chunk.length
      if (back >= backTarget) backDone.resolve()
    })
    return {
      blast: async (count, size) => {
        echo = false
        received = 0
        target = count * size
        done = deferred()
        const message = Buffer.alloc(size, 7)
        const BATCH = 64
        for (let i = 0; i < count; i += batched ? BATCH : 1) {
          let ok = true
          if (batched) {
            client.cork()
            for (let j = i; j < Math.min(count, i + BATCH); j++) ok = client.write(message)
            client.uncork()
          } else {
            ok = client.write(message)
          }
          if (!ok) await new Promise((r) => client.once("drain", r))
        }
        await done.promise
      },
      roundTrip: async (size) => {
        echo = true
        received = 0
        target = size
        back = 0
        backTarget = size
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
  }
  return {
    name: batched ? "raw TCP, batched writes" : "raw TCP",
    open,
    connectOnce: async () => {
      const got = deferred()
      const server = await listen((socket) => socket.once("data", () => got.resolve()))
      const start = performance.now()
      const client = await connect((server.address() as Net.AddressInfo).port)
      client.write(Buffer.alloc(100, 1))
      await got.promise
      const ms = performance.now() - start
      client.destroy()
      server.close()
      return ms
    },
    dispose: async () => {
      for (const s of servers) s.close()
      servers = []
    }
  }
}
