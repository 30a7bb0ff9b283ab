/** js-libp2p 3 over TCP with Noise and yamux: a byte stream per protocol, so we count bytes. */
import { noise } from "@chainsafe/libp2p-noise"
import { yamux } from "@chainsafe/libp2p-yamux"
import { tcp } from "@libp2p/tcp"
import { createLibp2p } from "libp2p"
import type { Contender, Pair } from "./types.js"
import { deferred } from "./types.js"

// libp2p 3 targets Node 22; this is the one API it needs that Node 20 lacks.
const P = Promise as unknown as { withResolvers?: () => unknown }
P.withResolvers ??= () => {
  let resolve: unknown
  let reject: unknown
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const node = () =>
  createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })

type Node = Awaited<ReturnType<typeof node>>

interface ByteCounter {
  bytes: number
  target: number
  done: ReturnType<typeof deferred<void>>
}

const PROTOCOL = "/jarvis-bench/1.0.0"

export const libp2p = (): Contender => {
  let nodes: Array<Node> = []
  const counter: ByteCounter = { bytes: 0, target: Infinity, done: deferred() }
  let echo = false
  const make = async () => {
    const [a, b] = await Promise.all([node(), node()])
    nodes.push(a, b)
    await b.handle(PROTOCOL, (stream) => {
      stream.addEventListener("message", (event) => {
        if (echo) stream.send(event.data)
        counter.bytes += event.data.byteLength
        if (counter.bytes >= counter.target) counter.done.resolve()
      })
    })
    return { a, b }
  }
  return {
    name: "js-libp2p (TCP + Noise + yamux)",
    open: async (): Promise<Pair> => {
      const { a, b } = await make()
      const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL)
      let back = 0
      let backTarget = 0
      let backDone = deferred()
      stream.addEventListener("message", (event) => {
        back += event.data.byteLength
        if (back >= backTarget) backDone.resolve()
      })
      return {
        blast: async (count, size) => {
          echo = false
          counter.bytes = 0
          counter.target = count * size
          counter.done = deferred()
          const message = new Uint8Array(size).fill(7)
          for (let i = 0; i < count; i++) {
            if (!stream.send(message)) await stream.onDrain()
          }
          await counter.done.promise
        },
        roundTrip: async (size) => {
          echo = true
          counter.bytes = 0
          counter.target = size
          counter.done = deferred()
          back = 0
          backTarget = size
          backDone = deferred()
          stream.send(new Uint8Array(size).fill(1))
          await backDone.promise
        },
        close: async () => {
          await Promise.all([a.stop(), b.stop()])
        }
      }
    },
    connectOnce: async () => {
      const { a, b } = await make()
      echo = false
      counter.bytes = 0
      counter.target = 100
      counter.done = deferred()
      const start = performance.now()
      const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL)
      stream.send(new Uint8Array(100))
      await counter.done.promise
      const ms = performance.now() - start
      await Promise.all([a.stop(), b.stop()])
      return ms
    },
    dispose: async () => {
      await Promise.all(nodes.map((n) => n.stop()))
      nodes = []
    }
  }
}
