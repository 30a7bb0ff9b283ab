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

  it.prop("keeps every argument, and the others in order", [FastCheck.array(FastCheck.oneof(
    FastCheck.constantFrom("--json", "--home", "--home=/x", "--", "send", "-"),
    FastCheck.string().filter((s) => s !== "--version" && s !== "--completions")
  ))], ([args]) => {
    const out = hoistRootOptions(["node", "jarvis", ...args])
    expect([...out].sort()).toEqual(["node", "jarvis", ...args].sort())
    const isRoot = (a: string) => a === "--json" || a.startsWith("--home")
    const cut = args.indexOf("--")
    const before = cut < 0 ? args : args.slice(0, cut)
    const others = before.filter((a, i) => !isRoot(a) && !(i > 0 && before[i - 1] === "--home"))
    expect(
      out.slice(2).filter((a, i, all) => !isRoot(a) && !(i > 0 && all[i - 1] === "--home")).slice(0, others.length)
    )
      .toEqual(others)
  })
})
