/**
 * TaskStats: a sample at once, then one per interval until the task exits. The samples come from
 * the stats hub (one batched Podman stream per socket and interval, see statsHub.ts); RSS, cache,
 * swap and CPU throttling are added from the container's cgroup when Podman runs on this host.
 */
import { DateTime, Deferred, Duration, Effect, Stream } from "effect"
import { DriverConfig } from "../services/DriverConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { readCgroupStats } from "./cgroup.ts"
import type { TaskRegistry } from "./registry.ts"
import { emptyAccumulator, initialSample, toSample, withCgroup } from "./stats.ts"
import type { StatsHub } from "./statsHub.ts"

export const makeTaskStats = (registry: TaskRegistry, statsHub: StatsHub) =>
  Effect.gen(function*() {
    const driverConfig = yield* DriverConfig
    const hostFiles = yield* HostFiles

    const cgroupOf = (path: string | undefined) =>
      (path === undefined ? Effect.succeed(undefined) : readCgroupStats(path)).pipe(Effect.provideService(HostFiles, hostFiles))

    return (taskId: string, interval: Duration.Input) =>
      Stream.unwrap(
        Effect.gen(function*() {
          const t = yield* registry.lookup(taskId)
          // TotalTicks (MHz used) needs the node's core speed, which the agent sends in SetConfig.
          const mhzPerCore = (yield* driverConfig.agent).cpuMhzPerCore
          const intervalSeconds = Math.max(1, Math.round(Duration.toSeconds(Duration.fromInputUnsafe(interval))))
          const cgroupPath = (yield* t.hostFiles).cgroupPath
          const first = Stream.fromEffect(cgroupOf(cgroupPath).pipe(
            Effect.flatMap((cg) => Effect.map(DateTime.nowAsDate, (now) => initialSample(taskId, cg, now)))
          ))
          return Stream.concat(first, statsHub.subscribe(t.client, t.containerId, intervalSeconds).pipe(
            Stream.mapAccum(() => emptyAccumulator, (acc, s) => {
              const [next, sample] = toSample(taskId, acc, s, mhzPerCore)
              return [next, [sample]] as const
            }),
            Stream.mapEffect((sample) => cgroupOf(cgroupPath).pipe(Effect.map((cg) => (cg ? withCgroup(sample, cg) : sample)))),
            Stream.interruptWhen(Deferred.await(t.exit))
          ))
        })
      )
  })
