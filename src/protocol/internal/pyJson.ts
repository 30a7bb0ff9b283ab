/**
 * JSON text exactly as Python's `json.dumps` writes it with default options (`", "` and `": "`
 * separators, `ensure_ascii`), or `json.dump(..., indent=n)`. The original hashes, encodes and
 * frames these bytes, so link codes and v1 frames must match byte for byte.
 */

export type PyJsonValue =
  | string
  | number
  | boolean
  | null
  | ReadonlyArray<PyJsonValue>
  | { readonly [key: string]: PyJsonValue | undefined }

const ESCAPES: Record<string, string> = {
  "\"": "\\\"",
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f"
}

const escapeString = (s: string): string =>
  "\"" +
  s.replace(/[\\"]|[^ -~]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) +
  "\""

export const pyJson = (value: PyJsonValue, indent?: number): string => write(value, indent, 0)

const write = (value: PyJsonValue, indent: number | undefined, depth: number): string => {
  if (value === null) return "null"
  if (typeof value === "string") return escapeString(value)
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("pyJson: non-finite number")
    return Number.isInteger(value) ? value.toFixed(0) : String(value)
  }
  const entries: Array<string> = []
  const isArray = Array.isArray(value)
  if (isArray) {
    for (const item of value as ReadonlyArray<PyJsonValue>) entries.push(write(item, indent, depth + 1))
  } else {
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) entries.push(`${escapeString(key)}: ${write(item, indent, depth + 1)}`)
    }
  }
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"]
  if (entries.length === 0) return open + close
  if (indent === undefined) return open + entries.join(", ") + close
  const inner = "\n" + " ".repeat(indent * (depth + 1))
  return open + inner + entries.join("," + inner) + "\n" + " ".repeat(indent * depth) + close
}
