/**
 * TaskStats: a sample at once, then one per interval until the task exits.
 *
 * When Podman runs on this host and the container's cgroup is readable, every sample comes from
 * the cgroup files (cgroup.ts): cumulative CPU time, memory with its breakdown, throttling — a
 * handful of small reads per sample, and no work at all for the Podman service (its stats endpoint
 * costs it several times what the reads cost the plugin: bench/, "TaskStats"). Otherwise (a remote
 * socket, an unreadable cgroup) the samples come from the stats hub: one batched Podman stream per
 * socket and interval (statsHub.ts).
 */
import { DateTime, Deferred, Duration, Effect, Stream } from "effect"
import { DriverConfig } from "../services/DriverConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import type { ContainerStats } from "../services/Podman.ts"
import { type CgroupStats, cgroupReader } from "./cgroup.ts"
import type { TaskRegistry } from "./registry.ts"
import { emptyAccumulator, initialSample, type StatsAccumulator, toSample, withCgroup } from "./stats.ts"
import type { StatsHub } from "./statsHub.ts"

/** A cgroup reading in the shape of a Podman sample (the fields a TaskStats sample uses). */
const asContainerStats = (containerId: string, cg: CgroupStats, readAt: Date): ContainerStats => ({
  containerId,
  readAt,
  cpuNano: cg.cpuNano ?? 0,
  cpuSystemNano: cg.cpuSystemNano ?? 0,
  systemNano: 0,
  memUsage: cg.usage,
  memLimit: 0,
  pids: 0,
  netInput: 0,
  netOutput: 0,
  blockInput: 0,
  blockOutput: 0
})

export const makeTaskStats = (registry: TaskRegistry, statsHub: StatsHub) =>
  Effect.gen(function*() {
    const driverConfig = yield* DriverConfig
    const hostFiles = yield* HostFiles

    return (taskId: string, interval: Duration.Input) =>
      Stream.unwrap(
        Effect.gen(function*() {
          const t = yield* registry.lookup(taskId)
          // TotalTicks (MHz used) needs the node's core speed, which the agent sends in SetConfig.
          const mhzPerCore = (yield* driverConfig.agent).cpuMhzPerCore
          const intervalSeconds = Math.max(1, Math.round(Duration.toSeconds(Duration.fromInputUnsafe(interval))))
          const cgroupPath = (yield* t.hostFiles).cgroupPath
          // the cgroup's files stay open for as long as the stream runs
          const reader = cgroupPath === undefined
            ? undefined
            : yield* cgroupReader(cgroupPath).pipe(Effect.provideService(HostFiles, hostFiles))
          const read = reader ?? Effect.succeed(undefined)
          const cg = yield* read
          const now = yield* DateTime.nowAsDate
          const first = Stream.succeed(initialSample(taskId, cg, now))
          const untilExit = Stream.interruptWhen(Deferred.await(t.exit))

          if (cg !== undefined && cg.cpuNano !== undefined) {
            // Local: the first reading is also the base of the first CPU rate, an interval later.
            const base: StatsAccumulator = { previous: asContainerStats(t.containerId, cg, now), maxUsage: cg.usage }
            const readings = Stream.fromEffectRepeat(
              Effect.delay(Effect.zip(read, DateTime.nowAsDate), Duration.seconds(intervalSeconds))
            )
            return Stream.concat(
              first,
              readings.pipe(
                // a reading that failed (the container just went away) is skipped; the exit ends the stream
                Stream.filter((r): r is [CgroupStats, Date] => r[0] !== undefined && r[0].cpuNano !== undefined),
                Stream.mapAccum(() => base, (acc, [c, at]) => {
                  const [next, sample] = toSample(taskId, acc, asContainerStats(t.containerId, c, at), mhzPerCore)
                  return [next, [withCgroup(sample, c)]] as const
                }),
                untilExit
              )
            )
          }

          return Stream.concat(
            first,
            statsHub.subscribe(t.client, t.containerId, intervalSeconds).pipe(
              Stream.mapAccum(() => emptyAccumulator, (acc, s) => {
                const [next, sample] = toSample(taskId, acc, s, mhzPerCore)
                return [next, [sample]] as const
              }),
              Stream.mapEffect((sample) =>
                read.pipe(Effect.map((c) => (c ? withCgroup(sample, c) : sample)))
              ),
              untilExit
            )
          )
        })
      )
  })
