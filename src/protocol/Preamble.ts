/**
 * The first bytes a v2 initiator sends. They let one listening port tell v2 from v1 (a v1
 * initiator starts with the 4-byte length 0x00000020), and a v1 acceptor reading them sees a
 * key length of 0x4A525653 ≠ 32 and closes at once.
 *
 * @since 2.0.0
 */
import { Effect } from "effect"
import type { TransportError } from "../domain/Errors.js"
import { ProtocolError } from "../domain/Errors.js"
import type { ByteStream } from "./ByteStream.js"
import { fill } from "./ByteStream.js"
import type { ByteQueue } from "./internal/ByteQueue.js"

/**
 * "JRVS", protocol version 2, pattern 1 (Noise IK), two reserved zero bytes.
 *
 * @since 2.0.0
 * @category constants
 */
export const PREAMBLE = Uint8Array.of(0x4a, 0x52, 0x56, 0x53, 0x02, 0x01, 0x00, 0x00)

/**
 * @since 2.0.0
 * @category constants
 */
export const V1_KEY_RECORD_PREFIX = Uint8Array.of(0x00, 0x00, 0x00, 0x20)

/**
 * Which protocol an inbound connection speaks. Consumes the v2 preamble; leaves v1 bytes unread.
 *
 * @since 2.0.0
 * @category sniffing
 */
export const sniff = (
  stream: ByteStream,
  queue: ByteQueue
): Effect.Effect<"v1" | "v2", ProtocolError | TransportError> =>
  Effect.gen(function*() {
    yield* fill(stream, queue, 4)
    const head = [0, 1, 2, 3].map((i) => queue.byteAt(i))
    if (head.every((b, i) => b === V1_KEY_RECORD_PREFIX[i])) return "v1" as const
    if (!head.every((b, i) => b === PREAMBLE[i])) {
      return yield* new ProtocolError({
        reason: "Preamble",
        detail: "neither a Jarvis v2 preamble nor a v1 key record"
      })
    }
    yield* fill(stream, queue, PREAMBLE.length)
    const rest = queue.read(PREAMBLE.length).subarray(4)
    if (rest[0] !== PREAMBLE[4] || rest[1] !== PREAMBLE[5] || rest[2] !== 0 || rest[3] !== 0) {
      return yield* new ProtocolError({
        reason: "Preamble",
        detail: `unsupported version ${rest[0]} / pattern ${rest[1]}`
      })
    }
    return "v2" as const
  })
