/**
 * A container's resource usage read from its own cgroup files through the `HostFiles` service:
 * cumulative CPU time (total and system), memory usage with its breakdown (RSS, page cache, swap,
 * peak) and CPU throttling — everything a TaskStats sample needs, without asking Podman (whose
 * stats endpoint costs the service more CPU than the plugin spends reading these files). Only
 * meaningful when Podman runs on this host and the plugin can read /sys/fs/cgroup; otherwise
 * nothing is returned and the samples come from Podman (statsHub.ts).
 * cgroup v1 (per-controller hierarchies) and v2 (unified) are both handled; a reader made by
 * {@link cgroupReader} remembers which one a container has, so a sample is a handful of reads.
 */
import { Effect } from "effect"
import type { HostFileError } from "../domain/errors.ts"
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

const reader = Effect.gen(function*() {
  const files = yield* HostFiles
  const keyed = (file: string): Effect.Effect<Record<string, number>, HostFileError> => Effect.map(files.readText(file), parseKeyed)
  /** A file that may be missing (e.g. `memory.peak` on older kernels): `undefined` then. */
  const optionalNumber = (file: string): Effect.Effect<number | undefined> =>
    files.readText(file).pipe(
      Effect.map((t) => (/^\d+$/.test(t.trim()) ? Number(t.trim()) : undefined)),
      Effect.orElseSucceed(() => undefined)
    )
  const optionalKeyed = (file: string) => keyed(file).pipe(Effect.orElseSucceed((): Record<string, number> => ({})))
  return { keyed, optionalNumber, optionalKeyed }
})

const readV1 = (p: string) =>
  Effect.gen(function*() {
    const r = yield* reader
    const mem = yield* r.keyed(`${root}/memory${p}/memory.stat`)
    const cpu = yield* r.optionalKeyed(`${root}/cpu${p}/cpu.stat`)
    const cpuNano = yield* r.optionalNumber(`${root}/cpuacct${p}/cpuacct.usage`)
    // cpuacct.usage_sys (ns) where the kernel has it, else cpuacct.stat's USER_HZ (1/100 s) ticks
    const cpuSystemNano = cpuNano === undefined ? undefined : (yield* r.optionalNumber(`${root}/cpuacct${p}/cpuacct.usage_sys`)) ??
      ((yield* r.optionalKeyed(`${root}/cpuacct${p}/cpuacct.stat`)).system ?? 0) * 10_000_000
    return {
      usage: (yield* r.optionalNumber(`${root}/memory${p}/memory.usage_in_bytes`)) ?? 0,
      rss: mem.rss ?? 0,
      cache: mem.cache ?? 0,
      swap: mem.swap ?? 0,
      maxUsage: yield* r.optionalNumber(`${root}/memory${p}/memory.max_usage_in_bytes`),
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: cpu.throttled_time ?? 0,
      cpuNano,
      cpuSystemNano
    } satisfies CgroupStats
  })

const readV2 = (p: string) =>
  Effect.gen(function*() {
    const r = yield* reader
    const mem = yield* r.keyed(`${root}${p}/memory.stat`)
    const cpu = yield* r.optionalKeyed(`${root}${p}/cpu.stat`)
    return {
      usage: (yield* r.optionalNumber(`${root}${p}/memory.current`)) ?? 0,
      rss: mem.anon ?? 0,
      cache: mem.file ?? 0,
      swap: (yield* r.optionalNumber(`${root}${p}/memory.swap.current`)) ?? 0,
      maxUsage: yield* r.optionalNumber(`${root}${p}/memory.peak`),
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: (cpu.throttled_usec ?? 0) * 1000,
      cpuNano: cpu.usage_usec === undefined ? undefined : cpu.usage_usec * 1000,
      cpuSystemNano: cpu.usage_usec === undefined ? undefined : (cpu.system_usec ?? 0) * 1000
    } satisfies CgroupStats
  })

/**
 * A reader of one container's cgroup that remembers the layout found on its first successful read
 * (a sample is then only the reads of that layout, not a failed v1 attempt on every v2 host).
 */
export const cgroupReader = (cgroupPath: string): Effect.Effect<CgroupStats | undefined, never, HostFiles> => {
  if (!safe(cgroupPath)) return Effect.succeed(undefined)
  let layout: "v1" | "v2" | undefined
  return Effect.suspend(() => {
    if (layout === "v1") return readV1(cgroupPath).pipe(Effect.orElseSucceed(() => undefined))
    if (layout === "v2") return readV2(cgroupPath).pipe(Effect.orElseSucceed(() => undefined))
    return readV1(cgroupPath).pipe(
      Effect.tap(() => Effect.sync(() => void (layout = "v1"))),
      Effect.catch(() => readV2(cgroupPath).pipe(Effect.tap(() => Effect.sync(() => void (layout = "v2"))))),
      Effect.orElseSucceed(() => undefined)
    )
  })
}

