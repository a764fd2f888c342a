/**
 * The task runtime: what runs for a task while it is tracked. When a task is registered (started or
 * recovered) two watchers are forked into its `fibers` scope:
 * - the exit watcher (exits.ts), which completes the task's `exit` once with how the container ended;
 * - the log forwarder (logs.ts), which copies the container's stdout/stderr to the task's log sink
 *   until the container has exited and its last line is written.
 * Both end when the task's `fibers` scope closes (DestroyTask, or the plugin shutting down).
 */
import { Deferred, Effect, Exit, Scope } from "effect"
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
const hostFilesOf = (client: PodmanClient, inspect: ContainerInspect): TaskHostFiles =>
  client.local
    ? { logPath: inspect.logPath, cgroupPath: inspect.cgroupPath }
    : { logPath: undefined, cgroupPath: undefined }

export const makeTaskRuntime = Effect.gen(function*() {
  const { followLogEarly, forwardLogs, retainLogs } = yield* makeLogForwarder

  /**
   * Makes the entry of a task whose container exists and forks its watchers into a fresh `fibers`
   * scope. `exited`: the container is known to have ended already (recovery), so no exit watcher.
   * `logs`: forward output (off with `disable_log_collection`); `logSince`: the time of a recovery
   * (forwarding resumes where the retained position says, else at that time); `earlyLog`: Podman's
   * log, followed since before the container started.
   */
  const launch = (
    fields: TaskFields,
    inspect: ContainerInspect,
    options: { readonly logs: boolean; readonly logSince?: Date; readonly exited?: ExitResult; readonly earlyLog?: LogFollower | undefined }
  ): Effect.Effect<TaskEntry> =>
    Effect.gen(function*() {
      const exit = yield* Deferred.make<ExitResult>()
      const fibers = yield* Scope.make()
      const logsDone = yield* Deferred.make<void>()
      const entry: TaskEntry = { ...fields, exit, fibers, logsDone, hostFiles: hostFilesOf(fields.client, inspect) }
      if (options.exited !== undefined) yield* Deferred.succeed(exit, options.exited)
      else yield* Effect.forkIn(watchExit(entry.client, entry.containerId, exit), fibers)
      if (options.logs) {
        yield* Effect.forkIn(
          forwardLogs(entry, options.logSince, options.earlyLog).pipe(Effect.ensuring(Deferred.succeed(logsDone, undefined))),
          fibers
        )
      } else {
        yield* Deferred.succeed(logsDone, undefined)
      }
      return entry
    })

  /** Stops a task's watchers (DestroyTask, plugin shutdown). */
  const halt = (entry: TaskEntry) => Scope.close(entry.fibers, Exit.void)

  return { launch, halt, retainLogs, followLogEarly }
})

export type TaskRuntime = Effect.Success<typeof makeTaskRuntime>
