/**
 * `run`: one task on Podman, the way the Nomad client runs it, in the terminal.
 *
 * - The task is checked first (./check.ts), so a bad config fails before Podman is touched.
 * - Its alloc dir is a new private directory (`mkdtemp`), removed at the end with its contents
 *   (symlinks planted inside are removed, never followed).
 * - Its output comes here; the published host ports and the task events (image pulls) are shown
 *   on stderr.
 * - Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) stop it as Nomad's
 *   StopTask does: the task's `kill_signal` (else the driver's choice), SIGKILL after its
 *   `kill_timeout`. A second signal kills it at once. The container is removed in every case.
 * - The exit code is the task's (128 + signal when a signal ended it); 125 when the driver itself
 *   failed, as `podman run` does, so a failed pull cannot be mistaken for the task exiting 1.
 */
import { Cause, Duration, Effect, Exit, Fiber, Layer, Logger, References, Stream } from "effect"
import type { ExitResult } from "../domain/results.ts"
import { SIGKILL } from "../domain/values/signals.ts"
import { Driver } from "../services/Driver.ts"
import type { ParsedArgs } from "./args.ts"
import { prepare } from "./check.ts"
import type { CliIO } from "./commands.ts"
import { makeAllocDir, networkNote, removeAllocDir } from "./task.ts"
import { FileSystem } from "effect"
import * as path from "node:path"

/** `run`'s exit code when the driver, not the task, failed (`podman run` uses 125 too). */
export const DRIVER_FAILED = 125

/** The process exit code for a task's exit: its code, or 128 + signal when a signal ended it. */
export const exitCodeOf = (result: ExitResult): number =>
  result.exitCode !== 0 ? result.exitCode : result.signal > 0 ? 128 + result.signal : 0

/** The driver's logs in the terminal, on stderr: warnings and errors only unless `--verbose`. */
export const cliLogger = (io: CliIO, verbose: boolean) =>
  Layer.merge(
    Logger.layer([
      Logger.make(({ cause, logLevel, message }) => {
        const text = [message].flat().map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")
        io.err(`[${logLevel.toLowerCase()}] ${text}${cause.reasons.length > 0 ? `\n${Cause.pretty(cause)}` : ""}`)
      })
    ]),
    Layer.succeed(References.MinimumLogLevel, verbose ? "Debug" : "Warn")
  )

const STOP_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]

const processSignals = (handler: (signal: NodeJS.Signals) => void): (() => void) => {
  for (const s of STOP_SIGNALS) process.on(s, handler)
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler)
  }
}

export const run = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    const self = yield* Effect.fiber
    const runHere = Effect.runForkWith(yield* Effect.context<never>())
    // Registered first: a signal while the job is read or the image pulled aborts cleanly.
    let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
      io.err(`==> ${signal}: aborting`)
      runHere(Fiber.interrupt(self))
    }
    const unregister = (io.onSignal ?? processSignals)((s) => onSignal(s))
    yield* Effect.addFinalizer(() => Effect.sync(unregister))

    const allocDir = yield* Effect.acquireRelease(
      makeAllocDir(),
      (dir) => removeAllocDir(dir).pipe(Effect.catch((e) => Effect.sync(() => io.err(`==> could not remove the alloc dir ${dir}: ${e.message}`))))
    )
    const prepared = yield* prepare(args, io.env, { ports: "free", allocId: args.allocId ?? globalThis.crypto.randomUUID(), allocDir })
    const { task, config, spec, killSignal, killTimeout, plugin } = prepared
    yield* makeTaskDirs(allocDir, task.name)
    const note = networkNote(prepared.src)
    if (note !== undefined) io.err(`==> note: ${note}`)
    const layers = yield* Effect.promise(() => import("../../layers/stacks.ts"))

    const body = Effect.gen(function*() {
      const driver = yield* Driver
      let phase: "starting" | "running" | "stopping" | "killing" = "starting"
      const stopping = `${killSignal?.name ?? "its stop signal"}, SIGKILL after ${Duration.format(killTimeout)}`
      onSignal = (signal) => {
        if (phase === "starting") {
          io.err(`==> ${signal}: aborting the start`)
          runHere(Fiber.interrupt(self))
        } else if (phase === "running") {
          phase = "stopping"
          io.err(`==> ${signal}: stopping ${task.name} (${stopping}; again to kill it now)`)
          runHere(Effect.ignore(driver.stopTask(task.id, killTimeout, killSignal)))
        } else if (phase === "stopping") {
          // Kill rather than destroy here: the removal happens once, below, after the task exited
          // (two concurrent removals of one container can fail and leave it behind).
          phase = "killing"
          io.err(`==> ${signal}: killing ${task.name}`)
          runHere(Effect.ignore(driver.signalTask(task.id, SIGKILL)))
        }
      }
      let started = false
      // Task events (image pull progress and the like), as Nomad shows them in `alloc status`.
      const events = yield* Effect.forkChild(Stream.runForEach(driver.taskEvents, (e) =>
        Effect.sync(() => {
          if (e.taskId === task.id) io.err(`==> ${e.message}`)
        })))
      return yield* Effect.gen(function*() {
        io.err(`==> starting task ${task.name} (image ${spec.image}) in alloc dir ${allocDir}`)
        // onExit runs even if an interrupt lands right after the start succeeded, so the
        // container is never left behind.
        const { state } = yield* driver.startTask(task, config).pipe(Effect.onExit((exit) => Effect.sync(() => {
          started = Exit.isSuccess(exit)
        })))
        if (phase === "starting") phase = "running"
        io.err(`==> task ${task.name} started: container ${state.containerId.slice(0, 12)} (Ctrl-C stops it)`)
        for (const line of publishedPorts(prepared)) io.err(`==> ${line}`)
        const result = yield* driver.waitTask(task.id)
        if (result.oomKilled) io.err(`==> task ${task.name} was killed by the OOM killer`)
        if (result.error) io.err(`==> task ${task.name}: ${result.error}`)
        io.err(`==> task ${task.name} exited with code ${result.exitCode}${result.signal > 0 ? ` (signal ${result.signal})` : ""}`)
        return exitCodeOf(result)
      }).pipe(
        Effect.ensuring(Effect.suspend(() => started ? Effect.ignore(driver.destroyTask(task.id, true)) : Effect.void)),
        Effect.ensuring(Fiber.interrupt(events))
      )
    })
    return yield* body.pipe(Effect.provide(layers.cliLayer({ config: plugin })), Effect.provide(cliLogger(io, args.verbose === true)))
  }).pipe(Effect.scoped)

/** `alloc/`, `<task>/local` and `<task>/secrets`, as Nomad's alloc runner creates them. */
const makeTaskDirs = (allocDir: string, taskName: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const sub of [taskName, path.join(taskName, "local"), path.join(taskName, "secrets")]) {
      const p = path.join(allocDir, sub)
      yield* fs.makeDirectory(p)
      // the umask narrowed the mode; a task running as another user must still write here
      yield* fs.chmod(p, 0o777)
    }
  }).pipe(Effect.mapError((e) => new Error(`cannot create the task's directories in ${allocDir}: ${e.message}`)))

/** `port db: 127.0.0.1:20123 -> 6379 (tcp, udp)` for each published port. */
const publishedPorts = (prepared: Effect.Success<ReturnType<typeof prepare>>): ReadonlyArray<string> => {
  const { spec, task } = prepared
  const labels = new Map<number, string>()
  for (const p of task.resources.ports) labels.set(p.value, p.label)
  for (const n of task.resources.networks) for (const p of [...n.reservedPorts, ...n.dynamicPorts]) labels.set(p.value, p.label)
  const byHost = new Map<string, { label: string; protocols: Array<string> }>()
  for (const m of spec.portmappings ?? []) {
    const key = `${m.host_ip ?? "0.0.0.0"}:${m.host_port} -> ${m.container_port}`
    const entry = byHost.get(key) ?? { label: labels.get(m.host_port) ?? "", protocols: [] }
    entry.protocols.push(m.protocol ?? "tcp")
    byHost.set(key, entry)
  }
  return [...byHost].map(([key, { label, protocols }]) => `port ${label}: ${key} (${protocols.join(", ")})`)
}
