/**
 * One daemon per data directory: an exclusively created lock file holding the owner's PID. A lock
 * whose PID no longer runs is stale and is taken over.
 *
 * @since 2.0.0
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import * as Fs from "node:fs"

/**
 * @since 2.0.0
 * @category errors
 */
export class AlreadyRunning extends Data.TaggedError("AlreadyRunning")<{ readonly pid: number }> {
  override get message() {
    return `Another daemon (pid ${this.pid}) is running for this data directory`
  }
}

/**
 * @since 2.0.0
 * @category queries
 */
export const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * @since 2.0.0
 * @category queries
 */
export const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(Fs.readFileSync(file, "utf8").trim(), 10)
    return Number.isInteger(pid) ? pid : undefined
  } catch {
    return undefined
  }
}

/** Locks this process holds: its own PID in a lock file does not make that lock stale. */
const held = new Set<string>()

const tryCreate = (file: string): boolean => {
  try {
    Fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 })
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
    throw error
  }
}

/**
 * Holds the lock for the scope's lifetime.
 *
 * @since 2.0.0
 * @category constructors
 */
export const acquire = (file: string): Effect.Effect<void, AlreadyRunning, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (held.has(file)) return Effect.fail(new AlreadyRunning({ pid: process.pid }))
        if (tryCreate(file)) {
          held.add(file)
          return Effect.void
        }
        const owner = readPid(file)
        if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
          return Effect.fail(new AlreadyRunning({ pid: owner }))
        }
        Fs.rmSync(file, { force: true })
      }
      return Effect.fail(new AlreadyRunning({ pid: readPid(file) ?? 0 }))
    }),
    () =>
      Effect.sync(() => {
        held.delete(file)
        if (readPid(file) === process.pid) Fs.rmSync(file, { force: true })
      })
  )
