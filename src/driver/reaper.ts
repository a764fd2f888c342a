/**
 * The dangling-container reaper (`gc { dangling_containers { enabled, dry_run, period,
 * creation_grace } }`, Nomad's docker driver semantics): every `period`, the containers that carry
 * this driver's allocation label but that no task of this plugin tracks, and that are older than
 * `creation_grace`, are removed (with `dry_run` only logged).
 *
 * - The first look is `max(period, creation_grace)` after the plugin starts, so Nomad can recover
 *   its tasks first (a recovered task is tracked again). Containers younger than `creation_grace`
 *   are never touched: a StartTask in progress has created its container but not registered it yet.
 * - Besides containers left by a crash, this is how removals that could not be done while Podman
 *   was down are finished after a plugin restart (removals.ts).
 * - Storage-only containers (an interrupted create's leftover, visible only with `external`) named
 *   like this driver's (`<task>.<alloc id>`) are removed too: they hold the name a retry needs.
 * - With `gc.container = false` the operator keeps exited containers on purpose: only running
 *   ones and storage-only leftovers are dangling then.
 * - The label is the driver's own (`com.hashicorp.nomad.podman.alloc_id`), so containers of other
 *   tools, of Nomad's docker driver and of the Go podman driver are never touched.
 *
 * One reaper per driver, in the driver layer's scope; it follows plugin config changes (SetConfig),
 * and reads the time from `Clock`.
 */
import { DateTime, Duration, Effect, Stream } from "effect"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import { isDriverContainerName, LABEL_ALLOC_ID } from "../translate/index.ts"
import { DriverConfig } from "../services/DriverConfig.ts"
import { type ContainerSummary, Podman, type PodmanClient } from "../services/Podman.ts"
import type { TaskRegistry } from "./registry.ts"
import type { Removals } from "./removals.ts"

/** A container the reaper would remove, and why it is dangling. */
export interface Dangling {
  readonly client: PodmanClient
  readonly container: ContainerSummary
}

/**
 * The container name of a task being started or recovered, from its id (`<alloc>/<task>/<x>`, how
 * Nomad and `makeNomadTask` form task ids): its container may exist before the task is registered.
 */
export const nameOfTaskId = (taskId: string): string | undefined => {
  const [alloc, task] = taskId.split("/")
  return alloc !== undefined && task !== undefined && alloc !== "" && task !== "" ? `${task}.${alloc}` : undefined
}

/**
 * The dangling ones among a socket's containers (pure: the tests' and the reaper's rule). `tracked`
 * holds the ids of registered containers, `busyNames` the names of those being started or recovered.
 */
export const danglingOf = (
  containers: ReadonlyArray<ContainerSummary>,
  tracked: ReadonlySet<string>,
  now: Date,
  config: PluginConfig,
  busyNames: ReadonlySet<string> = new Set()
): ReadonlyArray<ContainerSummary> => {
  const cutoff = now.getTime() - Duration.toMillis(config.gc.dangling_containers.creation_grace)
  return containers.filter((c) => {
    if (tracked.has(c.id)) return false
    if (c.names.some((n) => busyNames.has(n.replace(/^\//, "")))) return false
    // unknown age: never
    if (c.created === undefined || c.created.getTime() > cutoff) return false
    const storageOnly = c.state === "storage"
    if (storageOnly) return c.names.some(isDriverContainerName)
    if (!(LABEL_ALLOC_ID in c.labels)) return false
    return config.gc.container || c.state === "running"
  })
}

export const makeReaper = (deps: { readonly registry: TaskRegistry; readonly removals: Removals }) =>
  Effect.gen(function*() {
    const podman = yield* Podman
    const driverConfig = yield* DriverConfig
    const startedAt = yield* DateTime.nowAsDate

    /** One look at every socket; the containers it removed (or would, with dry_run). */
    const reapOnce = Effect.gen(function*() {
      const config = yield* driverConfig.get
      const dc = config.gc.dangling_containers
      const found: Array<Dangling> = []
      for (const client of yield* podman.clients) {
        const labelled = yield* client.containerList({ all: true, label: [LABEL_ALLOC_ID] })
        const external = yield* client.containerList({ all: true, external: true }).pipe(
          Effect.map((list) => list.filter((c) => c.state === "storage"))
        )
        // what is tracked is read after the listing: a task registered meanwhile is not dangling
        const tracked = new Set((yield* deps.registry.entries).map((t) => t.containerId))
        const busy = new Set((yield* deps.registry.inProgress).flatMap((id) => nameOfTaskId(id) ?? []))
        const now = yield* DateTime.nowAsDate
        for (const container of danglingOf([...labelled, ...external], tracked, now, config, busy)) {
          // a container its DestroyTask is releasing, or whose removal is being retried, is not the reaper's
          if (!(yield* deps.removals.busy(container.id))) found.push({ client, container })
        }
      }
      for (const { client, container } of found) {
        const what = `container ${container.id.slice(0, 12)} (${container.names.join(", ") || "no name"}, ${container.state}, allocation ${container.labels[LABEL_ALLOC_ID] ?? "unknown"})`
        if (dc.dry_run) {
          yield* Effect.logInfo(`dangling ${what} would be removed (dry_run)`)
        } else {
          yield* Effect.logInfo(`removing dangling ${what}`)
          yield* deps.removals.remove(client, container.id)
        }
      }
      return found
    })

    /** The reaper's loop for one plugin config: wait out the start-up grace, then every period. */
    const loop = (config: PluginConfig) =>
      Effect.gen(function*() {
        const dc = config.gc.dangling_containers
        if (!dc.enabled) return
        const grace = Duration.max(dc.period, dc.creation_grace)
        const elapsed = (yield* DateTime.nowAsDate).getTime() - startedAt.getTime()
        yield* Effect.sleep(Duration.millis(Math.max(0, Duration.toMillis(grace) - elapsed)))
        while (true) {
          yield* reapOnce.pipe(Effect.catch((e) => Effect.logWarning(`looking for dangling containers failed: ${e.message}`)))
          yield* Effect.sleep(dc.period)
        }
      })

    yield* Effect.forkScoped(driverConfig.changes.pipe(
      Stream.switchMap((config) => Stream.fromEffect(loop(config))),
      Stream.runDrain
    ))

    return { reapOnce }
  })

export type Reaper = Effect.Success<ReturnType<typeof makeReaper>>
