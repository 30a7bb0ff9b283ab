/**
 * The unlocked identity the runtime acts as. Present only while unlocked.
 *
 * @since 2.0.0
 */
import { Context, Layer } from "effect"
import type { UnlockedIdentity } from "./Identity.js"

/**
 * @since 2.0.0
 * @category services
 */
export class LocalIdentity extends Context.Tag("jarvis/LocalIdentity")<LocalIdentity, UnlockedIdentity>() {
  static readonly layer = (identity: UnlockedIdentity) => Layer.succeed(LocalIdentity, identity)
}
