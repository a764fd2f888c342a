/**
 * The task runtime: what runs for a task while it is tracked. When a task is registered (started or
 * recovered) two watchers are forked into its `fibers` scope:
 * - the exit watcher, which completes the task's `exit` once with how the container ended;
 * - the log forwarder, which copies the container's stdout/stderr to the task's log sink until the
 *   container has exited and its last line is written.
 * Both end when the task's `fibers` scope closes (DestroyTask, or the plugin shutting down).
 */
import { Cause, DateTime, Deferred, Effect, Exit, Schedule, Scope, Stream } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import type { HostFileError, PodmanError } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { ExitResult } from "../domain/results.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { LogSink } from "../services/LogSink.ts"
import type { ContainerInspect, OutputChunk, PodmanClient } from "../services/Podman.ts"
import { canReadFile, tailK8sFile } from "./k8sFileLogs.ts"
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
}

/** A container's files on this host: only meaningful when Podman runs here (the client says so). */
const hostFilesOf = (client: PodmanClient, inspect: ContainerInspect): TaskHostFiles =>
  client.local
    ? { logPath: inspect.logPath, cgroupPath: inspect.cgroupPath }
    : { logPath: undefined, cgroupPath: undefined }

/** A result for a task whose exit code cannot be known. */
export const unknownExit = (error: string): Effect.Effect<ExitResult> =>
  Effect.map(DateTime.nowAsDate, (finishedAt) => ({ exitCode: -1, signal: 0, oomKilled: false, finishedAt, error }))

/**
 * The exit result from an inspect taken after the container stopped. `waitCode` (what `wait`
 * answered) wins when the container already runs again (restarted by someone else meanwhile).
 */
export const exitResultOf = (inspect: ContainerInspect, finishedFallback: Date, waitCode?: number): ExitResult => {
  const code = inspect.state.running && waitCode !== undefined ? waitCode : inspect.state.exitCode
  // Killed by signal N: Podman reports 128 + N, as a shell does.
  const signal = code > 128 && code < 128 + 65 ? code - 128 : 0
  return {
    exitCode: code,
    signal,
    oomKilled: inspect.state.oomKilled,
    finishedAt: inspect.state.finishedAt ?? finishedFallback,
    ...(inspect.state.oomKilled
      ? { error: "OOM Killed: the container was killed by the kernel OOM killer" }
      : inspect.state.error
      ? { error: inspect.state.error }
      : {})
  }
}

/** Retried while Podman is unavailable (a service restart), never longer apart than 5 s. */
const whilePodmanComesBack = {
  while: (e: PodmanError) => e.isRetryable,
  schedule: Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")])
}

export const makeTaskRuntime = Effect.gen(function*() {
  const logSink = yield* LogSink
  const hostFiles = yield* HostFiles

  /** Waits for the container to stop, then records how it ended; survives Podman restarts. */
  const watchExit = (client: PodmanClient, containerId: string, exit: Deferred.Deferred<ExitResult>) =>
    Effect.gen(function*() {
      const code = yield* client.containerWait(containerId).pipe(Effect.retry(whilePodmanComesBack))
      const inspect = yield* client.containerInspect(containerId).pipe(Effect.retry(whilePodmanComesBack))
      yield* Deferred.succeed(exit, exitResultOf(inspect, yield* DateTime.nowAsDate, code))
    }).pipe(
      Effect.catch((e: PodmanError) =>
        unknownExit(
          e.reason._tag === "NotFound" ? "the container was removed outside of Nomad" : `waiting for the container failed: ${e.message}`
        ).pipe(Effect.flatMap((result) => Deferred.succeed(exit, result)))
      )
    )

  /**
   * Where a task's output is read from: Podman's k8s-file log on this host when it is readable
   * (lossless, see k8sFileLogs.ts), else the logs API (remote sockets, other log drivers).
   */
  const logSource = (entry: TaskEntry, since: Date | undefined) =>
    Effect.gen(function*() {
      const path = entry.hostFiles.logPath
      if (path !== undefined && (yield* canReadFile(path))) {
        return tailK8sFile(path, {
          exited: Deferred.isDone(entry.exit),
          awaitExit: Deferred.await(entry.exit),
          ...(since ? { since } : {})
        }).pipe(Stream.provideService(HostFiles, hostFiles))
      }
      return entry.client.containerLogs(entry.containerId, { follow: true, stdout: true, stderr: true, ...(since ? { since } : {}) })
    }).pipe(Effect.provideService(HostFiles, hostFiles))

  /** Forwards the container's stdout/stderr to the task's log sink until the container exits. */
  const forwardLogs = (entry: TaskEntry, since: Date | undefined) =>
    Effect.scoped(
      Effect.gen(function*() {
        const writer = yield* logSink.open({
          taskId: entry.task.id,
          stdoutPath: entry.task.stdoutPath,
          stderrPath: entry.task.stderrPath
        })
        const source: Stream.Stream<OutputChunk, PodmanError | HostFileError> = yield* logSource(entry, since)
        yield* source.pipe(Stream.runForEach(writer.write))
      })
    ).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning("log forwarding stopped", Cause.pretty(cause))
      )
    )

  /**
   * Makes the entry of a task whose container exists and forks its watchers into a fresh `fibers`
   * scope. `exited`: the container is known to have ended already (recovery), so no exit watcher.
   * `logs`: forward output (off with `disable_log_collection`); `logSince`: only output after it.
   */
  const launch = (
    fields: TaskFields,
    inspect: ContainerInspect,
    options: { readonly logs: boolean; readonly logSince?: Date; readonly exited?: ExitResult }
  ): Effect.Effect<TaskEntry> =>
    Effect.gen(function*() {
      const exit = yield* Deferred.make<ExitResult>()
      const fibers = yield* Scope.make()
      const logsDone = yield* Deferred.make<void>()
      const entry: TaskEntry = { ...fields, exit, fibers, logsDone, hostFiles: hostFilesOf(fields.client, inspect) }
      if (options.exited !== undefined) yield* Deferred.succeed(exit, options.exited)
      else yield* Effect.forkIn(watchExit(entry.client, entry.containerId, exit), fibers)
      if (options.logs) {
        yield* Effect.forkIn(forwardLogs(entry, options.logSince).pipe(Effect.ensuring(Deferred.succeed(logsDone, undefined))), fibers)
      } else {
        yield* Deferred.succeed(logsDone, undefined)
      }
      return entry
    })

  /** Stops a task's watchers (DestroyTask, plugin shutdown). */
  const halt = (entry: TaskEntry) => Scope.close(entry.fibers, Exit.void)

  return { launch, halt }
})

export type TaskRuntime = Effect.Success<typeof makeTaskRuntime>
