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
import { Headers } from "@effect/platform"
import type { Rpc, RpcGroup } from "@effect/rpc"
import * as RpcSchema from "@effect/rpc/RpcSchema"
import type { Fiber } from "effect"
import {
  Cause,
  Chunk,
  Context,
  Effect,
  Either,
  Exit,
  FiberSet,
  Layer,
  Option,
  ParseResult,
  Schema,
  SchemaAST,
  Stream
} from "effect"
import { timingSafeEqual } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { ApiError, EventsOverflow, JarvisApi } from "../domain/Api.js"
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

type Rpcs = RpcGroup.Rpcs<typeof JarvisApi>

interface Pending {
  readonly id: JsonRpc.Id
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  lastCursor: number | undefined
  /**
   * Nothing more is sent for it: cancelled, its client gone, or already answered (an overflow, or
   * an item that could not be encoded).
   */
  closed: boolean
}

interface Client {
  readonly socket: Net.Socket
  readonly pending: Set<Pending>
  authenticated: boolean
}

/**
 * One method's synchronous codecs, built once: params are decoded here (unknown fields are
 * errors) and handed to the handler already decoded; results and stream items are encoded here,
 * so a request crosses Schema once each way.
 */
interface Codec {
  readonly stream: boolean
  readonly decodePayload: (params: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeSuccess: (value: unknown) => unknown
  readonly encodeItems: (values: ReadonlyArray<unknown>) => ReadonlyArray<unknown>
}

/** The params of a method that takes none: an empty object (absent params count as one). */
const noParams = Schema.Record({ key: Schema.String, value: Schema.Never })

const codecs = new Map<string, Codec>()
for (const [tag, rpc] of JarvisApi.requests) {
  const rpcWithProps = rpc as unknown as Rpc.AnyWithProps
  const streamSchemas = RpcSchema.getStreamSchemas(rpcWithProps.successSchema.ast)
  // A method without params takes none (`{}` or nothing): a stray field is an error, as for the others.
  const payloadSchema = SchemaAST.isVoidKeyword(rpcWithProps.payloadSchema.ast)
    ? noParams
    : rpcWithProps.payloadSchema
  const decode = Schema.decodeUnknownEither(payloadSchema as Schema.Schema<unknown, unknown>)
  codecs.set(tag, {
    stream: Option.isSome(streamSchemas),
    decodePayload: (params) => decode(params, { onExcessProperty: "error" }),
    encodeSuccess: Option.isSome(streamSchemas)
      ? () => null
      : Schema.encodeUnknownSync(rpcWithProps.successSchema as Schema.Schema<unknown, unknown>),
    encodeItems: Option.isSome(streamSchemas)
      ? Schema.encodeUnknownSync(Schema.Array(streamSchemas.value.success as Schema.Schema<unknown, unknown>))
      : (values) => values
  })
}

const decodeRequest = Schema.decodeUnknownEither(JsonRpc.Request)
const encodeError = Schema.encodeUnknownEither(ApiError)

/** The OpenRPC document `rpc.discover` answers with, built on first use. */
let discovered: ReturnType<typeof ApiSchema.openRpc> | undefined
const openRpc = () => discovered ??= ApiSchema.openRpc()

/** A typed failure of a handler as a JSON-RPC error. */
const failureObject = (error: unknown): JsonRpc.ErrorObject => {
  const encoded = encodeError(error)
  if (Either.isLeft(encoded)) {
    return { code: JsonRpc.ErrorCode.InternalError, message: "Internal error: an error outside the API" }
  }
  const { _tag, message } = error as ApiError
  return { code: JsonRpc.codeOf(_tag), message, data: encoded.right }
}

/**
 * A method ready to run: its codecs, and a handler whose call runs as a fiber of the server's set,
 * or is already its outcome when the handler returned a finished Effect (`Effect.void`, a value,
 * a failure): then no fiber is started, as Effect's own runners do for such values.
 */
interface Method {
  readonly codec: Codec
  readonly start: (
    payload: unknown,
    emit: (chunk: Chunk.Chunk<unknown>) => Effect.Effect<void>
  ) => Fiber.RuntimeFiber<unknown, unknown> | Exit.Exit<unknown, unknown>
}

const handlerOptions = { clientId: 0, headers: Headers.empty }
const noItems = () => Effect.void

/**
 * @since 2.0.0
 * @category constructors
 */
export const make = (options: IpcServerOptions) =>
  Effect.gen(function*() {
    const maxLine = options.maxLine ?? 1024 * 1024
    const maxBuffered = options.maxBuffered ?? 8 * 1024 * 1024
    const clients = new Set<Client>()
    const fibers = yield* FiberSet.make<unknown, unknown>()
    const runLog = yield* FiberSet.runtime(fibers)<never>()
    const handlers = yield* Effect.context<Rpc.ToHandler<Rpcs>>()

    // Every request runs as one fiber of the server's set, started right here (it runs until its
    // first asynchronous step before `start` returns): no fiber just to hand it over, no
    // per-request scope. Each method's handler context is merged in once, here.
    const methods = new Map<string, Method>()
    for (const [tag, rpc] of JarvisApi.requests) {
      const codec = codecs.get(tag)!
      const entry = handlers.unsafeMap.get(rpc.key) as Rpc.Handler<string>
      const run = yield* FiberSet.runtime(fibers)<never>().pipe(Effect.provide(entry.context))
      // A handler that throws instead of returning is a defect of its request, not of the daemon.
      const start: Method["start"] = codec.stream
        ? (payload, emit) =>
          run(Stream.runForEachChunk(
            Stream.suspend(() => entry.handler(payload, handlerOptions) as Stream.Stream<unknown, unknown>),
            emit
          ))
        : (payload) => {
          let effect: Effect.Effect<unknown, unknown>
          try {
            effect = entry.handler(payload, handlerOptions) as Effect.Effect<unknown, unknown>
          } catch (defect) {
            effect = Effect.die(defect)
          }
          return Exit.isExit(effect) ? effect : run(effect)
        }
      methods.set(tag, { codec, start })
    }

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

    /**
     * Writes `render()`; a value its own Schema cannot encode is a defect, reported as such, and
     * answers the request for good (false).
     */
    const encoded = (client: Client, pending: Pending, render: () => string): boolean => {
      let line: string
      try {
        line = render()
      } catch (defect) {
        pending.closed = true
        write(client, JsonRpc.error(pending.id, { code: JsonRpc.ErrorCode.InternalError, message: "Internal error" }))
        runLog(Effect.logError("cannot encode a response", Cause.die(defect)))
        return false
      }
      write(client, line)
      return true
    }

    /** A stream's items; past `maxBuffered` unread bytes the stream ends with `EventsOverflow`. */
    const emitter = (client: Client, pending: Pending, codec: Codec) => (chunk: Chunk.Chunk<unknown>) =>
      Effect.suspend(() => {
        if (client.socket.writableLength > maxBuffered) {
          pending.closed = true
          const overflow = new EventsOverflow({ resumeFrom: pending.lastCursor ?? 0 })
          write(client, JsonRpc.error(pending.id, failureObject(overflow)))
          return Effect.interrupt
        }
        const values = Chunk.toReadonlyArray(chunk)
        for (const value of values) {
          const cursor = (value as { readonly cursor?: unknown }).cursor
          if (typeof cursor === "number") pending.lastCursor = cursor
        }
        return encoded(client, pending, () => JsonRpc.streamItems(pending.id, codec.encodeItems(values)))
          ? Effect.void
          : Effect.interrupt
      })

    /** A request's outcome: a result, a typed error, or an internal error (logged). */
    const finish = (client: Client, pending: Pending, codec: Codec, exit: Exit.Exit<unknown, unknown>) => {
      client.pending.delete(pending)
      if (pending.closed) return
      if (Exit.isSuccess(exit)) {
        return encoded(client, pending, () => JsonRpc.result(pending.id, codec.encodeSuccess(exit.value)))
      }
      if (Cause.isInterruptedOnly(exit.cause)) {
        // Neither cancelled nor disconnected: the server itself is stopping.
        return write(
          client,
          JsonRpc.error(pending.id, { code: JsonRpc.ErrorCode.InternalError, message: "The daemon is stopping" })
        )
      }
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        return write(client, JsonRpc.error(pending.id, failureObject(failure.value)))
      }
      const defect = Cause.squash(exit.cause)
      write(
        client,
        JsonRpc.error(pending.id, {
          code: JsonRpc.ErrorCode.InternalError,
          message: `Internal error: ${typeof defect === "string" ? defect : "see the daemon log"}`
        })
      )
      runLog(Effect.logError("request failed", exit.cause))
    }

    const interrupt = (pending: Pending) => {
      pending.closed = true
      pending.fiber?.unsafeInterruptAsFork(pending.fiber.id())
    }

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
      const parsed = decodeRequest(json)
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
      if (method === "rpc.discover") {
        return write(client, JsonRpc.result(id, openRpc()))
      }
      if (method === JsonRpc.CANCEL) {
        const target = typeof params === "object" && params !== null ? (params as { id?: unknown }).id : undefined
        for (const pending of client.pending) {
          if (pending.id === target) interrupt(pending)
        }
        return write(client, JsonRpc.result(id, null))
      }
      const handler = methods.get(method)
      if (handler === undefined) {
        return write(
          client,
          JsonRpc.error(id, { code: JsonRpc.ErrorCode.MethodNotFound, message: `Method not found: ${method}` })
        )
      }
      const { codec } = handler
      // Unknown fields are rejected, so a misspelt parameter is an error rather than ignored.
      const payload = codec.decodePayload(params ?? {})
      if (Either.isLeft(payload)) {
        return write(
          client,
          JsonRpc.error(id, {
            code: JsonRpc.ErrorCode.InvalidParams,
            message: `Invalid params for ${method}: ${ParseResult.TreeFormatter.formatErrorSync(payload.left)}`
          })
        )
      }
      // An event stream that overflows before its first item resumes from where it was asked to.
      const from = codec.stream ? (payload.right as { readonly from?: unknown }).from : undefined
      const pending: Pending = {
        id,
        fiber: undefined,
        lastCursor: typeof from === "number" ? from : undefined,
        closed: false
      }
      client.pending.add(pending)
      const fiber = handler.start(payload.right, codec.stream ? emitter(client, pending, codec) : noItems)
      if (Exit.isExit(fiber)) return finish(client, pending, codec, fiber)
      pending.fiber = fiber
      // Called at once when the fiber already finished synchronously.
      fiber.addObserver((exit) => finish(client, pending, codec, exit))
    }

    const onConnection = (socket: Net.Socket) => {
      const client: Client = {
        socket,
        pending: new Set(),
        authenticated: options.endpoint._tag === "Unix"
      }
      clients.add(client)
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
        for (const line of lines) {
          onLine(client, line)
        }
      })
      socket.on("error", () => {})
      socket.on("close", () => {
        if (!clients.delete(client)) {
          return
        }
        // Ends the client's running requests (its event streams).
        for (const pending of client.pending) interrupt(pending)
      })
    }

    const address = yield* listen(options.endpoint, onConnection)
    // Closing: first the running requests are interrupted, so each is answered ("the daemon is
    // stopping"), then the connections end, which flushes those answers.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const client of clients) {
          client.socket.end()
        }
      })
    )
    yield* Effect.addFinalizer(() => FiberSet.clear(fibers))
    return address
  })

/**
 * Creates the socket's directory 0700, or checks an existing one: it must be a real directory of
 * ours that nobody else can enter (the temp-dir fallback for long paths could have been made
 * first by another user, who could then swap the socket and read passwords). Returns a problem.
 */
const ensurePrivateDir = (dir: string): string | undefined => {
  Fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const stat = Fs.lstatSync(dir)
  if (!stat.isDirectory()) return `${dir} is not a directory`
  if (process.getuid !== undefined && stat.uid !== process.getuid()) return `${dir} belongs to another user`
  if ((stat.mode & 0o077) !== 0) Fs.chmodSync(dir, 0o700)
  return undefined
}

const listen = (endpoint: IpcEndpoint, onConnection: (socket: Net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<readonly [Net.Server, IpcEndpoint], Error>((resume) => {
      const server = Net.createServer({ noDelay: true }, onConnection)
      let restoreUmask = () => {}
      server.once("error", (error) => {
        restoreUmask()
        resume(Effect.fail(error))
      })
      if (endpoint._tag === "Unix") {
        const problem = ensurePrivateDir(Path.dirname(endpoint.path))
        if (problem !== undefined) return resume(Effect.fail(new Error(problem)))
        Fs.rmSync(endpoint.path, { force: true })
        const previous = process.umask(0o177)
        restoreUmask = () => process.umask(previous)
        server.listen(endpoint.path, () => {
          restoreUmask()
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
 * The IPC server, serving the API's handlers; provides the bound address.
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (options: IpcServerOptions): Layer.Layer<IpcAddress, never, Rpc.ToHandler<Rpcs>> =>
  Layer.scoped(IpcAddress, make(options))
