/**
 * A machine-readable description of the IPC API, generated from the same Schemas the daemon
 * validates with: an OpenRPC 1.3 document (methods with JSON Schemas of params, results and
 * errors) plus the event schema. `jarvis api schema` prints it; `rpc.discover` returns it.
 *
 * @since 2.0.0
 */
import type { Rpc } from "@effect/rpc"
import { RpcSchema } from "@effect/rpc"
import { JSONSchema, Schema, SchemaAST } from "effect"
import { ApiError, JarvisApi } from "../domain/Api.js"
import { EventEnvelope } from "../domain/Events.js"
import { ErrorCode } from "./JsonRpc.js"

/**
 * @since 2.0.0
 * @category models
 */
export const VERSION = "2.0.0"

/**
 * @since 2.0.0
 * @category predicates
 */
export const isStream = (rpc: Rpc.AnyWithProps): boolean =>
  RpcSchema.isStreamSchema(rpc.successSchema as Schema.Schema.All)

const jsonSchema = (schema: Schema.Schema.All): object => {
  if (SchemaAST.isVoidKeyword(schema.ast)) return { type: "object", properties: {} }
  try {
    return JSONSchema.make(schema as Schema.Schema<unknown, unknown>)
  } catch {
    return JSONSchema.make(Schema.encodedSchema(schema as Schema.Schema<unknown, unknown>))
  }
}

const resultSchema = (rpc: Rpc.AnyWithProps): object => {
  if (!isStream(rpc)) return jsonSchema(rpc.successSchema as Schema.Schema.All)
  const streams = RpcSchema.getStreamSchemas(rpc.successSchema.ast)
  return streams._tag === "Some"
    ? {
      description: "streamed as `stream` notifications, then a null result",
      items: jsonSchema(streams.value.success)
    }
    : {}
}

/**
 * @since 2.0.0
 * @category constructors
 */
export const openRpc = () => ({
  openrpc: "1.3.2",
  info: {
    title: "Jarvis daemon IPC API",
    version: VERSION,
    description: "JSON-RPC 2.0, one JSON object per line, over the daemon's Unix socket (see docs/API.md)"
  },
  methods: [...JarvisApi.requests.values()].map((rpc) => ({
    name: rpc._tag,
    paramStructure: "by-name",
    params: [{ name: "params", schema: jsonSchema(rpc.payloadSchema as Schema.Schema.All) }],
    result: { name: "result", schema: resultSchema(rpc) },
    ...(isStream(rpc) ? { "x-stream": true } : {})
  })),
  components: {
    schemas: {
      ApiError: jsonSchema(ApiError),
      EventEnvelope: jsonSchema(EventEnvelope)
    },
    errors: Object.entries(ErrorCode).map(([name, code]) => ({ code, message: name }))
  }
})
