// Bundles the CLI (and daemon, the same binary) into dist/jarvis.mjs; native modules stay external.
import { build } from "esbuild"
import { existsSync, rmSync } from "node:fs"

const entry = "src/cli/bin.ts"
if (!existsSync(entry)) {
  console.log("bundle: the CLI does not exist yet")
  process.exit(0)
}
// Chunk names carry a content hash: start from an empty directory so stale chunks do not pile up.
rmSync("dist", { recursive: true, force: true })
await build({
  entryPoints: [entry],
  outdir: "dist",
  entryNames: "jarvis",
  chunkNames: "chunks/[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minify: process.env.JARVIS_BUNDLE_MINIFY !== "0",
  sourcemap: "linked",
  // Native addons stay outside the bundle; everything else is bundled so a cold start reads one file.
  external: ["sodium-native", "better-sqlite3", "@node-rs/argon2", "msgpackr-extract", "bufferutil", "utf-8-validate"],
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from \"node:module\";\nconst require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})
