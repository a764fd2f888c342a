/**
 * Log forwarding: copies a task's stdout and stderr from Podman to the task's log sink (Nomad's
 * FIFOs in plugin mode) until the container has exited and its last line is written. The source is
 * Podman's own k8s-file log on this host when it is readable (lossless, see k8sFileLogs.ts), else
 * the logs API (remote sockets, the journald log driver). Runs in the task's `fibers` scope.
 */
import { Cause, Deferred, Effect, Stream } from "effect"
import type { HostFileError, PodmanError } from "../domain/errors.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { LogSink } from "../services/LogSink.ts"
import type { OutputChunk } from "../services/Podman.ts"
import { canReadFile, tailK8sFile } from "./k8sFileLogs.ts"
import type { TaskEntry } from "./registry.ts"

export const makeLogForwarder = Effect.gen(function*() {
  const logSink = yield* LogSink
  const hostFiles = yield* HostFiles

  /** Where a task's output is read from (see the module comment). */
  const logSource = (entry: TaskEntry, since: Date | undefined) =>
    Effect.gen(function*() {
      const path = (yield* entry.hostFiles).logPath
      if (path !== undefined && (yield* canReadFile(path))) {
        return tailK8sFile(path, {
          exited: Deferred.isDone(entry.exit),
          awaitExit: Deferred.await(entry.exit),
          ...(since ? { since } : {})
        }).pipe(Stream.provideService(HostFiles, hostFiles))
      }
      return entry.client.containerLogs(entry.containerId, { follow: true, stdout: true, stderr: true, ...(since ? { since } : {}) })
    }).pipe(Effect.provideService(HostFiles, hostFiles))

  /** Forwards the container's output to the task's log sink until the container exits; only output after `since` when given. */
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

  return { forwardLogs }
})
