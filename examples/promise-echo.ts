// Two nodes in one process, without Effect: Bob answers what Alice sends. Usage:
//   tsx examples/promise-echo.ts
import { Jarvis } from "jarvis"

const settings = { bindAddress: "127.0.0.1", listenPort: 0 }
const alice = await Jarvis.start({ username: "alice", settings })
const bob = await Jarvis.start({ username: "bob", settings })
await alice.addContact(bob.linkCode("127.0.0.1"))
await bob.addContact(alice.linkCode("127.0.0.1"))

bob.on(async (event) => {
  if (event._tag === "MessageReceived") await bob.send(event.contact, `echo: ${event.body}`)
})
const answer = new Promise<string>((resolve) =>
  alice.on((event) => {
    if (event._tag === "MessageReceived") resolve(event.body)
  })
)
const sent = await alice.send(bob.profile.uid, "hello")
process.stdout.write(`sent ${sent.id}, got "${await answer}"\n`)
await Promise.all([alice.close(), bob.close()])
