import { execFileSync } from "node:child_process"

/** End-to-end tests drive the bundled `jarvis` executable, exactly as a user runs it. */
export default function setup() {
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" })
}
