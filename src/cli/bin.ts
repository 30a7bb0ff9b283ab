/**
 * The `jarvis` executable.
 *
 * @since 2.0.0
 */
import { ValidationError } from "@effect/cli"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit } from "effect"
import { hoistRootOptions } from "./Argv.js"
import { run } from "./Commands.js"
import { exitCodeOf } from "./Output.js"
import * as Platform from "./Platform.js"

const argv = hoistRootOptions(process.argv)
const jsonOutput = argv.includes("--json")

const report = (error: { readonly _tag?: unknown; readonly message?: unknown; readonly reason?: unknown }) =>
  Effect.gen(function*() {
    // @effect/cli has already printed what was wrong with the command line.
    const usage = ValidationError.isValidationError(error)
    const code = usage ? 2 : exitCodeOf(error)
    if (usage) {
      if (jsonOutput) {
        yield* Console.log(
          JSON.stringify({ error: { tag: error._tag, message: "invalid command line", exitCode: code } })
        )
      }
    } else {
      const message = typeof error.message === "string" && error.message !== "" ? error.message : String(error)
      if (jsonOutput) {
        yield* Console.log(JSON.stringify({
          error: {
            tag: error._tag,
            ...(error.reason === undefined ? {} : { reason: error.reason }),
            message,
            exitCode: code
          }
        }))
      } else {
        yield* Console.error(`jarvis: ${message}`)
      }
    }
    process.exitCode = code
  })

const program = Effect.suspend(() => run(argv)).pipe(
  Effect.catchAll((error) => report(error as never)),
  Effect.catchAllDefect((defect) =>
    Effect.zipRight(
      Console.error(`jarvis: internal error: ${Cause.pretty(Cause.die(defect))}`),
      Effect.sync(() => (process.exitCode = 1))
    )
  ),
  Effect.provide(Platform.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    onExit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : Number(process.exitCode ?? 0))
})
