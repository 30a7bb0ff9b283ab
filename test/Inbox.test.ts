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

  it.prop(
    "with a small window: never reports an id it was not given; remembers the last `window` above and below the highest",
    // Ids from a small space: new ones arrive in and out of order, and repeats of old ones.
    [fc.integer({ min: 1, max: 6 }), fc.array(fc.oneof(fc.nat(12), fc.constant(-1)), { maxLength: 200 })],
    ([window, steps]) => {
      const recent = new RecentIds(window)
      const everSeen = new Set<MessageId>()
      // New ids by how they arrived: above every id seen so far, or not.
      const ascending: Array<MessageId> = []
      const others: Array<MessageId> = []
      let highest: MessageId | undefined
      let counter = 12
      for (const step of steps) {
        const next = step < 0 ? id(++counter) : id(step)
        const reported = recent.seen(next)
        if (!everSeen.has(next)) assert.isFalse(reported, `${next} was never given`)
        if (ascending.slice(-window).includes(next) || others.slice(-window).includes(next)) {
          assert.isTrue(reported, `${next} is among the last ${window} of its kind`)
        }
        if (!reported) {
          if (highest === undefined || next > highest) {
            highest = next
            ascending.push(next)
          } else others.push(next)
        }
        everSeen.add(next)
      }
    },
    { fastCheck: { numRuns: 1_000 } }
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
