/**
 * Exit detection: how the driver learns that a task's container has ended, and with what result.
 * The exit watcher runs in the task's `fibers` scope (runtime.ts) and completes the task's `exit`
 * once. The Podman client says how the container ended (`awaitExit`: conmon's exit file on this
 * host, else Podman's attach or wait; docs/podman.md, "Exits"); this module only decides what to do
 * when Podman cannot be reached meanwhile.
 *
 * WaitTask must never answer a wrong code: while Podman is unavailable (a service restart) the
 * watcher waits for it, backing off up to 5 s between attempts, for as long as EXIT_PATIENCE of
 * continuous failure; an exit seen in conmon's file needs no Podman at all. -1 with an error only
 * when the container was removed behind our back, or Podman stayed unreachable that long.
 */
import { Clock, DateTime, Deferred, Duration, Effect, type Option } from "effect"
import type { PodmanError } from "../domain/errors.ts"
import type { ExitResult } from "../domain/results.ts"
import { type ContainerExit, type ContainerInspect, type ContainerState, exitOfState, type PodmanClient } from "../services/Podman.ts"

/** How long the exit watcher keeps trying while every attempt fails (Podman down, or wedged). */
export const EXIT_PATIENCE = Duration.minutes(15)

/** The pause after the first failed attempt; doubled after each, up to MAX_BACKOFF. */
const FIRST_BACKOFF = Duration.millis(200)
const MAX_BACKOFF = Duration.seconds(5)

/**
 * An attempt that ran this long before failing was working (e.g. attached until a service restart
 * cut it): its failure starts a new episode of unavailability instead of continuing the last one.
 */
const HEALTHY_ATTEMPT = Duration.minutes(1)

/** A result for a task whose exit code cannot be known. */
export const unknownExit = (error: string): Effect.Effect<ExitResult> =>
  Effect.map(DateTime.nowAsDate, (finishedAt) => ({ exitCode: -1, signal: 0, oomKilled: false, finishedAt, error }))

/** The task's exit result from how the container ended. */
export const exitResultOf = (exit: ContainerExit, finishedFallback: Date): ExitResult => {
  const code = exit.exitCode
  // Killed by signal N: Podman reports 128 + N, as a shell does.
  const signal = code > 128 && code < 128 + 65 ? code - 128 : 0
  return {
    exitCode: code,
    signal,
    oomKilled: exit.oomKilled,
    finishedAt: exit.finishedAt ?? finishedFallback,
    ...(exit.oomKilled
      ? { error: "OOM Killed: the container was killed by the kernel OOM killer" }
      : exit.error
      ? { error: exit.error }
      : {})
  }
}

/** The exit result of a container an inspect shows stopped (recovery of a task that ended meanwhile). */
export const exitResultOfInspect = (inspect: ContainerInspect, finishedFallback: Date): ExitResult =>
  exitResultOf(exitOfState(inspect.state), finishedFallback)

/**
 * Waits until the container has ended and records how in `exit`. Survives Podman restarts (see the
 * module comment); NotFound means the container was removed outside of Nomad. `seen`: the
 * container's state from an inspect made after its start anyway (the client's first attempt uses
 * it instead of an inspect of its own; `PodmanClient.awaitExit`).
 */
export const watchExit = (
  client: PodmanClient,
  containerId: string,
  exit: Deferred.Deferred<ExitResult>,
  seen?: Effect.Effect<Option.Option<ContainerState>>
) =>
  Effect.gen(function*() {
    let failingSince: number | undefined
    let backoff = FIRST_BACKOFF
    let first = true
    while (true) {
      const startedAt = yield* Clock.currentTimeMillis
      const attempt = yield* Effect.result(client.awaitExit(containerId, first ? seen : undefined))
      first = false
      const now = yield* Clock.currentTimeMillis
      if (attempt._tag === "Success") return exitResultOf(attempt.success, new Date(now))
      const e: PodmanError = attempt.failure
      if (e.reason._tag === "NotFound") return yield* unknownExit("the container was removed outside of Nomad")
      if (failingSince === undefined || now - startedAt >= Duration.toMillis(HEALTHY_ATTEMPT)) {
        failingSince = now
        backoff = FIRST_BACKOFF
      }
      if (now - failingSince >= Duration.toMillis(EXIT_PATIENCE)) {
        return yield* unknownExit(`the exit could not be observed for ${Duration.format(EXIT_PATIENCE)}: ${e.message}`)
      }
      yield* Effect.logDebug(`waiting for container ${containerId.slice(0, 12)} to exit failed, trying again: ${e.message}`)
      yield* Effect.sleep(backoff)
      backoff = Duration.min(Duration.times(backoff, 2), MAX_BACKOFF)
    }
  }).pipe(Effect.flatMap((result) => Deferred.succeed(exit, result)))
