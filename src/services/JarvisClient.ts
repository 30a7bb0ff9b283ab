/**
 * The typed IPC client: `@effect/rpc`'s RpcClient for the JarvisApi group over the daemon's
 * line-delimited JSON-RPC (Unix socket, or loopback TCP with the token on Windows). Typed errors
 * come back as the same Schema classes the daemon failed with.
 *
 * @since 2.0.0
 */
import { RpcClient } from "@effect/rpc"
import { RpcClientError } from "@effect/rpc/RpcClientError"
import type { FromClientEncoded } from "@effect/rpc/RpcMessage"
import { Context, Data, Effect, FiberSet, Layer } from "effect"
import type { Scope } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Paths from "../daemon/Paths.js"
import { JarvisApi } from "../domain/Api.js"
import * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * Where the daemon listens.
 *
 * @since 2.0.0
 * @category models
 */
export type Endpoint =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly port: number; readonly token: string }

/**
 * @since 2.0.0
 * @category errors
 */
export class DaemonNotRunning extends Data.TaggedError("DaemonNotRunning")<{ readonly detail: string }> {
  override get message() {
    return `The daemon is not running (${this.detail}): start it with \`jarvis daemon start\``
  }
}

/**
 * The endpoint the daemon of `dataDir` listens on (reading its port and token files when IPC runs
 * over loopback TCP, as on Windows).
 *
 * @since 2.0.0
 * @category endpoints
 */
export const endpointOf = (dataDir: string): Effect.Effect<Endpoint, DaemonNotRunning> =>
  Effect.suspend((): Effect.Effect<Endpoint, DaemonNotRunning> => {
    const paths = Paths.make(dataDir)
    if (Paths.ipcTransport() === "unix") return Effect.succeed({ _tag: "Unix", path: paths.socket } as const)
    try {
      const port = Number.parseInt(Fs.readFileSync(paths.port, "utf8").trim(), 10)
      const token = Fs.readFileSync(paths.token, "utf8").trim()
      return Effect.succeed({ _tag: "Tcp", port, token } as const)
    } catch {
      return Effect.fail(new DaemonNotRunning({ detail: "no port file" }))
    }
  })

const connect = (endpoint: Endpoint) =>
  Effect.async<Net.Socket, DaemonNotRunning>((resume) => {
    const socket = endpoint._tag === "Unix"
      ? Net.connect({ path: endpoint.path })
      : Net.connect({ host: "127.0.0.1", port: endpoint.port })
    const onError = (error: Error) => resume(Effect.fail(new DaemonNotRunning({ detail: error.message })))
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      socket.setNoDelay(true)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

const protocolError = (message: string) =>
  ({ _tag: "ClientProtocolError", error: new RpcClientError({ reason: "Protocol", message }) }) as const

/**
 * @since 2.0.0
 * @category constructors
 */
export const makeProtocol = (
  endpoint: Endpoint
): Effect.Effect<RpcClient.Protocol["Type"], DaemonNotRunning, Scope.Scope> =>
  Effect.gen(function*() {
    const socket = yield* Effect.acquireRelease(connect(endpoint), (s) => Effect.sync(() => s.destroy()))
    if (endpoint._tag === "Tcp") socket.write(JsonRpc.request("auth", "auth", { token: endpoint.token }))
    return yield* RpcClient.Protocol.make((writeResponse) =>
      Effect.gen(function*() {
        const run = yield* FiberSet.makeRuntime<never>()
        const deliver = (response: Parameters<typeof writeResponse>[0]) => run(writeResponse(response))
        const reader = new JsonRpc.LineReader(64 * 1024 * 1024)
        socket.on("data", (chunk: Buffer) => {
          for (const line of reader.push(chunk).lines) {
            let message: {
              readonly id?: JsonRpc.Id
              readonly method?: string
              readonly params?: { readonly id: JsonRpc.Id; readonly items: ReadonlyArray<unknown> }
              readonly result?: unknown
              readonly error?: JsonRpc.ErrorObject
            }
            try {
              message = JSON.parse(line)
            } catch {
              deliver(protocolError("the daemon sent invalid JSON"))
              continue
            }
            // The answers to our own auth and cancel requests are not RPC results.
            if (typeof message.id === "string" && message.id.startsWith("cancel-")) continue
            if (message.id === "auth") {
              if (message.error !== undefined) deliver(protocolError(message.error.message))
              continue
            }
            if (message.method === "stream" && message.params !== undefined && message.params.items.length > 0) {
              deliver({
                _tag: "Chunk",
                requestId: String(message.params.id),
                values: message.params.items as [unknown, ...Array<unknown>]
              })
            } else if (message.error !== undefined) {
              const data = message.error.data as { readonly _tag?: unknown } | undefined
              if (message.id === null || message.id === undefined) {
                deliver(protocolError(message.error.message))
                continue
              }
              deliver({
                _tag: "Exit",
                requestId: String(message.id),
                exit: {
                  _tag: "Failure",
                  cause: typeof data?._tag === "string"
                    ? { _tag: "Fail", error: data }
                    : { _tag: "Die", defect: message.error.message }
                }
              })
            } else if (message.id !== undefined && message.id !== null) {
              deliver({ _tag: "Exit", requestId: String(message.id), exit: { _tag: "Success", value: message.result } })
            }
          }
        })
        // A reset is followed by "close", which fails whatever is outstanding.
        socket.on("error", () => {})
        socket.on("close", () => deliver(protocolError("the daemon closed the connection")))
        const send = (request: FromClientEncoded) =>
          Effect.sync(() => {
            switch (request._tag) {
              case "Request":
                socket.write(JsonRpc.request(request.id, request.tag, request.payload))
                return
              case "Interrupt":
                socket.write(JsonRpc.request(`cancel-${request.requestId}`, JsonRpc.CANCEL, { id: request.requestId }))
                return
              default:
                return
            }
          })
        return { send, supportsAck: false, supportsTransferables: false }
      })
    )
  })

/**
 * @since 2.0.0
 * @category services
 */
export class JarvisClient extends Context.Tag("jarvis/JarvisClient")<
  JarvisClient,
  RpcClient.FromGroup<typeof JarvisApi, RpcClientError>
>() {
  static readonly layer = (endpoint: Endpoint): Layer.Layer<JarvisClient, DaemonNotRunning> =>
    Layer.scoped(
      JarvisClient,
      Effect.flatMap(makeProtocol(endpoint), (protocol) =>
        RpcClient.make(JarvisApi, { disableTracing: true }).pipe(Effect.provideService(RpcClient.Protocol, protocol)))
    )

  /**
   * A client for the daemon of `dataDir` (default: `$JARVIS_HOME`, else the platform's data
   * directory), the way the `jarvis` CLI finds it.
   */
  static readonly layerDataDir = (
    dataDir: string = Paths.defaultDataDir()
  ): Layer.Layer<JarvisClient, DaemonNotRunning> =>
    Layer.unwrapEffect(Effect.map(endpointOf(dataDir), JarvisClient.layer))
}
