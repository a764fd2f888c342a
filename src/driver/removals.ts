/**
 * Eventual container removal. A container the driver must remove (DestroyTask with `gc.container`,
 * a failed start, the dangling-container reaper) is removed now when Podman answers, and otherwise
 * later: the removal is retried in the background with backoff until Podman answers, so a Podman
 * service that is down or restarting when a task is destroyed does not leave the container behind.
 *
 * The retries run in the driver layer's scope (one per container, de-duplicated). A plugin that
 * stops while some are pending does not forget them for good: the containers carry the driver's
 * labels and no task tracks them any more, so the next plugin's dangling-container reaper removes
 * them (reaper.ts; docs/architecture.md, "Eventual removal").
 */
import { Duration, Effect, FiberMap, Schedule, type Scope } from "effect"
import type { PodmanError } from "../domain/errors.ts"
import type { PodmanClient } from "../services/Podman.ts"

/** First retry after this, doubling up to {@link RETRY_CAP}. */
export const RETRY_BASE = Duration.millis(500)
/** The longest wait between two attempts: once Podman is back, the container goes within this. */
export const RETRY_CAP = Duration.seconds(15)
/** Failures that are not about reachability (Podman refused) get this many attempts, then the reaper's turn. */
const REFUSED_ATTEMPTS = 8

/** What became of a removal. */
export type RemovalOutcome = "removed" | "pending"

export interface Removals {
  /**
   * Removes the container (forcibly, with its anonymous volumes) now; when that fails, keeps
   * trying in the background and answers `pending`. Never fails. Already gone is `removed`.
   */
  readonly remove: (client: PodmanClient, containerId: string) => Effect.Effect<RemovalOutcome>
  /** Container ids whose removal is being retried. */
  readonly pending: Effect.Effect<ReadonlyArray<string>>
  /**
   * Marks a container as being released (DestroyTask between taking the task out of the registry
   * and removing its container, the last log lines still draining) for as long as the Scope is open.
   */
  readonly releasing: (containerId: string) => Effect.Effect<void, never, Scope.Scope>
  /** Being released or its removal pending: the reaper leaves it to its owner. */
  readonly busy: (containerId: string) => Effect.Effect<boolean>
}

const removeOnce = (client: PodmanClient, id: string): Effect.Effect<void, PodmanError> =>
  client.containerRemove(id, { force: true, volumes: true, timeoutSeconds: 0 }).pipe(
    Effect.catchReason("PodmanError", "NotFound", () => Effect.void)
  )

/** Needs the driver layer's Scope (the background retries live in it). */
export const makeRemovals = Effect.gen(function*() {
  const retries = yield* FiberMap.make<string, void>()
  const pendingIds = new Set<string>()
  const releasingIds = new Map<string, number>()

  const retry = (client: PodmanClient, id: string) =>
    removeOnce(client, id).pipe(
      Effect.tapError((e) => Effect.logDebug(`removing container ${id.slice(0, 12)} failed again: ${e.message}`)),
      Effect.retry({
        schedule: Schedule.min([Schedule.exponential(RETRY_BASE), Schedule.spaced(RETRY_CAP)]),
        // unreachable or slow: until Podman answers; refused for another reason: a few more times
        while: (e) => e.reason.isRetryable
      }),
      Effect.retry({ times: REFUSED_ATTEMPTS, schedule: Schedule.spaced(RETRY_CAP) }),
      Effect.matchEffect({
        onSuccess: () => Effect.logInfo(`removed container ${id.slice(0, 12)} (deferred removal)`),
        onFailure: (e) =>
          Effect.logWarning(`giving up removing container ${id.slice(0, 12)} for now (the dangling-container reaper retries): ${e.message}`)
      }),
      Effect.ensuring(Effect.sync(() => pendingIds.delete(id)))
    )

  const remove = (client: PodmanClient, id: string): Effect.Effect<RemovalOutcome> =>
    Effect.suspend(() => {
      if (pendingIds.has(id)) return Effect.succeed<RemovalOutcome>("pending")
      return removeOnce(client, id).pipe(
        Effect.as<RemovalOutcome>("removed"),
        Effect.catch((e) =>
          Effect.gen(function*() {
            yield* Effect.logWarning(`removing container ${id.slice(0, 12)} failed (${e.message}); retrying in the background`)
            pendingIds.add(id)
            yield* FiberMap.run(retries, id, retry(client, id), { onlyIfMissing: true })
            return "pending" as const
          })
        )
      )
    })

  const releasing = (id: string) =>
    Effect.acquireRelease(
      Effect.sync(() => void releasingIds.set(id, (releasingIds.get(id) ?? 0) + 1)),
      () =>
        Effect.sync(() => {
          const n = (releasingIds.get(id) ?? 1) - 1
          if (n > 0) releasingIds.set(id, n)
          else releasingIds.delete(id)
        })
    )

  return {
    remove,
    pending: Effect.sync(() => [...pendingIds]),
    releasing,
    busy: (id) => Effect.sync(() => pendingIds.has(id) || releasingIds.has(id))
  } satisfies Removals
})
