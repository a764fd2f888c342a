/**
 * The task runtime: what runs for a task while it is tracked. When a task is registered (started or
 * recovered) two fibers are forked into its `fibers` scope:
 * - the exit watcher (exits.ts), which completes the task's `exit` once with how the container ended,
 *   starting from the describer's inspect (or the one the task was registered with);
 * - the describer: the inspect a start did not make (StartTask replies after two Podman calls,
 *   create and start; the container's log file, cgroup and stop signal are read afterwards), then
 *   the log forwarder (logs.ts), which copies the container's stdout/stderr to the task's log sink
 *   until the container has exited and its last line is written.
 * Both end when the task's `fibers` scope closes (DestroyTask, or the plugin shutting down).
 */
import { Deferred, Effect, Exit, Option, Schedule, Scope } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { ExitResult } from "../domain/results.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { RetainedLogs } from "../services/LogSink.ts"
import type { ContainerInspect, PodmanClient } from "../services/Podman.ts"
import { watchExit } from "./exits.ts"
import type { LogFollower } from "./logFollower.ts"
import { makeLogForwarder } from "./logs.ts"
import type { TaskEntry, TaskHostFiles } from "./registry.ts"

/** What a task is registered with: everything but the runtime's own parts. */
export interface TaskFields {
  readonly taskId: string
  readonly task: NomadTask
  readonly config: TaskConfig
  readonly client: PodmanClient
  readonly containerId: string
  readonly containerName: string
  readonly startedAt: Date
  readonly resources: Scope.Closeable
  readonly state: DriverState
  readonly logs: RetainedLogs | undefined
}

/** A container's files on this host: only meaningful when Podman runs here (the client says so). */
const hostFilesOf = (client: PodmanClient, inspect: ContainerInspect | undefined): TaskHostFiles =>
  client.local && inspect !== undefined
    ? { logPath: inspect.logPath, cgroupPath: inspect.cgroupPath }
    : { logPath: undefined, cgroupPath: undefined }

/** How long the describer keeps asking while Podman cannot answer (then logs use the API, no cgroup details). */
const DESCRIBE_RETRY = Schedule.max([
  Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]),
  Schedule.during("1 minute")
])

export const makeTaskRuntime = Effect.gen(function*() {
  const { followLogEarly, forwardLogs, retainLogs } = yield* makeLogForwarder

  /** The container's inspect after its start; undefined when Podman keeps failing. */
  const describe = (fields: TaskFields) =>
    fields.client.containerInspect(fields.containerId).pipe(
      Effect.retry({ while: (e) => e.isRetryable, schedule: DESCRIBE_RETRY }),
      Effect.catch((e) =>
        Effect.logWarning(`inspecting container ${fields.containerId.slice(0, 12)} failed: ${e.message}`).pipe(Effect.as(undefined))
      )
    )

  /**
   * Makes the entry of a task whose container exists and forks its fibers into a fresh `fibers`
   * scope. `inspect`: the container as already inspected (recovery, adoption, a start that needed
   * the address), else the describer inspects it. `exited`: the container is known to have ended
   * already (recovery), so no exit watcher. `logs`: forward output (off with
   * `disable_log_collection`); `logSince`: the time of a recovery (forwarding resumes where the
   * retained position says, else at that time); `earlyLog`: Podman's log, followed since before the
   * container started. `described`: what to do with the describer's inspect before anyone waiting
   * for it is answered (the task's other watchers).
   */
  const launch = (
    fields: TaskFields,
    options: {
      readonly logs: boolean
      readonly logSince?: Date
      readonly exited?: ExitResult
      readonly inspect?: ContainerInspect
      readonly earlyLog?: LogFollower | undefined
      readonly described?: (entry: TaskEntry, inspect: ContainerInspect) => Effect.Effect<void>
    }
  ): Effect.Effect<TaskEntry> =>
    Effect.gen(function*() {
      const exit = yield* Deferred.make<ExitResult>()
      const fibers = yield* Scope.make()
      const logsDone = yield* Deferred.make<void>()
      const inspected = yield* Deferred.make<ContainerInspect | undefined>()
      if (options.inspect !== undefined) yield* Deferred.succeed(inspected, options.inspect)
      const entry: TaskEntry = {
        ...fields,
        exit,
        fibers,
        logsDone,
        inspected: Deferred.await(inspected),
        hostFiles: Deferred.await(inspected).pipe(Effect.map((i) => hostFilesOf(fields.client, i)))
      }
      // The exit watch starts from the inspect the task is described with (one inspect per task,
      // not two): the one given, else the describer's.
      const seen = Deferred.await(inspected).pipe(Effect.map((i) => Option.map(Option.fromUndefinedOr(i), (d) => d.state)))
      if (options.exited !== undefined) yield* Deferred.succeed(exit, options.exited)
      else yield* Effect.forkIn(watchExit(entry.client, entry.containerId, exit, seen), fibers)
      const described = options.described
      const describer = (options.inspect !== undefined ? Effect.void : describe(fields).pipe(
        Effect.tap((i) => (i !== undefined && described !== undefined ? described(entry, i) : Effect.void)),
        Effect.flatMap((i) => Deferred.succeed(inspected, i)),
        // Interrupted (destroyed at once): whoever waits for the description gets none.
        Effect.ensuring(Deferred.succeed(inspected, undefined))
      ))
      if (options.logs) {
        yield* Effect.forkIn(
          describer.pipe(
            Effect.andThen(forwardLogs(entry, options.logSince, options.earlyLog)),
            Effect.ensuring(Deferred.succeed(logsDone, undefined))
          ),
          fibers
        )
      } else {
        yield* Deferred.succeed(logsDone, undefined)
        if (options.inspect === undefined) yield* Effect.forkIn(describer, fibers)
      }
      return entry
    })

  /** Stops a task's watchers (DestroyTask, plugin shutdown). */
  const halt = (entry: TaskEntry) => Scope.close(entry.fibers, Exit.void)

  return { launch, halt, retainLogs, followLogEarly }
})

export type TaskRuntime = Effect.Success<typeof makeTaskRuntime>
