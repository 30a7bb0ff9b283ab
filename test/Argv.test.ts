import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { hoistRootOptions } from "../src/cli/Argv.js"

describe("hoistRootOptions", () => {
  it("moves --json and --home before the subcommand", () => {
    expect(hoistRootOptions(["node", "jarvis", "watch", "--json", "--from", "3", "--home", "/h"])).toEqual(
      ["node", "jarvis", "--json", "--home", "/h", "watch", "--from", "3"]
    )
    expect(hoistRootOptions(["node", "jarvis", "send", "bob", "--", "--json"])).toEqual(
      ["node", "jarvis", "send", "bob", "--", "--json"]
    )
  })

  it("drops them for the built-in --version", () => {
    expect(hoistRootOptions(["node", "jarvis", "--home", "/h", "--version", "--json"])).toEqual(
      ["node", "jarvis", "--version"]
    )
  })

  const special = new Set(["--json", "--home", "--", "--version", "--completions"])
  const token = FastCheck.oneof(
    FastCheck.constant({ root: true, args: ["--json"] }),
    FastCheck.string().map((dir) => ({ root: true, args: ["--home", dir] })),
    FastCheck.string().map((dir) => ({ root: true, args: [`--home=${dir}`] })),
    FastCheck.string().filter((a) => !special.has(a) && !a.startsWith("--home=")).map((a) => ({
      root: false,
      args: [a]
    }))
  )

  it.prop("puts root options first and keeps every other argument in order", [FastCheck.array(token)], ([tokens]) => {
    const argv = ["node", "jarvis", ...tokens.flatMap((t) => t.args)]
    expect(hoistRootOptions(argv)).toEqual([
      "node",
      "jarvis",
      ...tokens.filter((t) => t.root).flatMap((t) => t.args),
      ...tokens.filter((t) => !t.root).flatMap((t) => t.args)
    ])
  })
})
