/**
 * The daemon's log: logfmt lines appended to `logs/daemon.log` (0600), rotated at 5 MiB keeping
 * three old files.
 *
 * @since 2.0.0
 */
import { Effect, Layer, Logger } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"

const formatter = Logger.logfmtLogger

/**
 * @since 2.0.0
 * @category loggers
 */
export const make = (file: string, maxBytes = 5 * 1024 * 1024, keep = 3) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true, mode: 0o700 })
  let size = Fs.existsSync(file) ? Fs.statSync(file).size : 0
  const rotate = () => {
    for (let i = keep - 1; i >= 1; i--) {
      if (Fs.existsSync(`${file}.${i}`)) Fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`)
    }
    if (Fs.existsSync(file)) Fs.renameSync(file, `${file}.1`)
    size = 0
  }
  return Logger.make((options) => {
    const line = formatter.log(options) + "\n"
    try {
      if (size + line.length > maxBytes) rotate()
      Fs.appendFileSync(file, line, { mode: 0o600 })
      size += line.length
    } catch {
      // A full disk must not take the daemon down; the message is lost.
    }
  })
}

/**
 * Replaces the default logger with the file (and keeps stderr too when `alsoStderr`).
 *
 * @since 2.0.0
 * @category layers
 */
export const layer = (file: string, alsoStderr: boolean): Layer.Layer<never> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const toFile = make(file)
      return alsoStderr
        ? Logger.replace(Logger.defaultLogger, Logger.zip(toFile, Logger.withConsoleError(Logger.logfmtLogger)))
        : Logger.replace(Logger.defaultLogger, toFile)
    })
  )
