/**
 * Exit detection: how the driver learns that a task's container has ended, and with what result.
 * The exit watcher runs in the task's `fibers` scope (runtime.ts) and completes the task's `exit`
 * once. Today it waits with Podman's `wait` and then inspects; it survives a Podman service restart
 * (retried while Podman is unavailable).
 */
import { DateTime, Deferred, Effect, Schedule } from "effect"
import type { PodmanError } from "../domain/errors.ts"
import type { ExitResult } from "../domain/results.ts"
import type { ContainerInspect, PodmanClient } from "../services/Podman.ts"

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

/** Waits for the container to stop, then records how it ended in `exit`; survives Podman restarts. */
export const watchExit = (client: PodmanClient, containerId: string, exit: Deferred.Deferred<ExitResult>) =>
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
