/**
 * A container's resource usage read from its own cgroup files through the `HostFiles` service:
 * cumulative CPU time (total and system), memory usage with its breakdown (RSS, page cache, swap,
 * peak) and CPU throttling — everything a TaskStats sample needs, without asking Podman (whose
 * stats endpoint costs the service more CPU than the plugin spends reading these files). Only
 * meaningful when Podman runs on this host and the plugin can read /sys/fs/cgroup; otherwise
 * nothing is returned and the samples come from Podman (statsHub.ts).
 * cgroup v1 (per-controller hierarchies) and v2 (unified) are both handled; a reader made by
 * {@link cgroupReader} finds which one a container has once and keeps its files open, so a sample is
 * one read of each.
 */
import { Effect, Exit, Scope } from "effect"
import { HostFiles } from "../services/HostFiles.ts"

export interface CgroupStats {
  /** Current usage (memory.usage_in_bytes / memory.current), page cache included. */
  readonly usage: number
  readonly rss: number
  readonly cache: number
  readonly swap: number
  readonly maxUsage: number | undefined
  readonly throttledPeriods: number
  /** Nanoseconds. */
  readonly throttledTime: number
  /** Cumulative CPU time in ns (undefined when the CPU accounting files cannot be read). */
  readonly cpuNano: number | undefined
  /** Cumulative CPU time in kernel mode, ns. */
  readonly cpuSystemNano: number | undefined
}

const root = "/sys/fs/cgroup"

/** `key value` lines (memory.stat, cpu.stat) → numbers. */
export const parseKeyed = (text: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v)
  }
  return out
}

/** Safe cgroup path: absolute, no `..`. */
const safe = (cgroupPath: string) => cgroupPath.startsWith("/") && !cgroupPath.split("/").includes("..")

/** A file holding one number (`memory.current`...); undefined when missing or not a number. */
const numberIn = (text: string | undefined): number | undefined => {
  const t = text?.trim()
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined
}

/** One cgroup layout: its files, in a fixed order, and the reading their texts make. */
interface Layout {
  readonly files: ReadonlyArray<string>
  /** Undefined when a file it needs (`memory.stat`...) is missing: not this layout, or gone. */
  readonly parse: (texts: ReadonlyArray<string | undefined>) => CgroupStats | undefined
}

/**
 * cgroup v1: one hierarchy per controller. The kernel time comes from `cpuacct.usage_sys` (ns)
 * where the kernel has it; `ticks` is the layout for older kernels, which read it from
 * `cpuacct.stat` (USER_HZ, 1/100 s ticks) instead, so that no sample reads a file it does not use.
 */
const v1 = (p: string, ticks: boolean): Layout => ({
  files: [
    `${root}/memory${p}/memory.stat`,
    `${root}/cpu${p}/cpu.stat`,
    `${root}/cpuacct${p}/cpuacct.usage`,
    `${root}/cpuacct${p}/${ticks ? "cpuacct.stat" : "cpuacct.usage_sys"}`,
    `${root}/memory${p}/memory.usage_in_bytes`,
    `${root}/memory${p}/memory.max_usage_in_bytes`
  ],
  parse: ([memStat, cpuStat, usage, system, memUsage, maxUsage]) => {
    if (memStat === undefined) return undefined
    const cpuNano = numberIn(usage)
    const cpuSystemNano = cpuNano === undefined
      ? undefined
      : ticks
      ? (parseKeyed(system ?? "").system ?? 0) * 10_000_000
      : numberIn(system)
    // CPU time without its kernel part: the other v1 layout
    if (cpuNano !== undefined && cpuSystemNano === undefined) return undefined
    const mem = parseKeyed(memStat)
    const cpu = parseKeyed(cpuStat ?? "")
    return {
      usage: numberIn(memUsage) ?? 0,
      rss: mem.rss ?? 0,
      cache: mem.cache ?? 0,
      swap: mem.swap ?? 0,
      maxUsage: numberIn(maxUsage),
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: cpu.throttled_time ?? 0,
      cpuNano,
      cpuSystemNano
    }
  }
})

/** cgroup v2: the unified hierarchy. */
const v2 = (p: string): Layout => ({
  files: [
    `${root}${p}/memory.stat`,
    `${root}${p}/cpu.stat`,
    `${root}${p}/memory.current`,
    `${root}${p}/memory.swap.current`,
    `${root}${p}/memory.peak`
  ],
  parse: ([memStat, cpuStat, current, swap, peak]) => {
    if (memStat === undefined) return undefined
    const mem = parseKeyed(memStat)
    const cpu = parseKeyed(cpuStat ?? "")
    return {
      usage: numberIn(current) ?? 0,
      rss: mem.anon ?? 0,
      cache: mem.file ?? 0,
      swap: numberIn(swap) ?? 0,
      maxUsage: numberIn(peak),
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: (cpu.throttled_usec ?? 0) * 1000,
      cpuNano: cpu.usage_usec === undefined ? undefined : cpu.usage_usec * 1000,
      cpuSystemNano: cpu.usage_usec === undefined ? undefined : (cpu.system_usec ?? 0) * 1000
    }
  }
})

/**
 * A reader of one container's cgroup for as long as the Scope lasts: the layout (v1, else v2) is
 * found once, its files are kept open (`HostFiles.counterFiles`), and each reading is one read of
 * each (undefined once the cgroup is gone). Undefined when no layout can be read (Podman on another
 * host, no access to /sys/fs/cgroup) or the path is unsafe.
 */
export const cgroupReader = (
  cgroupPath: string
): Effect.Effect<Effect.Effect<CgroupStats | undefined> | undefined, never, HostFiles | Scope.Scope> =>
  Effect.gen(function*() {
    if (!safe(cgroupPath)) return undefined
    const files = yield* HostFiles
    const outer = yield* Effect.scope
    for (const layout of [v1(cgroupPath, false), v1(cgroupPath, true), v2(cgroupPath)]) {
      const scope = yield* Scope.fork(outer)
      const counters = yield* files.counterFiles(layout.files).pipe(Scope.provide(scope))
      if (layout.parse(yield* counters.read) !== undefined) return Effect.map(counters.read, layout.parse)
      yield* Scope.close(scope, Exit.void)
    }
    return undefined
  })
