/**
 * The human CLI's commands: validate, plan, run, doctor, version, help. Each returns the process
 * exit code; output goes through `CliIO` so tests can run the commands in-process.
 *
 * stdout carries only the result ("valid", the spec JSON, the task's own output, doctor's
 * report); problems go to stderr, one `file:line:col: field: reason` line each.
 *
 * Exit codes: 0 success, 1 invalid config / failure / unhealthy, 2 usage error; `run` exits with
 * the task's exit code (128 + signal when a signal ended it), 125 when the driver itself failed
 * (a bad config, an image that cannot be pulled, Podman unreachable: as `podman run` does), 130
 * when a signal aborted the start.
 */
import { Cause, Effect, Exit, FileSystem, Option } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { commandUsage, parseArgs, type ParsedArgs, usage, UsageError } from "./args.ts"
import { prepare } from "./check.ts"
import { Diagnostics, formatDiagnostic, sortDiagnostics } from "./diagnostics.ts"
import { loadPluginConfig } from "./pluginfile.ts"
import { networkNote, PLAN_ALLOC_ID, planAllocDir } from "./task.ts"
import { pluginCommit, pluginVersion } from "./version.ts"

/** Where the CLI writes, and what it reads from the environment. */
export interface CliIO {
  /** Writes a line (newline added) to stdout. */
  readonly out: (line: string) => void
  /** Writes a line (newline added) to stderr. */
  readonly err: (line: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  /** The program name shown in help. */
  readonly program: string
  /**
   * Registers a handler for the signals that stop `run` (Ctrl-C, SIGTERM, SIGHUP); returns the
   * unregister function. Defaults to the process's signals.
   */
  readonly onSignal?: (handler: (signal: NodeJS.Signals) => void) => () => void
}

/** Prints a failure: diagnostics one per line, sorted by position; anything else as its message. */
export const reportFailure = (io: CliIO, cause: Cause.Cause<unknown>): void => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const e = error.value
    if (e instanceof Diagnostics) {
      for (const d of sortDiagnostics(e.diagnostics)) io.err(formatDiagnostic(d))
      return
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`)
    return
  }
  if (Cause.hasInterruptsOnly(cause)) {
    io.err("interrupted")
    return
  }
  io.err(`error: ${Cause.pretty(cause)}`)
}

const validate = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    if (args.file === undefined) {
      // the plugin block alone
      yield* loadPluginConfig(args.pluginConfig!)
    } else {
      const { src } = yield* prepare(args, io.env, { ports: "plan", allocId: PLAN_ALLOC_ID, allocDir: planAllocDir() })
      const note = networkNote(src)
      if (note !== undefined) io.err(`note: ${note}`)
    }
    io.out("valid")
  })

const plan = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    const { spec, src } = yield* prepare(args, io.env, { ports: "plan", allocId: args.allocId ?? PLAN_ALLOC_ID, allocDir: planAllocDir() })
    const note = networkNote(src)
    if (note !== undefined) io.err(`note: ${note}`)
    io.out(JSON.stringify(spec, null, 2))
  })

/** Runs one command to its exit code; `failureCode` is the code of a failure. */
const runEffect = async <E>(io: CliIO, effect: Effect.Effect<number | void, E, FileSystem.FileSystem>, failureCode = 1): Promise<number> => {
  const exit = await Effect.runPromiseExit(effect.pipe(Effect.provide(NodeFileSystem.layer)))
  if (Exit.isSuccess(exit)) return typeof exit.value === "number" ? exit.value : 0
  reportFailure(io, exit.cause)
  return Cause.hasInterruptsOnly(exit.cause) ? 130 : failureCode
}

/** The CLI: parses `argv` (without the executable) and runs the command. Never throws. */
export const runCli = async (argv: ReadonlyArray<string>, io: CliIO): Promise<number> => {
  let args: ParsedArgs
  try {
    args = parseArgs(argv)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`)
      io.err(`Run '${io.program} --help' for usage.`)
      return 2
    }
    throw e
  }
  switch (args.command) {
    case "help":
      io.out((args.helpFor ? commandUsage(io.program, args.helpFor) : usage(io.program)).trimEnd())
      return 0
    case "version":
      io.out(`${io.program} ${pluginVersion}`)
      io.out(`commit ${pluginCommit}`)
      io.out(`node ${process.version}`)
      return 0
    case "validate":
      return runEffect(io, validate(args, io))
    case "plan":
      return runEffect(io, plan(args, io))
    case "run": {
      // the driver's layers load only here (and in doctor), so the other commands start fast
      const { run, DRIVER_FAILED } = await import("./run.ts")
      return runEffect(io, run(args, io), DRIVER_FAILED)
    }
    case "doctor": {
      const { doctor } = await import("./doctor.ts")
      return runEffect(io, doctor(args, io))
    }
  }
}
