// Echoes every message back to its sender, through the daemon's IPC API. Usage:
//   JARVIS_HOME=~/.local/share/jarvis tsx examples/echo-bot.ts [cursor-file]
// It remembers the last event it handled, so a restart replays what it missed, and its reply ids
// are derived from the message ids, so a message handled twice is still answered once.
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Stream } from "effect"
import { Ids, JarvisClient } from "jarvis"
import * as Fs from "node:fs"

const cursorFile = process.argv[2] ?? "echo-bot.cursor"
const from = Fs.existsSync(cursorFile) ? Number(Fs.readFileSync(cursorFile, "utf8")) : undefined

const bot = Effect.gen(function*() {
  const jarvis = yield* JarvisClient.JarvisClient
  yield* Effect.log(`echo bot running as ${(yield* jarvis.identity.show()).username}`)
  yield* jarvis.events.subscribe({ from }).pipe(Stream.runForEach(({ cursor, event }) =>
    Effect.zipRight(
      event._tag === "MessageReceived"
        ? jarvis.messages.send({
          contact: event.contact,
          body: `echo: ${event.body}`,
          id: Ids.MessageId.make(`echo-${event.id}`.slice(0, 64))
        })
        : Effect.void,
      Effect.sync(() => Fs.writeFileSync(cursorFile, String(cursor)))
    )
  ))
})

bot.pipe(Effect.provide(JarvisClient.JarvisClient.layerDataDir()), NodeRuntime.runMain)
