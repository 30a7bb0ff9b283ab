import { readFileSync } from "node:fs"

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../shared/vectors/${name}`, import.meta.url), "utf8"))

export const v1Vectors = read("jarvis-v1-vectors.json")
export const noiseVectors = read("noise-25519-chachapoly-sha256.json")

export const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"))
export const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex")
export const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"))
