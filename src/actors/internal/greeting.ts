/**
 * What this runtime says about itself when a link opens, and the framing it uses: the same for
 * links it dials (PeerActor) and links it accepts (Listener).
 */
import type { Hello } from "../../domain/Messages.js"
import type { FramingOptions } from "../../protocol/Framing.js"
import type { Profile } from "../../services/Identity.js"
import type { RuntimeSettings } from "../../services/RuntimeConfig.js"

/** The version string peers see in our Hello. */
export const AGENT = "jarvis/2.0.0"

export const helloOf = (profile: Profile): Hello => ({
  _tag: "Hello",
  uid: profile.uid,
  username: profile.username,
  listenPort: profile.listenPort,
  agent: AGENT,
  features: ["receipts", "typing", "groups"]
})

export const framingOf = (settings: RuntimeSettings): FramingOptions => ({
  maxMessageBytes: settings.maxMessageBytes,
  rekeyAfterFrames: 1 << 20
})
