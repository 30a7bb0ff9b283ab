// Bundles the CLI (and daemon, the same binary) into dist/cli.bundle.cjs, started by dist/jarvis.cjs
// (scripts/bundle/launcher.cjs) from a V8 code cache made here. Native modules stay external.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { leanIndexes } from "./bundle/lean-indexes.mjs"

const entry = "src/cli/bin.ts"
if (!existsSync(entry)) {
  console.log("bundle: the CLI does not exist yet")
  process.exit(0)
}
// This build's outputs, and those of earlier layouts (an ES module launcher, chunks).
const outputs = ["dist/jarvis.cjs", "dist/cli.bundle.cjs", "dist/cli.bundle.cjs.map", "dist/cli.bundle.cjs.cache"]
const earlier = ["dist/chunks", "dist/jarvis.mjs", "dist/jarvis.mjs.map", "dist/jarvis.cjs.map", "dist/jarvis.cjs.cache"]
for (const path of [...outputs, ...earlier]) rmSync(path, { recursive: true, force: true })
mkdirSync("dist", { recursive: true })
const noConfigFiles = "./scripts/bundle/no-config-files.mjs"
await build({
  entryPoints: [entry],
  outfile: "dist/cli.bundle.cjs",
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
  plugins: [leanIndexes(resolve("src"))],
  // An import the lean indexes do not provide would be `undefined` at run time: fail the build.
  logOverride: { "import-is-undefined": "error" },
  // msgpackr would resolve and load its native string extractor (msgpackr-extract) at start-up,
  // ~5 ms of every cold start, the CLI's too (@effect/rpc's client imports msgpackr). It pays off
  // only for long strings, which the wire protocol's small messages do not have.
  define: { "process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED": "\"true\"" },
  logLevel: "warning"
})
copyFileSync("scripts/bundle/launcher.cjs", "dist/jarvis.cjs")
chmodSync("dist/jarvis.cjs", 0o755)
// Leaves dist/cli.bundle.cjs.cache behind, made by this Node.js from a run that parses a command and
// goes through the IPC client (to a daemon that is not there: exit code 4), so the code a typical
// command needs is in the cache, not only what loading needs.
const home = mkdtempSync(join(tmpdir(), "jarvis-bundle-"))
try {
  execFileSync(process.execPath, ["dist/jarvis.cjs", "--home", home, "status", "--json"], {
    env: { ...process.env, JARVIS_WRITE_CODE_CACHE: "1" },
    stdio: "ignore"
  })
} catch (error) {
  if (error.status !== 4) throw error
} finally {
  rmSync(home, { recursive: true, force: true })
}
