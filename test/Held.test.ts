import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { RuntimeEvent } from "../src/domain/Events.js"
import * as Held from "../src/domain/Held.js"
import type { MessageId, Uid } from "../src/domain/Ids.js"
import { WireMessage } from "../src/domain/Messages.js"
import { FrameDecoder, FrameEncoder } from "../src/protocol/Framing.js"
import { CipherState } from "../src/protocol/noise/CipherState.js"

const id = "0193a0b0c0d00000000000000000002a" as MessageId
const contact = "ab".repeat(16) as Uid

describe("held values", () => {
  it("are the Schemas' values: they validate and encode exactly like the literals", () => {
    const cases = [
      [Held.text(id, "hi", 7), { _tag: "Text", id, body: "hi", sentAt: 7 }, WireMessage],
      [
        Held.messageReceived(contact, id, "hi", 7, 8),
        { _tag: "MessageReceived", contact, id, body: "hi", sentAt: 7, receivedAt: 8 },
        RuntimeEvent
      ],
      [
        Held.receiptReceived(contact, "read", [id], 9),
        { _tag: "ReceiptReceived", contact, kind: "read", ids: [id], at: 9 },
        RuntimeEvent
      ]
    ] as const
    for (const [held, literal, schema] of cases) {
      const s = schema as Schema.Schema<unknown, unknown>
      assert.isTrue(Schema.is(s)(held))
      assert.deepStrictEqual(Schema.encodeSync(s)(held), Schema.encodeSync(s)(literal))
      assert.strictEqual(JSON.stringify(held), JSON.stringify(literal))
    }
  })

  it("a held text goes over the wire like a literal one", () => {
    const key = new Uint8Array(32).fill(1)
    const encode = (message: WireMessage) => {
      const cipher = new CipherState()
      cipher.initializeKey(key)
      return new FrameEncoder(cipher).encodeMessages([message])
    }
    const held = encode(Held.text(id, "hi", 7))
    assert.deepStrictEqual(held, encode({ _tag: "Text", id, body: "hi", sentAt: 7 }))
    const cipher = new CipherState()
    cipher.initializeKey(key)
    const decoder = new FrameDecoder(cipher)
    decoder.push(held)
    const out: Array<WireMessage> = []
    assert.isUndefined(decoder.drainMessages(out))
    assert.deepStrictEqual(out, [{ _tag: "Text", id, body: "hi", sentAt: 7 }])
  })
})
