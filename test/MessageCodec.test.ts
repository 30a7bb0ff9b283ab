import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc } from "effect"
import { Packr, Unpackr } from "msgpackr"
import { randomBytes } from "node:crypto"
import type { GroupId, MessageId } from "../src/domain/Ids.js"
import type { WireMessage } from "../src/domain/Messages.js"
import * as Messages from "../src/domain/Messages.js"
import type { FramingOptions } from "../src/protocol/Framing.js"
import { FrameDecoder, FrameEncoder, MAX_FRAME_PLAINTEXT, RecordKind } from "../src/protocol/Framing.js"
import { nodeBuffer } from "../src/protocol/internal/nodeBuffer.js"
import { writeVarint } from "../src/protocol/internal/varint.js"
import * as WireDecoder from "../src/protocol/internal/wireDecoder.js"
import * as MessageCodec from "../src/protocol/MessageCodec.js"
import { CipherState } from "../src/protocol/noise/CipherState.js"

/** What older Jarvis builds pack with, and what any MessagePack reader should see. */
const packr = new Packr({ useRecords: false, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" })

const fieldsOf: Record<WireMessage["_tag"], ReadonlyArray<string>> = {
  Hello: ["uid", "username", "listenPort", "agent", "features"],
  Ping: ["seq"],
  Pong: ["seq"],
  Text: ["id", "body", "sentAt"],
  Ack: ["ids"],
  Read: ["ids"],
  Typing: ["active"],
  GroupInvite: ["groupId", "name", "members"],
  GroupText: ["groupId", "id", "body", "sentAt"],
  GroupLeave: ["groupId"],
  Bye: ["reason"]
}

const asArray = (message: WireMessage): Array<unknown> => {
  const record = message as unknown as Record<string, unknown>
  return [Messages.wireIds[message._tag], ...fieldsOf[message._tag].map((f) => record[f])]
}

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length })
const messageId = fc.oneof(
  hex(32),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/)
).map((s) => s as MessageId)
const groupId = hex(31).map((s) => `g${s}` as GroupId)
const natural = fc.oneof(
  fc.nat(300),
  fc.nat(),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat()
)
const atLimit = fc.constantFrom("x", "é", "€", "😀", "a😀").map((unit) =>
  unit.repeat(Math.ceil(Messages.MAX_BODY_LENGTH / unit.length)).slice(0, Messages.MAX_BODY_LENGTH)
)
/** Well-formed UTF-16 (what the Schema allows and every path round-trips). */
const body = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 80 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 400 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 3000, maxLength: 12000 }) },
  { weight: 1, arbitrary: atLimit }
)
const ids = fc.oneof(
  { weight: 4, arbitrary: fc.array(messageId, { maxLength: 40 }) },
  { weight: 1, arbitrary: fc.array(messageId, { minLength: 1000, maxLength: Messages.MAX_IDS }) }
)

const handMessage: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ _tag: fc.constant("Text" as const), id: messageId, body, sentAt: natural }),
  fc.record({ _tag: fc.constant("GroupText" as const), groupId, id: messageId, body, sentAt: natural }),
  fc.record({ _tag: fc.constantFrom("Ack" as const, "Read" as const), ids }),
  fc.record({ _tag: fc.constantFrom("Ping" as const, "Pong" as const), seq: natural }),
  fc.record({ _tag: fc.constant("Typing" as const), active: fc.boolean() }),
  fc.record({ _tag: fc.constant("GroupLeave" as const), groupId }),
  fc.record({
    _tag: fc.constant("Bye" as const),
    reason: fc.constantFrom("shutdown" as const, "duplicate" as const, "removed" as const, "locked" as const)
  })
)
const anyMessage = fc.oneof(
  { weight: 5, arbitrary: handMessage },
  { weight: 1, arbitrary: Arbitrary.make(Messages.WireMessage) }
)

/** The hand decoder leaves strings containing U+FFFD to msgpackr (it may stand for invalid UTF-8). */
const isHand = (message: WireMessage) =>
  message._tag !== "Hello" && message._tag !== "GroupInvite" && !JSON.stringify(message).includes("\ufffd")

/** A string with lone surrogates (not valid UTF-16; msgpackr replaces them, and so must we). */
const loneSurrogates = fc.array(
  fc.oneof(
    fc.string({ maxLength: 3 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    fc.constant("😀")
  ),
  { maxLength: 40 }
).map((parts) => parts.join(""))

// ---------------------------------------------------------------------------------------------
// A MessagePack writer that picks any valid width for every int and string header, as another
// encoder (an older build, another language) may.

const numberForms = (v: number, pick: number): Array<number> => {
  const forms: Array<Array<number>> = []
  const be = (value: number, bytes: number) => {
    const out: Array<number> = []
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(value / 2 ** (8 * i)) % 256)
    return out
  }
  if (v < 0x80) forms.push([v])
  if (v < 0x80) forms.push([0xd0, v])
  if (v < 0x100) forms.push([0xcc, v])
  if (v < 0x8000) forms.push([0xd1, ...be(v, 2)])
  if (v < 0x10000) forms.push([0xcd, ...be(v, 2)])
  if (v < 0x80000000) forms.push([0xd2, ...be(v, 4)])
  if (v < 0x100000000) forms.push([0xce, ...be(v, 4)])
  forms.push([0xcf, ...be(v, 8)], [0xd3, ...be(v, 8)])
  const double = Buffer.alloc(9)
  double[0] = 0xcb
  double.writeDoubleBE(v, 1)
  forms.push([...double])
  return forms[pick % forms.length]!
}

const writeAny = (value: unknown, picks: Array<number>, out: Array<number>): void => {
  const pick = picks.length > 0 ? picks.pop()! : 0
  if (typeof value === "number") out.push(...numberForms(value, pick))
  else if (typeof value === "boolean") out.push(value ? 0xc3 : 0xc2)
  else if (typeof value === "string") {
    const bytes = [...Buffer.from(value, "utf8")]
    const headers: Array<Array<number>> = []
    if (bytes.length < 32) headers.push([0xa0 | bytes.length])
    if (bytes.length < 256) headers.push([0xd9, bytes.length])
    if (bytes.length < 65536) headers.push([0xda, bytes.length >> 8, bytes.length & 0xff])
    headers.push([0xdb, ...[24, 16, 8, 0].map((s) => (bytes.length >>> s) & 0xff)])
    out.push(...headers[pick % headers.length]!)
    for (const b of bytes) out.push(b)
  } else if (Array.isArray(value)) {
    if (value.length < 16 && pick % 2 === 0) out.push(0x90 | value.length)
    else out.push(0xdc, value.length >> 8, value.length & 0xff)
    for (const item of value) writeAny(item, picks, out)
  } else throw new TypeError(`unexpected ${typeof value}`)
}

describe("message codec", () => {
  it.prop("encodes every message as msgpackr does, readable by any MessagePack reader", [anyMessage], ([message]) => {
    const bytes = MessageCodec.encode(message)
    assert.deepStrictEqual(Buffer.from(bytes), Buffer.from(MessageCodec.encodeWithMsgpackr(message)))
    assert.deepStrictEqual(unpackr.unpack(bytes), asArray(message))
    assert.deepStrictEqual(MessageCodec.decode(bytes), Either.right(message))
    if (isHand(message)) assert.deepStrictEqual(WireDecoder.decode(nodeBuffer(bytes), 0, bytes.length), message)
  }, { fastCheck: { numRuns: 300 } })

  it.prop("decodes what msgpackr packs on the hand path", [handMessage.filter(isHand)], ([message]) => {
    const bytes = packr.pack(asArray(message))
    const decoded = WireDecoder.decode(nodeBuffer(bytes), 0, bytes.length)
    assert.deepStrictEqual(decoded, message)
    assert.deepStrictEqual(MessageCodec.decodeWithSchema(bytes), Either.right(message))
  }, { fastCheck: { numRuns: 300 } })

  it.prop(
    "decodes every int width and string header an encoder may choose",
    [handMessage, fc.array(fc.nat(), { maxLength: 64 })],
    ([message, picks]) => {
      const out: Array<number> = []
      writeAny(asArray(message), [...picks], out)
      const bytes = Uint8Array.from(out)
      assert.deepStrictEqual(MessageCodec.decode(bytes), Either.right(message))
      assert.deepStrictEqual(MessageCodec.decodeWithSchema(bytes), Either.right(message))
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("takes the float64 msgpackr writes for a timestamp", () => {
    const message: WireMessage = {
      _tag: "Text",
      id: "0123456789abcdef0123456789abcdef" as MessageId,
      body: "hi",
      sentAt: 1_732_492_800_123
    }
    const bytes = MessageCodec.encode(message)
    assert.strictEqual(bytes[bytes.length - 9], 0xcb)
    assert.deepStrictEqual(Buffer.from(bytes), Buffer.from(packr.pack(asArray(message))))
    assert.deepStrictEqual(WireDecoder.decode(nodeBuffer(bytes), 0, bytes.length), message)
  })

  it("matches the documented examples", () => {
    assert.deepStrictEqual([...MessageCodec.encode({ _tag: "Ping", seq: 7 })], [0x92, 0x02, 0x07])
    assert.deepStrictEqual(
      [...MessageCodec.encode({ _tag: "Text", id: "m1" as MessageId, body: "hi", sentAt: 1 })],
      [0x94, 0x04, 0xa2, 0x6d, 0x31, 0xa2, 0x68, 0x69, 0x01]
    )
  })

  it.prop("writes lone surrogates as msgpackr does and decodes them as msgpackr does", [
    loneSurrogates,
    fc.boolean()
  ], ([text, long]) => {
    const message: WireMessage = {
      _tag: "Text",
      id: "m1" as MessageId,
      body: long ? text + "x".repeat(64) : text,
      sentAt: 1
    }
    const bytes = MessageCodec.encode(message)
    const reference = MessageCodec.encodeWithMsgpackr(message)
    assert.deepStrictEqual(Buffer.from(bytes), Buffer.from(reference))
    assert.deepStrictEqual(MessageCodec.decode(bytes), MessageCodec.decodeWithSchema(reference))
  })

  const agree = (bytes: Uint8Array) => {
    const fast = MessageCodec.decode(bytes)
    const schema = MessageCodec.decodeWithSchema(bytes)
    assert.strictEqual(Either.isRight(fast), Either.isRight(schema))
    if (Either.isRight(fast)) assert.deepStrictEqual(fast.right, Either.getOrThrow(schema))
    else assert.strictEqual(fast.left._tag, "ProtocolError")
  }

  it.prop("agrees with the Schema path on random bytes", [fc.uint8Array({ maxLength: 256 })], ([bytes]) => {
    agree(bytes)
    if (bytes.length > 0) {
      const tagged = new Uint8Array(bytes)
      tagged[0] = 0x90 | (bytes[0]! & 0x0f)
      if (tagged.length > 1) tagged[1] = bytes[1]! % 12
      agree(tagged)
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("agrees with the Schema path on mutated encodings", [
    handMessage.filter((m) => MessageCodec.encode(m).length < 5000),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
    fc.nat(),
    fc.constantFrom(0x80, 0xbf, 0xc0, 0xc3, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xff)
  ], ([message, edits, cut, utf8]) => {
    const bytes = new Uint8Array(MessageCodec.encode(message))
    const mutated = new Uint8Array(bytes)
    for (const [at, value] of edits) mutated[at % mutated.length] = value
    agree(mutated)
    agree(bytes.subarray(0, cut % bytes.length))
    const invalid = new Uint8Array(bytes)
    invalid[bytes.length - 1 - (cut % Math.min(bytes.length, 40))] = utf8
    agree(invalid)
  }, { fastCheck: { numRuns: 500 } })

  /** Sequences RFC 3629 forbids: surrogates, overlongs, above U+10FFFF, truncated, stray bytes. */
  const invalidUtf8 = fc.constantFrom(
    [0xed, 0xa0, 0x80],
    [0xed, 0xbf, 0xbf],
    [0xc0, 0x80],
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80],
    [0xe0, 0x9f, 0xbf],
    [0xf0, 0x80, 0x80, 0x80],
    [0xf0, 0x8f, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82],
    [0xf0, 0x9f, 0x98],
    [0x80],
    [0xbf],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xff]
  )

  it.prop("agrees with the Schema path on large bodies with invalid UTF-8", [
    fc.oneof(fc.string({ unit: "binary", minLength: 1500, maxLength: 20_000 }), fc.string({ minLength: 5000 })),
    fc.array(fc.tuple(fc.nat(), invalidUtf8), { minLength: 1, maxLength: 3 }),
    fc.boolean()
  ], ([text, edits, atEnd]) => {
    const bytes = new Uint8Array(MessageCodec.encode({ _tag: "Text", id: "m1" as MessageId, body: text, sentAt: 1 }))
    const bodyStart = 2 + 3 + (bytes[5] === 0xda ? 3 : 5)
    const bodyEnd = bytes.length - 1
    const mutated = new Uint8Array(bytes)
    for (const [at, sequence] of edits) {
      const start = atEnd ? bodyEnd - sequence.length : bodyStart + (at % (bodyEnd - bodyStart - sequence.length))
      mutated.set(sequence, start)
    }
    agree(bytes)
    agree(mutated)
  }, { fastCheck: { numRuns: 300, endOnFailure: true } })
})

// ---------------------------------------------------------------------------------------------
// Framing

const cipherPair = () => {
  const key = randomBytes(32)
  const send = new CipherState()
  const receive = new CipherState()
  send.initializeKey(key)
  receive.initializeKey(new Uint8Array(key))
  return { send, receive }
}

const framingOptions = fc.record({
  maxMessageBytes: fc.constant(1 << 20),
  rekeyAfterFrames: fc.constantFrom(1, 2, 3, 1 << 20),
  maxFramePlaintext: fc.constantFrom(64, 200, 4096, undefined)
})

const smallOrBig = fc.oneof(
  { weight: 6, arbitrary: anyMessage },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("Text" as const), id: messageId, body: atLimit, sentAt: natural })
  }
)

describe("framing", () => {
  it.prop("any split of the byte stream decodes to the same messages", [
    fc.array(fc.array(smallOrBig, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    framingOptions,
    fc.array(fc.nat(), { maxLength: 12 }),
    fc.boolean()
  ], ([batches, options, cuts, rekeyFirst]) => {
    const { receive, send } = cipherPair()
    const encoder = new FrameEncoder(send, options)
    const wires: Array<Uint8Array> = []
    for (const [i, batch] of batches.entries()) {
      if (rekeyFirst && i === 1) encoder.requestRekey()
      wires.push(encoder.encodeMessages(batch))
    }
    const wire = Buffer.concat(wires)
    const pristine = Buffer.from(wire)
    const decoder = new FrameDecoder(receive, options)
    const points = [...new Set(cuts.map((c) => c % wire.length))].sort((x, y) => x - y)
    const out: Array<WireMessage> = []
    let last = 0
    for (const p of [...points, wire.length]) {
      decoder.push(wire.subarray(last, p))
      last = p
      assert.isUndefined(decoder.drainMessages(out))
    }
    assert.strictEqual(decoder.buffered, 0)
    assert.deepStrictEqual(out, batches.flat())
    assert.isTrue(wire.equals(pristine), "the pushed chunks are never modified")
    wire.fill(0)
    assert.deepStrictEqual(out, batches.flat(), "nothing decoded refers to the chunks")
  }, { fastCheck: { numRuns: 150 } })

  it.prop("frames carry each message exactly as msgpackr encodes it", [
    fc.array(
      fc.oneof(
        smallOrBig,
        fc.record({ _tag: fc.constant("Text" as const), id: messageId, body: loneSurrogates, sentAt: natural })
      ),
      { minLength: 1, maxLength: 20 }
    ),
    framingOptions
  ], ([messages, options]) => {
    const { receive, send } = cipherPair()
    const decoder = new FrameDecoder(receive, options)
    decoder.push(new FrameEncoder(send, options).encodeMessages(messages))
    const raw: Array<Uint8Array> = []
    assert.isUndefined(decoder.drain(raw))
    assert.deepStrictEqual(
      raw.map((bytes) => Buffer.from(bytes).toString("hex")),
      messages.map((m) => Buffer.from(MessageCodec.encodeWithMsgpackr(m)).toString("hex"))
    )
  }, { fastCheck: { numRuns: 100 } })

  it("chunks 64 KiB bodies around earlier and later messages, with a rekey on every frame", () => {
    const options: FramingOptions = { maxMessageBytes: 1 << 20, rekeyAfterFrames: 1 }
    const { receive, send } = cipherPair()
    const encoder = new FrameEncoder(send, options)
    const decoder = new FrameDecoder(receive, options)
    const text = (i: number, body: string): WireMessage => ({
      _tag: "Text",
      id: `${i}`.padStart(32, "0") as MessageId,
      body,
      sentAt: 1_732_492_800_000 + i
    })
    const big = "y".repeat(Messages.MAX_BODY_LENGTH)
    const batches: Array<Array<WireMessage>> = [
      [text(1, big)],
      [text(2, "a"), text(3, big), text(4, "b")],
      [text(5, "é".repeat(Messages.MAX_BODY_LENGTH)), text(6, "😀".repeat(Messages.MAX_BODY_LENGTH / 2))],
      [text(7, "c".repeat(MAX_FRAME_PLAINTEXT - 60)), text(8, big), text(9, big)],
      Array.from({ length: 300 }, (_, i) => text(100 + i, "small"))
    ]
    const wires = batches.map((batch) => encoder.encodeMessages(batch))
    const copies = wires.map((w) => Buffer.from(w))
    const out: Array<WireMessage> = []
    for (const wire of wires) {
      for (let at = 0; at < wire.length; at += 65536) decoder.push(wire.subarray(at, at + 65536))
      assert.isUndefined(decoder.drainMessages(out))
    }
    assert.deepStrictEqual(out, batches.flat())
    for (const [i, wire] of wires.entries()) assert.isTrue(copies[i]!.equals(wire), "outputs are independent")
  })

  it("decodes frames of older builds (msgpackr-encoded messages)", () => {
    const { receive, send } = cipherPair()
    const messages: Array<WireMessage> = [
      { _tag: "Text", id: "m1" as MessageId, body: "x".repeat(70_000 / 2), sentAt: 1_732_492_800_000 },
      { _tag: "Ack", ids: ["m1" as MessageId] },
      { _tag: "Typing", active: true }
    ]
    const [wire] = new FrameEncoder(send).encode(messages.map((m) => packr.pack(asArray(m))))
    const decoder = new FrameDecoder(receive)
    decoder.push(wire!)
    const out: Array<WireMessage> = []
    assert.isUndefined(decoder.drainMessages(out))
    assert.deepStrictEqual(out, messages)
  })

  /** Seals hand-made plaintexts as consecutive frames. */
  const frames = (...plaintexts: Array<Array<number>>) => {
    const { receive, send } = cipherPair()
    const parts = plaintexts.map((plain) => {
      const frame = new Uint8Array(2 + plain.length + 16)
      frame[0] = (plain.length + 16) >> 8
      frame[1] = (plain.length + 16) & 0xff
      send.encryptInto(frame.subarray(2), null, Uint8Array.from(plain))
      return frame
    })
    return { receive, wire: Buffer.concat(parts) }
  }
  const record = (kind: number, data: Array<number>) => {
    const header = new Uint8Array(5)
    const end = writeVarint(header, 0, data.length)
    return [kind, ...header.subarray(0, end), ...data]
  }
  const ping = [...MessageCodec.encode({ _tag: "Ping", seq: 1 })]

  const violations: Array<[string, Array<Array<number>>, string, string | RegExp]> = [
    ["unknown record kind", [record(9, [])], "Malformed", "unknown record kind 9"],
    ["record overrunning its frame", [[RecordKind.Message, 10, 1, 2]], "Malformed", "record overruns frame"],
    ["record length longer than 4 bytes", [[RecordKind.Padding, 0x80, 0x80, 0x80, 0x80, 0x01]], "Malformed", "bad"],
    ["truncated record length", [[RecordKind.Padding, 0x80]], "Malformed", "bad record length"],
    ["chunk next without a start", [record(RecordKind.ChunkNext, [1, 2])], "Malformed", "chunk without a start"],
    [
      "message inside a chunked message",
      [[...record(RecordKind.ChunkStart, [10, 1]), ...record(RecordKind.Message, ping)]],
      "Malformed",
      "message inside a chunked message"
    ],
    [
      "chunk start inside a chunked message",
      [record(RecordKind.ChunkStart, [10, 1]), record(RecordKind.ChunkStart, [10, 1])],
      "Malformed",
      "chunk start inside a chunked message"
    ],
    ["chunk total above the limit", [record(RecordKind.ChunkStart, [0x81, 0x08])], "MessageTooLarge", "1025 bytes"],
    ["bad chunk total", [record(RecordKind.ChunkStart, [0x80])], "Malformed", "bad chunk total"],
    ["chunk longer than its message", [record(RecordKind.ChunkStart, [1, 7, 7])], "Malformed", "chunk longer"],
    [
      "chunks overrunning their message",
      [record(RecordKind.ChunkStart, [3, 0x92]), record(RecordKind.ChunkNext, [2, 1, 1])],
      "Malformed",
      "chunks overrun their message"
    ],
    ["rekey record with data", [record(RecordKind.Rekey, [0])], "Malformed", "rekey record with data"],
    [
      "record after a rekey",
      [[...record(RecordKind.Rekey, []), ...record(RecordKind.Padding, [])]],
      "Malformed",
      "record after rekey marker"
    ],
    [
      "a message that is not MessagePack",
      [record(RecordKind.Message, [0x94, 0x04, 0xa5, 0x61])],
      "Malformed",
      "not MessagePack"
    ],
    ["a message that is not a tagged array", [record(RecordKind.Message, [0x01])], "Malformed", "tagged array"],
    [
      "a known message with invalid fields",
      [record(RecordKind.Message, [...packr.pack([4, "bad id!", "x", 1])])],
      "Malformed",
      /MessageId/
    ],
    [
      "a chunked message that is invalid",
      [record(RecordKind.ChunkStart, [3, 0x92, 0x02]), record(RecordKind.ChunkNext, [0xff])],
      "Malformed",
      /Ping|Expected/
    ]
  ]

  for (const [name, plaintexts, reason, detail] of violations) {
    it(`rejects ${name} with a typed error`, () => {
      const { receive, wire } = frames(...plaintexts)
      const decoder = new FrameDecoder(receive, { maxMessageBytes: 1024, rekeyAfterFrames: 1 << 20 })
      decoder.push(wire)
      const out: Array<WireMessage> = []
      const error = decoder.drainMessages(out)
      assert.strictEqual(error?._tag, "ProtocolError")
      assert.strictEqual(error?.reason, reason)
      if (typeof detail === "string") assert.include(error?.detail, detail)
      else assert.match(error?.detail ?? "", detail)
      assert.strictEqual(out.length, 0)
    })
  }

  it("skips unknown message types and padding, and keeps what came before a violation", () => {
    const { receive, wire } = frames(
      [...record(RecordKind.Padding, [1, 2, 3]), ...record(RecordKind.Message, [...packr.pack([99, "future"])])],
      [...record(RecordKind.Message, ping), ...record(9, [])]
    )
    const decoder = new FrameDecoder(receive)
    decoder.push(wire)
    const out: Array<WireMessage> = []
    assert.strictEqual(decoder.drainMessages(out)?.reason, "Malformed")
    assert.deepStrictEqual(out, [{ _tag: "Ping", seq: 1 }])
  })

  it("rejects frames too short to hold a tag, and frames that fail authentication", () => {
    const short = new FrameDecoder(cipherPair().receive)
    short.push(Uint8Array.of(0, 16))
    assert.strictEqual(short.drainMessages([])?.reason, "Malformed")
    const { wire } = frames(ping)
    const forged = new FrameDecoder(cipherPair().receive)
    forged.push(wire)
    assert.strictEqual(forged.drainMessages([])?.reason, "Decrypt")
    for (const at of [2, 40_000, 65_536]) {
      const { receive, send } = cipherPair()
      const big = new FrameEncoder(send).encodeMessages([
        { _tag: "Text", id: "m1" as MessageId, body: "z".repeat(Messages.MAX_BODY_LENGTH), sentAt: 1 }
      ])
      big[at]! ^= 1
      const decoder = new FrameDecoder(receive)
      decoder.push(big)
      const out: Array<WireMessage> = []
      assert.strictEqual(decoder.drainMessages(out)?.reason, "Decrypt")
      assert.strictEqual(out.length, 0)
    }
  })

  const plaintext = fc.array(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => [...b]),
      fc.tuple(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 40 })).map(([k, d]) => record(k, [...d])),
      handMessage.map((m) => record(RecordKind.Message, [...MessageCodec.encode(m)])).filter((r) => r.length < 3000)
    ),
    { minLength: 1, maxLength: 4 }
  ).map((records) => records.flat())

  it.prop("authentic frames with random plaintext give messages or a typed error, never a throw", [
    fc.array(plaintext, { minLength: 1, maxLength: 6 })
  ], ([plaintexts]) => {
    const { receive, wire } = frames(...plaintexts.filter((p) => p.length <= MAX_FRAME_PLAINTEXT))
    const decoder = new FrameDecoder(receive, { maxMessageBytes: 4096, rekeyAfterFrames: 1 << 20 })
    decoder.push(wire)
    const out: Array<WireMessage> = []
    const error = decoder.drainMessages(out)
    if (error !== undefined) assert.strictEqual(error._tag, "ProtocolError")
    for (const message of out) assert.isTrue(typeof message._tag === "string")
  }, { fastCheck: { numRuns: 300 } })

  it("a decoded group invite's keys are copies, not views of the frame", () => {
    const { receive, send } = cipherPair()
    const invite: WireMessage = {
      _tag: "GroupInvite",
      groupId: "g0123456789abcdef0123456789abcde" as GroupId,
      name: "team",
      members: [{
        uid: "0123456789abcdef0123456789abcdef",
        username: "ann",
        publicKey: new Uint8Array(32).fill(5)
      }] as unknown as Messages.GroupInvite["members"]
    }
    const wire = new FrameEncoder(send).encodeMessages([invite])
    const decoder = new FrameDecoder(receive)
    decoder.push(wire)
    const out: Array<WireMessage> = []
    assert.isUndefined(decoder.drainMessages(out))
    const decoded = out[0] as Messages.GroupInvite
    const key = decoded.members[0]!.publicKey
    assert.notStrictEqual(key.buffer, wire.buffer)
    const next = cipherPair()
    const other = new FrameDecoder(next.receive)
    other.push(
      new FrameEncoder(next.send).encodeMessages([{
        _tag: "Text",
        id: "m" as MessageId,
        body: "z".repeat(300),
        sentAt: 0
      }])
    )
    assert.isUndefined(other.drainMessages([]))
    wire.fill(0)
    assert.deepStrictEqual([...key], new Array(32).fill(5))
    assert.strictEqual(key.length, 32)
  })
})
