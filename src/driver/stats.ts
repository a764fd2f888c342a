/**
 * Turning Podman's raw cumulative counters into Nomad's resource usage: CPU percent and user/system
 * split come from sample-to-sample deltas of cumulative nanoseconds over the wall time between the
 * two samples (not Podman's own first-sample percent, which is wrong: docs/podman.md).
 */
import type { TaskStatsSample } from "../domain/results.ts"
import type { CgroupStats } from "./cgroup.ts"
import type { ContainerStats } from "../services/Podman.ts"

/** Running state of one stats stream. */
export interface StatsAccumulator {
  readonly previous: ContainerStats | undefined
  readonly maxUsage: number
}

export const emptyAccumulator: StatsAccumulator = { previous: undefined, maxUsage: 0 }

/**
 * One Nomad sample from the previous and the current raw sample.
 * `mhzPerCore` converts percent-of-a-core into Nomad's MHz ticks (0 when unknown).
 */
export const toSample = (
  taskId: string,
  acc: StatsAccumulator,
  current: ContainerStats,
  mhzPerCore: number
): readonly [StatsAccumulator, TaskStatsSample] => {
  const prev = acc.previous
  let percent = 0
  let systemMode = 0
  let userMode = 0
  if (prev !== undefined) {
    const wallNs = (current.readAt.getTime() - prev.readAt.getTime()) * 1e6
    if (wallNs > 0) {
      const cpu = Math.max(0, current.cpuNano - prev.cpuNano)
      const sys = Math.max(0, current.cpuSystemNano - prev.cpuSystemNano)
      percent = (cpu / wallNs) * 100
      systemMode = (sys / wallNs) * 100
      userMode = Math.max(0, percent - systemMode)
    }
  }
  const maxUsage = Math.max(acc.maxUsage, current.memUsage)
  const sample: TaskStatsSample = {
    taskId,
    timestamp: current.readAt,
    cpu: {
      percent,
      systemMode,
      userMode,
      totalTicks: (percent / 100) * mhzPerCore,
      throttledPeriods: 0,
      throttledTime: 0,
      measured: mhzPerCore > 0 ? ["Percent", "System Mode", "User Mode", "Total Ticks"] : ["Percent", "System Mode", "User Mode"]
    },
    memory: {
      usage: current.memUsage,
      rss: 0,
      cache: 0,
      swap: 0,
      maxUsage,
      measured: ["Usage", "Max Usage"]
    }
  }
  return [{ previous: current, maxUsage }, sample]
}

/** Adds the cgroup's memory breakdown and CPU throttling to a sample (and marks them measured). */
export const withCgroup = (sample: TaskStatsSample, cg: CgroupStats): TaskStatsSample => ({
  ...sample,
  cpu: {
    ...sample.cpu,
    throttledPeriods: cg.throttledPeriods,
    throttledTime: cg.throttledTime,
    measured: [...sample.cpu.measured, "Throttled Periods", "Throttled Time"]
  },
  memory: {
    ...sample.memory,
    rss: cg.rss,
    cache: cg.cache,
    swap: cg.swap,
    maxUsage: Math.max(sample.memory.maxUsage, cg.maxUsage ?? 0),
    measured: ["RSS", "Cache", "Swap", "Usage", "Max Usage"]
  }
})

/**
 * The sample sent the moment TaskStats is called (Nomad expects one at once; Podman's stream sends
 * its first one an interval later). CPU is 0 (a rate needs two samples); memory comes from the
 * cgroup when it is readable.
 */
export const initialSample = (taskId: string, cg: CgroupStats | undefined, timestamp: Date): TaskStatsSample => {
  const base: TaskStatsSample = {
    taskId,
    timestamp,
    cpu: { percent: 0, systemMode: 0, userMode: 0, totalTicks: 0, throttledPeriods: 0, throttledTime: 0, measured: ["Percent", "System Mode", "User Mode"] },
    memory: { usage: cg?.usage ?? 0, rss: 0, cache: 0, swap: 0, maxUsage: cg?.usage ?? 0, measured: cg ? ["Usage", "Max Usage"] : [] }
  }
  return cg ? withCgroup(base, cg) : base
}
