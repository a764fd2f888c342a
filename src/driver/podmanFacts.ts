/**
 * Podman's host facts (`info`: rootless, cgroups, API version, CPUs...) per socket, shared by the
 * start path and the fingerprint. `info` is one of Podman's slowest calls (100-400 ms, about 120 ms
 * of Podman's CPU): a StartTask must not wait for it. The facts are fetched once, then served as
 * they are and refreshed in the background when older than FACTS_TTL (stale while revalidating);
 * only the very first StartTask of a socket, before anything fetched them, waits. A socket that
 * comes back after being unreachable (Podman restarted, perhaps upgraded) has its facts fetched
 * anew (`invalidate`). A failed fetch is not kept.
 */
import { Clock, Deferred, Duration, Effect, Exit, Scope } from "effect"
import type { PodmanError } from "../domain/errors.ts"
import type { PodmanClient, PodmanInfo } from "../services/Podman.ts"

/** Facts older than this are refreshed in the background at their next use. */
export const FACTS_TTL = Duration.minutes(5)

interface Entry {
  value: PodmanInfo | undefined
  fetchedAt: number
  /** The fetch in flight, if any: concurrent users share it. */
  inflight: Deferred.Deferred<PodmanInfo, PodmanError> | undefined
}

export interface PodmanFacts {
  /** The socket's facts: at once when known (a refresh starts in the background when stale). */
  readonly get: (client: PodmanClient) => Effect.Effect<PodmanInfo, PodmanError>
  /** Forgets every socket's facts: the next use fetches them. */
  readonly invalidate: Effect.Effect<void>
}

/** Needs the driver layer's Scope (background refreshes run in it). */
export const makePodmanFacts: Effect.Effect<PodmanFacts, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const entries = new Map<string, Entry>()
  const keyOf = (client: PodmanClient) => `${client.socketName}|${client.address}`

  /** Starts a fetch (unless one runs) and returns its Deferred. */
  const fetch = (client: PodmanClient, entry: Entry) =>
    Effect.gen(function*() {
      if (entry.inflight !== undefined) return entry.inflight
      const done = yield* Deferred.make<PodmanInfo, PodmanError>()
      entry.inflight = done
      yield* client.info.pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.gen(function*() {
            if (Exit.isSuccess(exit)) {
              entry.value = exit.value
              entry.fetchedAt = yield* Clock.currentTimeMillis
            }
            entry.inflight = undefined
            yield* Deferred.done(done, exit)
          })
        ),
        // In the layer's scope: a StartTask that is cancelled does not cancel the fetch others share.
        Effect.forkIn(scope)
      )
      return done
    })

  const get = (client: PodmanClient) =>
    Effect.gen(function*() {
      const key = keyOf(client)
      let entry = entries.get(key)
      if (entry === undefined) {
        entry = { value: undefined, fetchedAt: 0, inflight: undefined }
        entries.set(key, entry)
      }
      if (entry.value !== undefined) {
        const now = yield* Clock.currentTimeMillis
        if (now - entry.fetchedAt >= Duration.toMillis(FACTS_TTL)) yield* fetch(client, entry)
        return entry.value
      }
      return yield* Deferred.await(yield* fetch(client, entry))
    })

  return {
    get,
    invalidate: Effect.sync(() => {
      for (const entry of entries.values()) entry.value = undefined
    })
  }
})
