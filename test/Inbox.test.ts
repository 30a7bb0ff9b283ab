import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { MessageId } from "../src/domain/Ids.js"
import { RecentIds } from "../src/services/Inbox.js"

const id = (n: number) => n.toString(16).padStart(32, "0") as MessageId

describe("in-memory inbox: recent ids", () => {
  it.prop(
    "reports exactly the ids seen before, for any order (within the window)",
    // Mostly increasing ids with jumps back and repeats, as resends after a reconnect produce.
    [fc.array(fc.oneof(fc.constant(-1), fc.nat(300)), { maxLength: 2_000 })],
    ([steps]) => {
      const recent = new RecentIds()
      const model = new Set<MessageId>()
      let counter = 0
      for (const step of steps) {
        const next = step < 0 ? id(++counter) : id(Math.max(0, counter - step))
        assert.strictEqual(recent.seen(next), model.has(next), next)
        model.add(next)
      }
    }
  )

  it("remembers at least the last 10,000 ids, in order or not", () => {
    const recent = new RecentIds()
    for (let n = 0; n < 25_000; n++) assert.isFalse(recent.seen(id(2 * n)))
    for (let n = 15_000; n < 25_000; n++) assert.isTrue(recent.seen(id(2 * n)), `ascending ${n}`)
    // Out of order: odd ids below the highest go to the sets.
    for (let n = 0; n < 25_000; n++) assert.isFalse(recent.seen(id(2 * n + 1)))
    for (let n = 15_000; n < 25_000; n++) assert.isTrue(recent.seen(id(2 * n + 1)), `out of order ${n}`)
  })
})
