console.log("jarvis demo: not yet — the daemon and CLI arrive with the daemon issue")
