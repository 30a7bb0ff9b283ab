/**
 * The daemon's IPC endpoint: an `@effect/rpc` server Protocol speaking line-delimited JSON-RPC 2.0
 * over a Unix socket (0600, in a 0700 directory) or, on Windows, loopback TCP where the first
 * request must present the token from the data directory.
 *
 * Each client is a session: lines are parsed and validated here, so malformed JSON, unknown
 * methods and bad params get a JSON-RPC error and the connection stays usable. Replies are
 * handed to the socket without waiting; a client whose unread replies pass `maxBuffered` has its
 * event streams ended with a typed `EventsOverflow` (it resubscribes from its cursor), and one
 * past `maxBuffered × 4` is disconnected. No client can make the daemon or another client wait.
 *
 * @since 2.0.0
 */
import { RpcServer } from "@effect/rpc"
import type { FromServerEncoded } from "@effect/rpc/RpcMessage"
import { Cause, Context, Effect, Either, FiberSet, Layer, Mailbox, Option, ParseResult, Schema } from "effect"
import { timingSafeEqual } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { ApiError, JarvisApi } from "../domain/Api.js"
import * as ApiSchema from "../protocol/ApiSchema.js"
import * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * @since 2.0.0
 * @category models
 */
export type IpcEndpoint =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly port: number; readonly token: string }

/**
 * @since 2.0.0
 * @category models
 */
export interface IpcServerOptions {
  readonly endpoint: IpcEndpoint
  /** Longest request line accepted (default 1 MiB). */
  readonly maxLine?: number | undefined
  /** Unread reply bytes per client before its streams are ended (default 8 MiB). */
  readonly maxBuffered?: number | undefined
}

/**
 * Where the server listens once bound (the TCP port when 0 was asked for).
 *
 * @since 2.0.0
 * @category services
 */
export class IpcAddress extends Context.Tag("jarvis/IpcAddress")<IpcAddress, IpcEndpoint>() {}

interface Pending {
  readonly id: JsonRpc.Id
  readonly stream: boolean
  lastCursor: number | undefined
  overflowed: boolean
}

interface Client {
  readonly id: number
  readonly socket: Net.Socket
  readonly pending: Map<string, Pending>
  authenticated: boolean
  nextRequest: number
}

const methods = JarvisApi.requests
const decodeError = Schema.decodeUnknownOption(ApiError)

const failureOf = (
  cause: Schema.CauseEncoded<unknown, unknown>
): { readonly error?: unknown; readonly defect?: unknown } => {
  switch (cause._tag) {
    case "Fail":
      return { error: cause.error }
    case "Die":
      return { defect: cause.defect }
    case "Sequential":
    case "Parallel": {
      const left = failureOf(cause.left)
      return left.error !== undefined ? left : failureOf(cause.right)
    }
    default:
      return {}
  }
}

const isInterruptOnly = (cause: Schema.CauseEncoded<unknown, unknown>): boolean =>
  cause._tag === "Interrupt" ||
  ((cause._tag === "Sequential" || cause._tag === "Parallel") && isInterruptOnly(cause.left) &&
    isInterruptOnly(cause.right))

/** A typed failure as a JSON-RPC error: its code, its own message, and the error itself as data. */
const errorObject = (encoded: unknown): JsonRpc.ErrorObject => {
  const decoded = decodeError(encoded)
  if (Option.isNone(decoded)) return { code: JsonRpc.ErrorCode.InternalError, message: "Internal error", data: encoded }
  return { code: JsonRpc.codeOf(decoded.value._tag), message: decoded.value.message, data: encoded }
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (options: IpcServerOptions) =>
  Effect.gen(function*() {
    const maxLine = options.maxLine ?? 1024 * 1024
    const maxBuffered = options.maxBuffered ?? 8 * 1024 * 1024
    const disconnects = yield* Mailbox.make<number>()
    const clients = new Map<number, Client>()
    const run = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    let nextClient = 0
    const onConnectionRef: { current: ((socket: Net.Socket) => void) | undefined } = { current: undefined }

    // Responses produced in the same turn of the event loop leave in one write (one syscall).
    const write = (client: Client, text: string) => {
      if (client.socket.destroyed) return
      if (client.socket.writableCorked === 0) {
        client.socket.cork()
        process.nextTick(() => client.socket.uncork())
      }
      client.socket.write(text)
      if (client.socket.writableLength > maxBuffered * 4) client.socket.destroy()
    }

    const protocol = yield* RpcServer.Protocol.make((writeRequest) =>
      Effect.sync(() => {
        const onLine = (client: Client, line: string) => {
          let json: unknown
          try {
            json = JSON.parse(line)
          } catch (cause) {
            return write(
              client,
              JsonRpc.error(null, {
                code: JsonRpc.ErrorCode.ParseError,
                message: `Parse error: ${(cause as Error).message}`
              })
            )
          }
          if (Array.isArray(json)) {
            return write(
              client,
              JsonRpc.error(null, {
                code: JsonRpc.ErrorCode.InvalidRequest,
                message: "Batch requests are not supported: send one request per line"
              })
            )
          }
          const parsed = Schema.decodeUnknownEither(JsonRpc.Request)(json)
          if (Either.isLeft(parsed)) {
            const id = typeof json === "object" && json !== null && "id" in json
              ? (json as { id: JsonRpc.Id }).id
              : null
            return write(
              client,
              JsonRpc.error(typeof id === "string" || typeof id === "number" ? id : null, {
                code: JsonRpc.ErrorCode.InvalidRequest,
                message: `Invalid request: ${ParseResult.TreeFormatter.formatErrorSync(parsed.left)}`
              })
            )
          }
          const { id, method, params } = parsed.right
          if (id === undefined || id === null) {
            return write(
              client,
              JsonRpc.error(null, { code: JsonRpc.ErrorCode.InvalidRequest, message: "Every request needs an id" })
            )
          }
          if (!client.authenticated) {
            const token = typeof params === "object" && params !== null
              ? (params as { token?: unknown }).token
              : undefined
            const expected = options.endpoint._tag === "Tcp" ? Buffer.from(options.endpoint.token) : Buffer.alloc(0)
            if (
              method === "auth" && typeof token === "string" && token.length === expected.length &&
              timingSafeEqual(Buffer.from(token), expected)
            ) {
              client.authenticated = true
              return write(client, JsonRpc.result(id, { authenticated: true }))
            }
            write(
              client,
              JsonRpc.error(id, {
                code: JsonRpc.ErrorCode.Unauthorized,
                message: "Unauthorized: send auth {token} first"
              })
            )
            return client.socket.end()
          }
          if (method === "rpc.discover") return write(client, JsonRpc.result(id, ApiSchema.openRpc()))
          if (method === JsonRpc.CANCEL) {
            const target = typeof params === "object" && params !== null ? (params as { id?: unknown }).id : undefined
            for (const [requestId, pending] of client.pending) {
              if (pending.id !== target) continue
              run(writeRequest(client.id, { _tag: "Interrupt", requestId }))
            }
            return write(client, JsonRpc.result(id, null))
          }
          const rpc = methods.get(method)
          if (rpc === undefined) {
            return write(
              client,
              JsonRpc.error(id, { code: JsonRpc.ErrorCode.MethodNotFound, message: `Method not found: ${method}` })
            )
          }
          const payload = params ?? {}
          // Unknown fields are rejected, so a misspelt parameter is an error rather than ignored.
          const valid = Schema.decodeUnknownEither(rpc.payloadSchema as Schema.Schema<unknown, unknown>)(payload, {
            onExcessProperty: "error"
          })
          if (Either.isLeft(valid)) {
            return write(
              client,
              JsonRpc.error(id, {
                code: JsonRpc.ErrorCode.InvalidParams,
                message: `Invalid params for ${method}: ${ParseResult.TreeFormatter.formatErrorSync(valid.left)}`
              })
            )
          }
          const requestId = String(client.nextRequest++)
          client.pending.set(requestId, {
            id,
            stream: ApiSchema.isStream(rpc),
            lastCursor: undefined,
            overflowed: false
          })
          run(writeRequest(client.id, { _tag: "Request", id: requestId, tag: method, payload, headers: [] }))
        }

        const onConnection = (socket: Net.Socket) => {
          const client: Client = {
            id: nextClient++,
            socket,
            pending: new Map(),
            authenticated: options.endpoint._tag === "Unix",
            nextRequest: 0
          }
          clients.set(client.id, client)
          const reader = new JsonRpc.LineReader(maxLine)
          socket.on("data", (chunk: Buffer) => {
            const { lines, oversized } = reader.push(chunk)
            for (let i = 0; i < oversized; i++) {
              write(
                client,
                JsonRpc.error(null, {
                  code: JsonRpc.ErrorCode.InvalidRequest,
                  message: `Request line longer than ${maxLine} bytes; it was discarded`
                })
              )
            }
            for (const line of lines) onLine(client, line)
          })
          socket.on("error", () => {})
          socket.on("close", () => {
            if (!clients.delete(client.id)) return
            run(disconnects.offer(client.id))
          })
        }
        onConnectionRef.current = onConnection

        const send = (clientId: number, response: FromServerEncoded): Effect.Effect<void> =>
          Effect.sync(() => {
            const client = clients.get(clientId)
            if (client === undefined) return
            switch (response._tag) {
              case "Chunk": {
                const pending = client.pending.get(response.requestId)
                if (pending === undefined || pending.overflowed) return
                if (client.socket.writableLength > maxBuffered) {
                  pending.overflowed = true
                  write(
                    client,
                    JsonRpc.error(
                      pending.id,
                      errorObject({ _tag: "EventsOverflow", resumeFrom: pending.lastCursor ?? 0 })
                    )
                  )
                  run(writeRequest(clientId, { _tag: "Interrupt", requestId: response.requestId }))
                  return
                }
                for (const value of response.values) {
                  const cursor = (value as { readonly cursor?: unknown }).cursor
                  if (typeof cursor === "number") pending.lastCursor = cursor
                }
                return write(client, JsonRpc.streamItems(pending.id, response.values))
              }
              case "Exit": {
                const pending = client.pending.get(response.requestId)
                client.pending.delete(response.requestId)
                if (pending === undefined || pending.overflowed) return
                const exit = response.exit
                if (exit._tag === "Success") return write(client, JsonRpc.result(pending.id, exit.value))
                if (isInterruptOnly(exit.cause)) return
                const failure = failureOf(exit.cause)
                if (failure.error !== undefined) {
                  return write(client, JsonRpc.error(pending.id, errorObject(failure.error)))
                }
                return write(
                  client,
                  JsonRpc.error(pending.id, {
                    code: JsonRpc.ErrorCode.InternalError,
                    message: `Internal error: ${
                      typeof failure.defect === "string" ? failure.defect : "see the daemon log"
                    }`
                  })
                )
              }
              case "Defect":
                return write(
                  client,
                  JsonRpc.error(null, { code: JsonRpc.ErrorCode.InternalError, message: "Internal error" })
                )
              default:
                return
            }
          })

        return {
          disconnects,
          send,
          end: (clientId) => Effect.sync(() => clients.get(clientId)?.socket.end()),
          clientIds: Effect.sync(() => new Set(clients.keys())),
          initialMessage: Effect.succeedNone,
          supportsAck: false,
          supportsTransferables: false,
          supportsSpanPropagation: false
        }
      })
    )

    const address = yield* listen(options.endpoint, (socket) => onConnectionRef.current?.(socket))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const client of clients.values()) client.socket.end()
      })
    )
    return { protocol, address }
  })

const listen = (endpoint: IpcEndpoint, onConnection: (socket: Net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<readonly [Net.Server, IpcEndpoint], Error>((resume) => {
      const server = Net.createServer({ noDelay: true }, onConnection)
      server.once("error", (error) => resume(Effect.fail(error)))
      if (endpoint._tag === "Unix") {
        Fs.mkdirSync(Path.dirname(endpoint.path), { recursive: true, mode: 0o700 })
        Fs.rmSync(endpoint.path, { force: true })
        const previous = process.umask(0o177)
        server.listen(endpoint.path, () => {
          process.umask(previous)
          Fs.chmodSync(endpoint.path, 0o600)
          resume(Effect.succeed([server, endpoint] as const))
        })
      } else {
        server.listen({ host: "127.0.0.1", port: endpoint.port }, () =>
          resume(Effect.succeed([server, { ...endpoint, port: (server.address() as Net.AddressInfo).port }] as const)))
      }
    }),
    ([server, endpoint]) =>
      Effect.sync(() => {
        server.close()
        if (endpoint._tag === "Unix") {
          Fs.rmSync(endpoint.path, { force: true })
        }
      })
  ).pipe(
    Effect.map(([, bound]) =>
      bound
    ),
    Effect.mapError((cause) => Cause.fail(cause)),
    Effect.orDieWith((cause) => new Error(`cannot listen for IPC: ${Cause.pretty(cause)}`))
  )

/**
 * The RpcServer Protocol and the bound address.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (options: IpcServerOptions): Layer.Layer<RpcServer.Protocol | IpcAddress> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ address, protocol }) =>
      Context.make(RpcServer.Protocol, protocol).pipe(Context.add(IpcAddress, address)))
  )
