import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as LogFile from "../src/daemon/LogFile.js"
import { tempDir } from "./support/temp.js"

describe("the daemon log file", () => {
  it.scoped("rotates at the size bound, keeps the newest lines in order in at most keep + 1 files, 0600", () =>
    Effect.gen(function*() {
      const file = Path.join(yield* tempDir(), "logs", "daemon.log")
      const logger = LogFile.make(file, 1_000, 3)
      yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => Effect.logInfo(`line ${i}`),
        { discard: true }
      ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))

      const files = Fs.readdirSync(Path.dirname(file)).sort()
      assert.deepStrictEqual(files, ["daemon.log", "daemon.log.1", "daemon.log.2", "daemon.log.3"])
      const numbers: Array<number> = []
      for (const name of ["daemon.log.3", "daemon.log.2", "daemon.log.1", "daemon.log"]) {
        const path = Path.join(Path.dirname(file), name)
        assert.isAtMost(Fs.statSync(path).size, 1_000)
        assert.strictEqual(Fs.statSync(path).mode & 0o777, 0o600)
        for (const match of Fs.readFileSync(path, "utf8").matchAll(/message="line (\d+)"/g)) {
          numbers.push(Number(match[1]))
        }
      }
      // The newest lines survive, contiguous and in order; the oldest were dropped.
      assert.strictEqual(numbers.at(-1), 199)
      assert.deepStrictEqual(numbers, numbers.map((_, i) => numbers[0]! + i))
      assert.isAbove(numbers[0]!, 0)
    }))
})
