/**
 * Container health checks (the image's HEALTHCHECK, unless the task sets `healthchecks { disable =
 * true }`): every change of the health status (starting → healthy → unhealthy ...) becomes a task
 * event, and the current status is the `health` attribute of InspectTask.
 *
 * Who runs the checks: Podman schedules them with systemd timers, and without systemd (as in
 * containers, CI machines and this project's test sandbox) it logs "unable to get systemd
 * connection to add healthchecks" and never runs them: the status stays `starting` forever. So the
 * watcher runs a check itself (Podman's `healthcheck run`) at the configured interval, unless it
 * sees that Podman ran one since its last look (a check result in the health log that is not its
 * own), in which case it only reads the status. Both ways the checks run once per interval
 * (docs/podman.md, "Health checks").
 *
 * The watcher lives in the task's `fibers` scope and reads the time from `Clock`.
 */
import { Duration, Effect, Option } from "effect"
import type { ContainerInspect, PodmanClient } from "../services/Podman.ts"

/** What the watcher publishes a health change with. */
export type HealthEvent = (message: string, annotations?: Record<string, string>) => Effect.Effect<void>

export interface HealthWatch {
  readonly taskId: string
  readonly client: PodmanClient
  readonly containerId: string
  /** `healthchecks.disable` of the task. */
  readonly disabled: boolean
}

export const makeHealth = Effect.sync(() => {
  const statuses = new Map<string, string>()

  /** The health status of a task, when it has a health check. */
  const status = (taskId: string): string | undefined => statuses.get(taskId)

  const forget = (taskId: string) => Effect.sync(() => void statuses.delete(taskId))

  const record = (taskId: string, next: string, publish: HealthEvent) =>
    Effect.gen(function*() {
      if (next === "" || statuses.get(taskId) === next) return
      statuses.set(taskId, next)
      yield* publish(`Health: ${next}`, { health: next })
    })

  /** Follows the task's health until interrupted or the container stops. */
  const watch = (w: HealthWatch, inspect: ContainerInspect, publish: HealthEvent): Effect.Effect<void> =>
    Effect.gen(function*() {
      const check = inspect.healthcheck
      if (w.disabled || check === undefined) return
      yield* record(w.taskId, inspect.health?.status || "starting", publish)
      const interval = Duration.millis(Math.max(1000, check.intervalMillis))
      let newestSeen = Math.max(0, ...(inspect.health?.checkEnds ?? []).map((d) => d.getTime()))
      const look = w.client.containerInspect(w.containerId).pipe(Effect.option)
      /** Health results newer than the newest seen so far: checks someone else (Podman's timers) ran. */
      const fresh = (i: ContainerInspect) => {
        const ends = (i.health?.checkEnds ?? []).map((d) => d.getTime())
        const n = ends.filter((t) => t > newestSeen).length
        newestSeen = Math.max(newestSeen, ...ends)
        return n
      }
      while (true) {
        yield* Effect.sleep(interval)
        const before = yield* look
        if (Option.isNone(before)) continue
        if (!before.value.state.running) return
        if (fresh(before.value) === 0) {
          // nobody ran a check during the last interval: run one (its answer is this check's result;
          // the status, which counts retries, is read back afterwards)
          yield* w.client.containerHealthcheck(w.containerId).pipe(Effect.ignore)
          const after = yield* look
          if (Option.isNone(after)) continue
          fresh(after.value)
          yield* record(w.taskId, after.value.health?.status ?? "", publish)
        } else {
          yield* record(w.taskId, before.value.health?.status ?? "", publish)
        }
      }
    })

  return { status, forget, watch }
})

export type Health = Effect.Success<typeof makeHealth>
