#!/usr/bin/env node
// The `jarvis` executable: runs the bundled CLI (cli.bundle.cjs) from V8's code cache when the
// cache matches this Node.js, which saves compiling ~1 MB of JavaScript on every cold start.
// Without a usable cache it runs the same code compiled from source and tries to leave a cache
// behind. CommonJS on purpose: an ES module entry costs every start ~6 ms of loader set-up.
"use strict"
const { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } = require("node:fs")
const { createRequire } = require("node:module")
const { join } = require("node:path")
const { Script } = require("node:vm")

const dir = __dirname
const file = join(dir, "cli.bundle.cjs")
const cacheFile = join(dir, "cli.bundle.cjs.cache")

let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  cachedData = undefined
}
const source = readFileSync(file, "utf8")
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {\n${source}\n})`,
  // The wrapper's first line does not count, so positions match the file and its source map.
  { filename: file, lineOffset: -1, cachedData }
)
const writable = () => {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false // a read-only install: run without a cache, and do not build one at every exit
  }
}
if (
  (cachedData === undefined || script.cachedDataRejected || process.env.JARVIS_WRITE_CODE_CACHE === "1") && writable()
) {
  // At exit the cache also holds every function this run compiled lazily.
  process.once("exit", () => {
    const temp = `${cacheFile}.${process.pid}`
    try {
      writeFileSync(temp, script.createCachedData())
      renameSync(temp, cacheFile)
    } catch {
      rmSync(temp, { force: true })
    }
  })
}
const bundle = { exports: {} }
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dir)
