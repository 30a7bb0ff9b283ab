/**
 * Durable replace of a small file: write a sibling temp file with the final mode, fsync it,
 * rename it over the target, then fsync the directory (best effort on platforms without it).
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as Path from "node:path"

export const atomicWrite = (path: string, data: string | Uint8Array, mode = 0o600) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const temp = `${path}.tmp`
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
    yield* Effect.scoped(
      Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "w", mode })
        yield* file.writeAll(bytes)
        yield* file.sync
      })
    )
    yield* fs.chmod(temp, mode)
    yield* fs.rename(temp, path)
    yield* Effect.sync(() => {
      try {
        const fd = NodeFs.openSync(Path.dirname(path), "r")
        try {
          NodeFs.fsyncSync(fd)
        } finally {
          NodeFs.closeSync(fd)
        }
      } catch {
        // Directories cannot be opened for fsync on every platform; the rename is still atomic.
      }
    })
  })
