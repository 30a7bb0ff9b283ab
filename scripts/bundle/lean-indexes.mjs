// An esbuild plugin for the bundled CLI: Jarvis's sources import namespaces from package indexes
// (`import { Effect, Schema } from "effect"`), and in this bundle an index is initialised as a
// whole at start-up, every module it re-exports included (all of effect, fast-check through
// effect/Arbitrary, @effect/platform's HTTP stack...). For imports from src/, each index is
// replaced by one that re-exports only the namespaces src/ actually imports, from their own
// modules, so a cold start initialises only those.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

const PACKAGES = /^(effect|@effect\/(cli|platform|rpc|sql))$/
const IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(effect|@effect\/[a-z-]+)"/g

/** Every name imported (as a value) from each package index, over the .ts files under `dir`. */
const importedNames = (dir) => {
  const names = new Map()
  const visit = (path) => {
    if (statSync(path).isDirectory()) return readdirSync(path).forEach((f) => visit(join(path, f)))
    if (!path.endsWith(".ts")) return
    const source = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "")
    for (const [, typeOnly, list, pkg] of source.matchAll(IMPORT)) {
      if (typeOnly !== undefined || !PACKAGES.test(pkg)) continue
      for (const item of list.split(",")) {
        const name = item.trim().split(/\s+as\s+/)[0].trim()
        if (name === "" || name.startsWith("type ")) continue
        if (!names.has(pkg)) names.set(pkg, new Set())
        names.get(pkg).add(name)
      }
    }
  }
  visit(dir)
  return names
}

export const leanIndexes = (srcDir) => ({
  name: "lean-indexes",
  setup(build) {
    const names = importedNames(srcDir)
    // Only named imports are scanned; `import * as X from "effect"`, re-exports and dynamic
    // imports keep the real index (and the build fails on a name the lean index lacks, see the
    // logOverride in scripts/bundle.mjs).
    build.onResolve({ filter: PACKAGES }, (args) =>
      args.kind === "import-statement" && args.importer.startsWith(srcDir) && names.has(args.path)
        ? { path: args.path, namespace: "lean-index" }
        : undefined)
    build.onLoad({ filter: /.*/, namespace: "lean-index" }, (args) => ({
      contents: [...names.get(args.path)].map((name) => `export * as ${name} from "${args.path}/${name}"`).join("\n"),
      resolveDir: process.cwd(),
      loader: "js"
    }))
  }
})
