/**
 * How the CLI speaks: human text or `--json`, and documented exit codes for every failure.
 *
 * @since 2.0.0
 */
import { Console, Data, Effect } from "effect"

/**
 * Exit codes (also in docs/CLI.md).
 *
 * @since 2.0.0
 * @category constants
 */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  NotFound: 3,
  DaemonNotRunning: 4,
  Locked: 5,
  PeerUnreachable: 6,
  Identity: 7,
  InvalidInput: 8,
  MailboxFull: 9
} as const

/**
 * @since 2.0.0
 * @category errors
 */
export const exitCodeOf = (error: { readonly _tag?: unknown; readonly reason?: unknown }): number => {
  switch (error._tag) {
    case "DaemonNotRunning":
      return ExitCode.DaemonNotRunning
    case "Locked":
      return ExitCode.Locked
    case "NotConnected":
      return ExitCode.PeerUnreachable
    case "IdentityError":
      return ExitCode.Identity
    case "ContactError":
      return error.reason === "NotFound" ? ExitCode.NotFound : ExitCode.InvalidInput
    case "ContactCodeError":
    case "InvalidInput":
    case "UsageError":
      return error._tag === "UsageError" ? ExitCode.Usage : ExitCode.InvalidInput
    case "MailboxFull":
      return ExitCode.MailboxFull
    default:
      return ExitCode.Error
  }
}

/**
 * Prints `value` as JSON, or `human()` as text.
 *
 * @since 2.0.0
 * @category output
 */
export const emit = (json: boolean, value: unknown, human: () => string) =>
  json
    ? Console.log(JSON.stringify(value))
    : Effect.flatMap(Effect.sync(human), (text) => (text === "" ? Effect.void : Console.log(text)))

/**
 * @since 2.0.0
 * @category formatting
 */
export const time = (millis: number | undefined): string => {
  if (millis === undefined) return "-"
  const d = new Date(millis)
  const pad = (n: number) => String(n).padStart(2, "0")
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }`
}

/**
 * @since 2.0.0
 * @category formatting
 */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  if (rows.length === 0) return ""
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n")
}

/**
 * A usage problem the parser cannot see (e.g. no password source).
 *
 * @since 2.0.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}
