// Bundles the CLI (and daemon, the same binary) into dist/jarvis.cjs, started by dist/jarvis.mjs
// (scripts/bundle/launcher.mjs) from a V8 code cache made here. Native modules stay external.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs"

const entry = "src/cli/bin.ts"
if (!existsSync(entry)) {
  console.log("bundle: the CLI does not exist yet")
  process.exit(0)
}
for (const stale of ["dist/chunks", "dist/jarvis.mjs", "dist/jarvis.mjs.map", "dist/jarvis.cjs", "dist/jarvis.cjs.map"]) {
  rmSync(stale, { recursive: true, force: true })
}
rmSync("dist/jarvis.cjs.cache", { force: true })
mkdirSync("dist", { recursive: true })
const noConfigFiles = "./scripts/bundle/no-config-files.mjs"
await build({
  entryPoints: [entry],
  outfile: "dist/jarvis.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  // One CommonJS file: V8 can cache its compiled code (Node 20 has no code cache for ES modules);
  // the daemon's modules are still only initialised when `daemon run` imports them.
  format: "cjs",
  minify: process.env.JARVIS_BUNDLE_MINIFY !== "0",
  sourcemap: "linked",
  external: ["sodium-native", "better-sqlite3", "@node-rs/argon2", "msgpackr-extract", "bufferutil", "utf-8-validate"],
  alias: { yaml: noConfigFiles, toml: noConfigFiles, ini: noConfigFiles },
  logLevel: "warning"
})
copyFileSync("scripts/bundle/launcher.mjs", "dist/jarvis.mjs")
chmodSync("dist/jarvis.mjs", 0o755)
// Leaves dist/jarvis.cjs.cache behind, made by this Node.js.
execFileSync(process.execPath, ["dist/jarvis.mjs", "--version"], {
  env: { ...process.env, JARVIS_WRITE_CODE_CACHE: "1" },
  stdio: "ignore"
})
