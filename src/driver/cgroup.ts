/**
 * Memory and CPU-throttling details that libpod's stats endpoint does not report (RSS, page cache,
 * swap, peak usage, throttled periods and time), read from the container's own cgroup files
 * through the `HostFiles` service. Only meaningful when Podman runs on this host and the plugin can
 * read /sys/fs/cgroup; otherwise nothing is returned and those fields stay unmeasured.
 * cgroup v1 (per-controller hierarchies) and v2 (unified) are both handled.
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
    return {
      usage: (yield* r.optionalNumber(`${root}/memory${p}/memory.usage_in_bytes`)) ?? 0,
      rss: mem.rss ?? 0,
      cache: mem.cache ?? 0,
      swap: mem.swap ?? 0,
      maxUsage: yield* r.optionalNumber(`${root}/memory${p}/memory.max_usage_in_bytes`),
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: cpu.throttled_time ?? 0
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
      throttledTime: (cpu.throttled_usec ?? 0) * 1000
    } satisfies CgroupStats
  })

/** Reads the cgroup details of a container; `undefined` when they cannot be read here (v1 tried first, then v2). */
export const readCgroupStats = (cgroupPath: string): Effect.Effect<CgroupStats | undefined, never, HostFiles> =>
  safe(cgroupPath)
    ? readV1(cgroupPath).pipe(
      Effect.catch(() => readV2(cgroupPath)),
      Effect.orElseSucceed(() => undefined)
    )
    : Effect.succeed(undefined)
