/** `npm run bench [suite...]`: runs the named suites (all by default) and prints Markdown tables. */
import * as Os from "node:os"

const suites: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  crypto: () => import("./suites/crypto.js"),
  network: () => import("./suites/network.js"),
  links: () => import("./suites/links.js"),
  daemon: () => import("./suites/daemon.js"),
  history: () => import("./suites/history.js")
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const names = wanted.length > 0 ? wanted : Object.keys(suites)
console.log(
  `# Jarvis benchmarks\n\n${Os.cpus().length} × ${
    Os.cpus()[0]?.model ?? "cpu"
  }, Node ${process.version}, medians of repeated trials`
)
for (const name of names) {
  const suite = suites[name]
  if (suite === undefined) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(", ")}`)
    process.exit(2)
  }
  await (await suite()).run()
}
