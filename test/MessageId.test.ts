import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import { MessageIds, newMessageId } from "../src/actors/Runtime.js"
import { MessageId } from "../src/domain/Ids.js"

describe("message ids", () => {
  it("are 32 hex digits that satisfy the MessageId schema, unique within one millisecond", () => {
    const ids = Array.from({ length: 10_000 }, () => newMessageId(1_764_000_000_000))
    assert.strictEqual(new Set(ids).size, ids.length)
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{32}$/)
      assert.isTrue(Schema.is(MessageId)(id))
    }
  })

  it("increase strictly within one millisecond and across milliseconds", () => {
    const ids = [
      ...Array.from({ length: 1_000 }, () => newMessageId(1_764_000_000_000)),
      ...Array.from({ length: 1_000 }, () => newMessageId(1_764_000_000_001))
    ]
    for (let i = 1; i < ids.length; i++) assert.isTrue(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`)
  })

  it("keep increasing when the low bits run out and when the clock goes back", () => {
    // A random source whose draws put the low 32 bits two steps from overflowing.
    const nearOverflow = (n: number) => {
      const bytes = new Uint8Array(n).fill(0x11)
      for (let i = 0; i < n; i += 10) bytes.set([0xff, 0xff, 0xff, 0xfe], i + 6)
      return bytes
    }
    const ids = new MessageIds(nearOverflow)
    const made = [
      ids.next(5_000),
      ids.next(5_000),
      ids.next(5_000), // the low bits overflow: carried into the high ones
      ids.next(5_000),
      ids.next(4_000), // the clock went back
      ids.next(5_001)
    ]
    for (let i = 1; i < made.length; i++) assert.isTrue(made[i - 1]! < made[i]!, `${made[i - 1]} < ${made[i]}`)
    assert.isTrue(made.every((id) => /^[0-9a-f]{32}$/.test(id)))
    assert.strictEqual(made[4]!.slice(0, 12), (5_000).toString(16).padStart(12, "0"), "the last millisecond is kept")
  })

  it.prop(
    "sort by send time (so the store's index grows at its end)",
    [fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 10 ** 9 })],
    ([t, dt]) => {
      const later = Math.min(t + dt, 2 ** 48 - 1)
      assert.isTrue(newMessageId(t) < newMessageId(later))
    }
  )
})
