/**
 * The IPC wire format: JSON-RPC 2.0, one JSON object per line (UTF-8, `\n`-terminated), so any
 * language can script the daemon with a socket and a JSON parser. Beyond plain JSON-RPC:
 *
 * - a streaming method (`events.subscribe`) answers with notifications
 *   `{"jsonrpc":"2.0","method":"stream","params":{"id":<request id>,"items":[...]}}`
 *   and ends with an ordinary response to its request (result `null`, or an error) — unless the
 *   client cancelled it with `$/cancel`, whose own `null` answer is then the last word;
 * - application errors use codes -32001.. and carry the typed error in `error.data` (`_tag`,
 *   `reason`, ...); see docs/API.md.
 *
 * @since 2.0.0
 */
import { Schema } from "effect"

/**
 * @since 2.0.0
 * @category codes
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Locked: -32001,
  IdentityError: -32002,
  ContactError: -32003,
  ContactCodeError: -32004,
  MailboxFull: -32005,
  InvalidInput: -32006,
  NotConnected: -32007,
  EventsOverflow: -32010,
  Unauthorized: -32011,
  Overloaded: -32012
} as const

/**
 * The JSON-RPC code of a typed error, by its `_tag`.
 *
 * @since 2.0.0
 * @category codes
 */
export const codeOf = (tag: string): number => (ErrorCode as Record<string, number>)[tag] ?? -32000

/**
 * Cancels a running request (an event subscription): params `{"id": <its request id>}`.
 *
 * @since 2.0.0
 * @category methods
 */
export const CANCEL = "$/cancel"

/**
 * @since 2.0.0
 * @category models
 */
export const Request = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  id: Schema.optional(Schema.Union(Schema.String.pipe(Schema.maxLength(128)), Schema.Number, Schema.Null)),
  method: Schema.String.pipe(Schema.maxLength(128)),
  params: Schema.optional(Schema.Unknown)
})
export type Request = typeof Request.Type

/**
 * @since 2.0.0
 * @category models
 */
export type Id = string | number | null

/**
 * @since 2.0.0
 * @category models
 */
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/**
 * @since 2.0.0
 * @category encoding
 */
export const line = (value: unknown): string => JSON.stringify(value) + "\n"

/**
 * @since 2.0.0
 * @category encoding
 */
export const result = (id: Id, value: unknown): string => line({ jsonrpc: "2.0", id, result: value ?? null })

/**
 * @since 2.0.0
 * @category encoding
 */
export const error = (id: Id, error: ErrorObject): string => line({ jsonrpc: "2.0", id, error })

/**
 * @since 2.0.0
 * @category encoding
 */
export const streamItems = (id: Id, items: ReadonlyArray<unknown>): string =>
  line({ jsonrpc: "2.0", method: "stream", params: { id, items } })

/**
 * @since 2.0.0
 * @category encoding
 */
export const request = (id: Id, method: string, params: unknown): string => line({ jsonrpc: "2.0", id, method, params })

/**
 * Splits a byte stream into lines, never buffering more than `maxLine` bytes of one line: the
 * rest of an over-long line is discarded and reported once.
 *
 * @since 2.0.0
 * @category decoding
 */
export class LineReader {
  private parts: Array<Buffer> = []
  private size = 0
  private skipping = false

  constructor(readonly maxLine: number) {}

  /** Complete lines (without the newline), and whether an over-long line was dropped. */
  push(chunk: Uint8Array): { readonly lines: Array<string>; readonly oversized: number } {
    const lines: Array<string> = []
    let oversized = 0
    let start = 0
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    while (start < buffer.length) {
      const newline = buffer.indexOf(10, start)
      const end = newline === -1 ? buffer.length : newline
      if (!this.skipping) {
        if (this.size + (end - start) > this.maxLine) {
          this.skipping = true
          oversized++
          this.parts = []
          this.size = 0
        } else if (end > start) {
          this.parts.push(buffer.subarray(start, end))
          this.size += end - start
        }
      }
      if (newline === -1) break
      if (!this.skipping) {
        const text = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)).toString("utf8").trim()
        if (text.length > 0) lines.push(text)
      }
      this.parts = []
      this.size = 0
      this.skipping = false
      start = newline + 1
    }
    return { lines, oversized }
  }
}
