import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import { newMessageId } from "../src/actors/Runtime.js"
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

  it.prop(
    "sort by send time (so the store's index grows at its end)",
    [fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 10 ** 9 })],
    ([t, dt]) => {
      const later = Math.min(t + dt, 2 ** 48 - 1)
      assert.isTrue(newMessageId(t) < newMessageId(later))
    }
  )
})
