import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { MessageId } from "../src/domain/Ids.js"
import type { Deliverable } from "../src/domain/Messages.js"
import { Box } from "../src/services/Outbox.js"

const text = (n: number): Deliverable => ({
  _tag: "Text",
  id: `m${n}` as MessageId,
  body: "x".repeat(n % 7),
  sentAt: n
})

type Op =
  | { readonly op: "push" }
  | { readonly op: "take"; readonly max: number }
  | { readonly op: "ack"; readonly picks: ReadonlyArray<number> }
  | { readonly op: "requeue" }
  | { readonly op: "removeWhere"; readonly modulo: number }

const ops = fc.array(
  fc.oneof(
    fc.constant<Op>({ op: "push" }),
    fc.integer({ min: 1, max: 5 }).map((max): Op => ({ op: "take", max })),
    fc.array(fc.nat(40), { maxLength: 4 }).map((picks): Op => ({ op: "ack", picks })),
    fc.constant<Op>({ op: "requeue" }),
    fc.integer({ min: 2, max: 4 }).map((modulo): Op => ({ op: "removeWhere", modulo }))
  ),
  { maxLength: 200 }
)

describe("outbox box", () => {
  it.prop(
    "behaves like the simple model: ready in order, in flight until acked, requeued in front, removable while waiting",
    [ops],
    ([script]) => {
      const box = new Box()
      let ready: Array<Deliverable> = []
      let inflight: Array<Deliverable> = []
      let next = 0
      let wakes = 0
      box.attach(() => wakes++)
      for (const step of script) {
        switch (step.op) {
          case "push": {
            const m = text(next++)
            box.push(m)
            ready.push(m)
            break
          }
          case "take": {
            const taken = box.take(step.max)
            const expected = ready.slice(0, step.max)
            ready = ready.slice(expected.length)
            inflight.push(...expected)
            assert.deepStrictEqual(taken, expected)
            break
          }
          case "ack": {
            const ids = step.picks.map((p) => `m${p}` as MessageId)
            const acked = box.ack(ids)
            const expected: Array<MessageId> = []
            for (const id of ids) {
              const i = inflight.findIndex((m) => m.id === id)
              if (i >= 0) {
                expected.push(id)
                inflight.splice(i, 1)
              }
            }
            assert.deepStrictEqual(acked, expected)
            break
          }
          case "requeue": {
            box.requeue()
            ready = [...inflight, ...ready]
            inflight = []
            break
          }
          case "removeWhere": {
            // Only waiting messages go (as the expiry sweep needs): in flight is left to its ack.
            const drop = (m: Deliverable) => m.sentAt % step.modulo === 0
            assert.deepStrictEqual(box.removeWhere(drop), ready.filter(drop))
            ready = ready.filter((m) => !drop(m))
            break
          }
        }
        assert.strictEqual(box.size, ready.length + inflight.length)
        assert.strictEqual(box.readyCount, ready.length)
      }
      assert.isTrue(wakes <= script.length)
    }
  )

  it("takes at least one message and stops at the byte budget", () => {
    const box = new Box()
    for (const size of [10, 10, 10, 100, 10]) {
      box.push({ _tag: "Text", id: `s${size}` as MessageId, body: "x".repeat(size), sentAt: 0 })
    }
    assert.strictEqual(box.take(10, 25).length, 2)
    assert.strictEqual(box.take(10, 25).length, 1)
    assert.strictEqual(box.take(10, 25).length, 1, "an oversized message still goes alone")
  })
})
