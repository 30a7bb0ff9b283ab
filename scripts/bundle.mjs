// Bundles the CLI (and daemon, the same binary) into dist/jarvis.mjs; native modules stay external.
import { build } from "esbuild"
import { existsSync } from "node:fs"

const entry = "src/cli/bin.ts"
if (!existsSync(entry)) {
  console.log("bundle: the CLI does not exist yet")
  process.exit(0)
}
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
  minify: true,
  sourcemap: "linked",
  // Native addons stay outside the bundle; everything else is bundled so a cold start reads one file.
  external: ["sodium-native", "better-sqlite3", "@node-rs/argon2", "msgpackr-extract", "bufferutil", "utf-8-validate"],
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from \"node:module\";\nconst require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})
