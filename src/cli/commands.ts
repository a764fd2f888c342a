/**
 * The human CLI's commands: validate, plan, run, doctor, version, help. Each returns the process
 * exit code; output goes through `CliIO` so tests can run the commands in-process.
 *
 * Exit codes: 0 success, 1 invalid config / failure / unhealthy, 2 usage error; `run` exits with
 * the container's exit code (128 + signal when a signal ended it, 130 when Ctrl-C aborted the start).
 */
import { Cause, Effect, Exit, Fiber, Layer, Logger, Option, References, Stream } from "effect"
import { decodeUnknownTaskConfig } from "../domain/TaskConfig.ts"
import { InvalidTaskConfig } from "../domain/errors.ts"
import { defaultPluginConfig, resolveSockets } from "../domain/PluginConfig.ts"
import type { ExitResult } from "../domain/results.ts"
import { SIGKILL } from "../domain/values/signals.ts"
import { Driver } from "../services/Driver.ts"
import { Podman } from "../services/Podman.ts"
import { translate } from "../translate/index.ts"
import { commandUsage, parseArgs, type ParsedArgs, usage, UsageError } from "./args.ts"
import { interpolate, loadTask, TaskFileError, type TaskSource } from "./jobfile.ts"
import { allocatePorts, createAllocDir, localFacts, removeAllocDir, toNomadTask } from "./task.ts"
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
   * Registers a handler for Ctrl-C / SIGTERM during `run`; returns the unregister function.
   * Defaults to process signals.
   */
  readonly onInterrupt?: (handler: () => void) => () => void
}

/** Loads the driver's layers (layers/stacks.ts) only for `run` and `doctor`, so the other commands start fast. */
const loadDriverLayers = () => import("../../layers/stacks.ts")

/** The Podman address: `--socket-path`, else $PODMAN_SOCKET, else the plugin's default. */
export const socketAddress = (args: ParsedArgs, env: CliIO["env"]): string =>
  args.socketPath ?? (env["PODMAN_SOCKET"] || undefined) ?? resolveSockets(defaultPluginConfig)[0]!.address

/**
 * The driver's logs in the terminal: on stderr (stdout carries the task's output), warnings and
 * errors only unless `--verbose`.
 */
const cliLogger = (io: CliIO, verbose: boolean) =>
  Layer.merge(
    Logger.layer([
      Logger.make(({ cause, logLevel, message }) => {
        const text = [message].flat().map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")
        io.err(`[${logLevel.toLowerCase()}] ${text}${cause.reasons.length > 0 ? `\n${Cause.pretty(cause)}` : ""}`)
      })
    ]),
    Layer.succeed(References.MinimumLogLevel, verbose ? "Debug" : "Warn")
  )

/** Renders a failure: config issues one per line, anything else as its message. */
const reportFailure = (io: CliIO, cause: Cause.Cause<unknown>): void => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const e = error.value
    if (e instanceof InvalidTaskConfig) {
      for (const issue of e.issues) io.out(`${issue.field}: ${issue.reason}`)
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

/** Loads the task and checks it is a podman task. */
const loadPodmanTask = (file: string, task: string | undefined) =>
  Effect.flatMap(loadTask(file, task), (src) =>
    src.driver !== undefined && src.driver !== "podman"
      ? Effect.fail(new TaskFileError({ file, detail: `task "${src.taskName}" uses driver "${src.driver}", not "podman"` }))
      : Effect.succeed(src))

/** The task, its host ports and its config with `${VAR}` references resolved, as Nomad prepares them. */
const prepare = (src: TaskSource) =>
  Effect.promise(() => allocatePorts(src.ports)).pipe(
    Effect.map((ports) => {
      const task = toNomadTask(src, ports)
      return { task, rawConfig: interpolate(src.rawConfig, task.env) }
    })
  )

/**
 * Everything StartTask checks short of Podman itself, on the task as Nomad would hand it over:
 * the config decoded (every value parsed and checked) and translated against the task (group
 * ports, task dir, plugin volumes policy). `validate`, `plan` and `run` all go through it.
 */
const check = (src: TaskSource) =>
  Effect.gen(function*() {
    const { rawConfig, task } = yield* prepare(src)
    const config = yield* decodeUnknownTaskConfig(rawConfig)
    const spec = yield* translate({ config, task, plugin: defaultPluginConfig, podman: localFacts() })
    return { task, config, spec }
  })

const validate = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    yield* check(yield* loadPodmanTask(args.file!, args.task))
    io.out("valid")
  })

const plan = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    const { spec } = yield* check(yield* loadPodmanTask(args.file!, args.task))
    io.out(JSON.stringify(spec, null, 2))
  })

/** The process exit code for a task's exit: its code, or 128 + signal when a signal ended it. */
export const exitCodeOf = (result: ExitResult): number =>
  result.exitCode !== 0 ? result.exitCode : result.signal > 0 ? 128 + result.signal : 0

const processSignals = (handler: () => void): (() => void) => {
  process.on("SIGINT", handler)
  process.on("SIGTERM", handler)
  return () => {
    process.off("SIGINT", handler)
    process.off("SIGTERM", handler)
  }
}

/** How long a Ctrl-C'd task gets between its kill signal and SIGKILL. */
const STOP_TIMEOUT_MILLIS = 5_000

const run = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    // Checked before touching Podman, so a bad config fails fast with the same report as `validate`.
    const { task, config } = yield* check(yield* loadPodmanTask(args.file!, args.task))
    const socketPath = socketAddress(args, io.env)
    const layers = yield* Effect.promise(loadDriverLayers)
    yield* Effect.acquireRelease(
      Effect.promise(() => createAllocDir(task)),
      () => Effect.promise(() => removeAllocDir(task))
    )
    const body = Effect.gen(function*() {
      const driver = yield* Driver
      let phase: "starting" | "running" | "stopping" | "killing" = "starting"
      const self = yield* Effect.fiber
      // Handler effects run with this fiber's services, so their logs reach the CLI logger.
      const runHere = Effect.runForkWith(yield* Effect.context<never>())
      const onInterrupt = io.onInterrupt ?? processSignals
      const unregister = onInterrupt(() => {
        if (phase === "starting") {
          io.err("==> interrupted: aborting the start")
          runHere(Fiber.interrupt(self))
        } else if (phase === "running") {
          phase = "stopping"
          io.err(`==> stopping ${task.name} (Ctrl-C again to kill it at once)`)
          runHere(Effect.ignore(driver.stopTask(task.id, STOP_TIMEOUT_MILLIS)))
        } else if (phase === "stopping") {
          // Kill rather than destroy here: the removal happens once, below, after the task exited
          // (two concurrent removals of one container can fail and leave it behind).
          phase = "killing"
          io.err(`==> killing ${task.name}`)
          runHere(Effect.ignore(driver.signalTask(task.id, SIGKILL)))
        }
      })
      let started = false
      // Task events (image pull progress and the like), as Nomad would show them in `alloc status`.
      const events = yield* Effect.forkChild(Stream.runForEach(driver.taskEvents, (e) =>
        Effect.sync(() => {
          if (e.taskId === task.id) io.err(`==> ${e.message}`)
        })))
      return yield* Effect.gen(function*() {
        io.err(`==> starting task ${task.name} (image ${config.image.text}) on ${socketPath}`)
        // onExit runs even if an interrupt lands right after the start succeeded, so the
        // container is never left behind.
        const { state } = yield* driver.startTask(task, config).pipe(Effect.onExit((exit) => Effect.sync(() => {
          started = Exit.isSuccess(exit)
        })))
        if (phase === "starting") phase = "running"
        io.err(`==> task ${task.name} started: container ${state.containerId.slice(0, 12)} (Ctrl-C stops it)`)
        const result = yield* driver.waitTask(task.id)
        if (result.oomKilled) io.err(`==> task ${task.name} was killed by the OOM killer`)
        if (result.error) io.err(`==> task ${task.name}: ${result.error}`)
        io.err(`==> task ${task.name} exited with code ${result.exitCode}${result.signal > 0 ? ` (signal ${result.signal})` : ""}`)
        return exitCodeOf(result)
      }).pipe(
        Effect.ensuring(Effect.suspend(() => started ? Effect.ignore(driver.destroyTask(task.id, true)) : Effect.void)),
        Effect.ensuring(Effect.sync(unregister)),
        Effect.ensuring(Fiber.interrupt(events))
      )
    })
    return yield* body.pipe(Effect.provide(layers.cliLayer({ socketPath })), Effect.provide(cliLogger(io, args.verbose === true)))
  }).pipe(Effect.scoped)

/** Checks the socket through the same transport the plugin uses (REST or varlink), then fingerprints it. */
const doctor = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    const address = socketAddress(args, io.env)
    io.out(`socket: ${address}`)
    const layers = yield* Effect.promise(loadDriverLayers)
    return yield* Effect.gen(function*() {
      const client = yield* (yield* Podman).client()
      const ping = yield* client.ping.pipe(Effect.timeout("5 seconds"), Effect.result)
      if (ping._tag === "Failure") {
        io.out(`ping: FAILED (${ping.failure.message})`)
      } else {
        io.out(`ping: ok (${client.capabilities.transport}, API ${ping.success.apiVersion})`)
        const info = yield* client.info.pipe(Effect.timeout("10 seconds"), Effect.result)
        io.out(
          info._tag === "Success"
            ? `podman: ${info.success.version} (API ${info.success.apiVersion}, rootless ${info.success.rootless}, cgroup ${info.success.cgroupVersion || "?"})`
            : `podman: info FAILED (${info.failure.message})`
        )
      }
      const first = yield* Stream.runHead((yield* Driver).fingerprint).pipe(Effect.timeoutOption("30 seconds"))
      const fp = Option.flatten(first)
      if (Option.isNone(fp)) {
        io.out("fingerprint: none within 30 s")
        return 1
      }
      const { attributes, health, healthDescription } = fp.value
      io.out("attributes:")
      for (const key of Object.keys(attributes).sort()) io.out(`  ${key} = ${String(attributes[key])}`)
      io.out(`health: ${health}${healthDescription ? ` (${healthDescription})` : ""}`)
      return ping._tag === "Success" && health === "healthy" ? 0 : 1
    }).pipe(Effect.provide(layers.cliLayer({ socketPath: address })), Effect.provide(cliLogger(io, args.verbose === true)))
  })

/** Runs one command to its exit code. */
const runEffect = async <E>(io: CliIO, effect: Effect.Effect<number | void, E>): Promise<number> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return typeof exit.value === "number" ? exit.value : 0
  reportFailure(io, exit.cause)
  return Cause.hasInterruptsOnly(exit.cause) ? 130 : 1
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
    case "run":
      return runEffect(io, run(args, io))
    case "doctor":
      return runEffect(io, doctor(args, io))
  }
}
