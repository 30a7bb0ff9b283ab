/**
 * The root options (`--home`, `--json`) may be written anywhere on the command line, as users
 * do (`jarvis send bob hi --json`); @effect/cli wants them before the subcommand.
 *
 * @since 2.0.0
 */

/**
 * Moves root options right after the script, keeping everything else in order. Stops at `--`.
 * Drops them for `--version` and `--completions`, which ignore them anyway.
 *
 * @since 2.0.0
 */
export const hoistRootOptions = (argv: ReadonlyArray<string>): Array<string> => {
  const [node, script, ...rest] = argv
  const root: Array<string> = []
  const others: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === "--") {
      others.push(...rest.slice(i))
      break
    }
    if (arg === "--json" || arg.startsWith("--home=")) root.push(arg)
    else if (arg === "--home" && i + 1 < rest.length) root.push(arg, rest[++i]!)
    else others.push(arg)
  }
  // The built-in `--version` and `--completions` only work without root options before them.
  if (others.includes("--version") || others.includes("--completions")) return [node!, script!, ...others]
  return [node!, script!, ...root, ...others]
}
