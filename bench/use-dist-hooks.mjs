/** Resolve hook for use-dist.mjs: `src/x.ts` → `dist/lib/x.js`. */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const src = new URL("../src/", import.meta.url).href
const dist = new URL("../dist/lib/", import.meta.url).href

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (!resolved.url.startsWith(src)) return resolved
  const url = dist + resolved.url.slice(src.length).replace(/\.ts$/, ".js")
  if (!existsSync(fileURLToPath(url))) throw new Error(`${url} is missing: run npm run build first`)
  return { ...resolved, url, format: "module" }
}
