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
  outfile: "dist/jarvis.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minify: true,
  sourcemap: "linked",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning"
})
