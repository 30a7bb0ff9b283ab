/**
 * How bytes reach other nodes. The runtime depends only on this port: TCP in production,
 * {@link MemoryTransport} under TestClock in tests and for bot authors' simulations.
 *
 * @since 2.0.0
 */
import { Context, Effect, FiberSet, Layer } from "effect"
import type { Scope } from "effect"
import * as Net from "node:net"
import * as Os from "node:os"
import { TransportError } from "../domain/Errors.js"
import type { ByteStream } from "../protocol/ByteStream.js"
import * as NodeStream from "../protocol/NodeStream.js"

/**
 * @since 2.0.0
 * @category models
 */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/**
 * The first non-internal IPv4 address of this machine (127.0.0.1 if there is none): where a
 * contact code says to reach us when no host is given.
 *
 * @since 2.1.0
 * @category utils
 */
export const lanAddress = (): string => {
  for (const addresses of Object.values(Os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address
  }
  return "127.0.0.1"
}

/**
 * @since 2.0.0
 * @category models
 */
export interface TransportShape {
  readonly connect: (host: string, port: number) => Effect.Effect<ByteStream, TransportError>
  /**
   * Listens until the scope closes. Each accepted stream runs `handler` in its own fiber; the
   * handler owns the stream (closes it, or hands it on).
   */
  readonly listen: (
    address: ListenAddress,
    handler: (stream: ByteStream) => Effect.Effect<void>
  ) => Effect.Effect<ListenAddress, TransportError, Scope.Scope>
}

/**
 * @since 2.0.0
 * @category services
 */
export class Transport extends Context.Tag("jarvis/Transport")<Transport, TransportShape>() {}

const listenTcp = (address: ListenAddress, handler: (stream: ByteStream) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const server = yield* Effect.acquireRelease(
      Effect.async<Net.Server, TransportError>((resume) => {
        const server = Net.createServer({ noDelay: true }, (socket) => {
          run(handler(NodeStream.fromSocket(socket)))
        })
        server.once(
          "error",
          (error) =>
            resume(
              Effect.fail(
                new TransportError({
                  reason: "Connect",
                  detail: `listen ${address.host}:${address.port}: ${error.message}`
                })
              )
            )
        )
        server.listen({ host: address.host, port: address.port }, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.sync(() => {
          server.close()
        })
    )
    server.on("error", () => {})
    const bound = server.address() as Net.AddressInfo
    return { host: bound.address, port: bound.port }
  })

/**
 * TCP via `node:net`.
 *
 * @since 2.0.0
 * @category layers
 */
export const layerTcp: Layer.Layer<Transport> = Layer.succeed(Transport, {
  connect: NodeStream.connect,
  listen: listenTcp
})
