/**
 * The driver core: the `Driver` service built from its parts, over the `Podman`, `LogSink`,
 * `DriverConfig` and `HostFiles` services. No protobuf, no HTTP, no transport detail here
 * (docs/architecture.md).
 *
 * - registry.ts: the tracked tasks and the ids being started or recovered;
 * - runtime.ts: each task's exit watcher and log forwarder, in the task's `fibers` scope;
 * - lifecycle.ts: start, wait, stop, signal, inspect, destroy, recover;
 * - exec.ts, taskStats.ts, fingerprint.ts, images.ts: the rest of the RPCs;
 * - node hygiene: removals.ts (container removals retried until Podman answers), imageGc.ts (images
 *   the driver brought, removed when unused), reaper.ts (dangling containers), health.ts (health
 *   checks as task events), guardRails.ts (allow_privileged, allow_caps, allow_runtimes).
 *
 * The driver layer's own scope holds what is shared (the events PubSub, the stats hub, the pull
 * jobs); when it closes (plugin shutdown) every task's watchers stop, and no container is touched:
 * containers outlive the plugin and are recovered by the next instance.
 */
import { DateTime, Effect, Layer, PubSub, Stream } from "effect"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { TaskEvent } from "../domain/results.ts"
import { Driver } from "../services/Driver.ts"
import { DriverConfig } from "../services/DriverConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { LogSink } from "../services/LogSink.ts"
import { Podman } from "../services/Podman.ts"
import type { AuthServices } from "./auth.ts"
import { makeExec } from "./exec.ts"
import { fingerprintStream } from "./fingerprint.ts"
import { makeHealth } from "./health.ts"
import { makeImageGc } from "./imageGc.ts"
import { makeImageResolver } from "./images.ts"
import { makeLifecycle } from "./lifecycle.ts"
import { makeReaper } from "./reaper.ts"
import { makeRemovals } from "./removals.ts"
import { makeTaskRegistry } from "./registry.ts"
import { makeTaskRuntime } from "./runtime.ts"
import { makeStatsHub } from "./statsHub.ts"
import { makeTaskStats } from "./taskStats.ts"

export const make = Effect.gen(function*() {
  const podman = yield* Podman
  const driverConfig = yield* DriverConfig
  const registry = yield* makeTaskRegistry
  const runtime = yield* makeTaskRuntime
  const events = yield* PubSub.unbounded<TaskEvent>()
  const removals = yield* makeRemovals
  const imageGc = yield* makeImageGc
  const images = yield* makeImageResolver(imageGc)
  const health = yield* makeHealth
  yield* makeReaper({ registry, removals })
  const statsHub = yield* makeStatsHub

  // Plugin shutdown: stop the watchers of every task, keep the containers (they are recovered later).
  yield* Effect.addFinalizer(() =>
    registry.entries.pipe(Effect.flatMap((all) => Effect.forEach(all, runtime.halt, { discard: true, concurrency: "unbounded" })))
  )

  /** A task event (image pull progress and the like) for `alloc status`. */
  const publish = (task: NomadTask) => (message: string, annotations: Record<string, string> = {}) =>
    DateTime.nowAsDate.pipe(
      Effect.flatMap((timestamp) =>
        PubSub.publish(events, { taskId: task.id, allocId: task.allocId, taskName: task.name, timestamp, message, annotations })
      ),
      Effect.asVoid
    )

  const lifecycle = yield* makeLifecycle({ registry, runtime, images, publish, removals, imageGc, health })
  const exec = makeExec(registry)
  const taskStats = yield* makeTaskStats(registry, statsHub)
  const fingerprint = yield* fingerprintStream

  const capabilities = Effect.gen(function*() {
    const plugin = yield* driverConfig.get
    const clients = yield* podman.clients
    return {
      sendSignals: true,
      exec: clients.every((c) => c.capabilities.exec),
      fsIsolation: "image" as const,
      networkIsolationModes: ["host", "group", "task"] as const,
      mustCreateNetwork: false,
      mountConfigs: "any" as const,
      disableLogCollection: plugin.disable_log_collection
    }
  })

  return Driver.of({
    ...lifecycle,
    ...exec,
    taskStats,
    taskEvents: Stream.fromPubSub(events),
    fingerprint,
    capabilities,
    tasks: registry.entries.pipe(Effect.map((all) => all.map((t) => t.taskId))),
    hasTask: registry.has
  })
})

/**
 * The driver core; needs `Podman`, `LogSink`, `DriverConfig`, `HostFiles`, and Effect's file
 * system and process spawner (registry auth files and credential helpers).
 */
export const layer: Layer.Layer<Driver, never, Podman | LogSink | DriverConfig | HostFiles | AuthServices> = Layer.effect(Driver, make)
