/**
 * An in-memory network for deterministic tests (TestClock drives every timer, nothing touches
 * the OS) and for bot authors who want to simulate peers: listeners by address, plus faults —
 * a node that is down, a crash that cuts its connections, a silent peer that swallows traffic.
 *
 * @since 2.0.0
 */
import { Context, Effect, FiberSet, Layer } from "effect"
import { TransportError } from "../domain/Errors.js"
import type { ByteStream } from "../protocol/ByteStream.js"
import { memoryPair } from "../protocol/ByteStream.js"
import type { ListenAddress, TransportShape } from "./Transport.js"
import { Transport } from "./Transport.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface MemoryNetworkShape {
  readonly transport: TransportShape
  /** Refuse new connections to `address` (the node is offline). */
  readonly setDown: (address: string, down: boolean) => Effect.Effect<void>
  /** Close every open connection to `address` (the node crashed). */
  readonly cut: (address: string) => Effect.Effect<void>
  /** Silently drop all traffic of connections to `address`, existing and new (a frozen peer). */
  readonly setSilent: (address: string, silent: boolean) => Effect.Effect<void>
  /** Number of connections accepted by `address` so far. */
  readonly accepted: (address: string) => Effect.Effect<number>
  /** Connections to `address` that neither end has closed. */
  readonly openConnections: (address: string) => Effect.Effect<number>
}

/**
 * @since 2.0.0
 * @category services
 */
export class MemoryNetwork extends Context.Tag("jarvis/MemoryNetwork")<MemoryNetwork, MemoryNetworkShape>() {}

interface Listener {
  readonly handler: (stream: ByteStream) => Effect.Effect<void>
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => unknown
  accepted: number
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const listeners = new Map<string, Listener>()
  const open = new Map<string, Set<readonly [ByteStream, ByteStream]>>()
  const down = new Set<string>()
  const silent = new Set<string>()
  let nextPort = 40000

  const track = (address: string, pair: readonly [ByteStream, ByteStream]) => {
    const connections = open.get(address) ?? new Set()
    open.set(address, connections)
    connections.add(pair)
    const wrap = (stream: ByteStream): ByteStream => ({
      ...stream,
      writeNow: (chunks) => (silent.has(address) ? undefined : stream.writeNow(chunks)),
      close: Effect.zipRight(Effect.sync(() => connections.delete(pair)), stream.close)
    })
    return [wrap(pair[0]), wrap(pair[1])] as const
  }

  const transport: TransportShape = {
    connect: (host, port) =>
      Effect.gen(function*() {
        const address = `${host}:${port}`
        const listener = listeners.get(address)
        if (listener === undefined || down.has(address)) {
          return yield* new TransportError({ reason: "Connect", detail: `${address}: connection refused` })
        }
        const [client, server] = track(address, yield* memoryPair())
        listener.accepted++
        listener.run(listener.handler(server))
        return client
      }),
    listen: (address: ListenAddress, handler) =>
      Effect.gen(function*() {
        const port = address.port === 0 ? nextPort++ : address.port
        const key = `${address.host}:${port}`
        if (listeners.has(key)) {
          return yield* new TransportError({ reason: "Connect", detail: `${key}: address in use` })
        }
        const run = yield* FiberSet.makeRuntime<never, unknown, unknown>()
        yield* Effect.acquireRelease(
          Effect.sync(() => listeners.set(key, { handler, run, accepted: 0 })),
          () => Effect.sync(() => listeners.delete(key))
        )
        return { host: address.host, port }
      })
  }

  const cut = (address: string) =>
    Effect.suspend(() => {
      const connections = [...(open.get(address) ?? [])]
      open.delete(address)
      return Effect.forEach(connections, ([client]) => client.close, { discard: true })
    })

  return MemoryNetwork.of({
    transport,
    setDown: (address, isDown) => Effect.sync(() => (isDown ? down.add(address) : down.delete(address))),
    cut,
    setSilent: (address, isSilent) => Effect.sync(() => (isSilent ? silent.add(address) : silent.delete(address))),
    accepted: (address) => Effect.sync(() => listeners.get(address)?.accepted ?? 0),
    openConnections: (address) => Effect.sync(() => open.get(address)?.size ?? 0)
  })
})

/**
 * A fresh network.
 *
 * @since 2.0.0
 * @category layers
 */
export const layerNetwork: Layer.Layer<MemoryNetwork> = Layer.effect(MemoryNetwork, make)

/**
 * The transport of the network in context.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer: Layer.Layer<Transport, never, MemoryNetwork> = Layer.effect(
  Transport,
  Effect.map(MemoryNetwork, (network) => network.transport)
)
