/**
 * Memory and CPU-throttling details that libpod's stats endpoint does not report (RSS, page cache,
 * swap, peak usage, throttled periods and time), read from the container's own cgroup files.
 * Only meaningful when Podman runs on this host (a unix socket) and the plugin can read
 * /sys/fs/cgroup; otherwise nothing is returned and those fields stay unmeasured.
 * cgroup v1 (per-controller hierarchies) and v2 (unified) are both handled.
 */
import { readFile } from "node:fs/promises"
import { Effect } from "effect"

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

const readKeyed = (file: string): Promise<Record<string, number>> =>
  readFile(file, "utf8").then((text) => {
    const out: Record<string, number> = {}
    for (const line of text.split("\n")) {
      const [k, v] = line.trim().split(/\s+/)
      if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v)
    }
    return out
  })

const readNumber = (file: string): Promise<number | undefined> =>
  readFile(file, "utf8").then((t) => (/^\d+$/.test(t.trim()) ? Number(t.trim()) : undefined), () => undefined)

/** Safe cgroup path: absolute, no `..`. */
const safe = (cgroupPath: string) => cgroupPath.startsWith("/") && !cgroupPath.split("/").includes("..")

const readV1 = async (p: string): Promise<CgroupStats> => {
  const mem = await readKeyed(`${root}/memory${p}/memory.stat`)
  const cpu = await readKeyed(`${root}/cpu${p}/cpu.stat`).catch(() => ({} as Record<string, number>))
  return {
    usage: (await readNumber(`${root}/memory${p}/memory.usage_in_bytes`)) ?? 0,
    rss: mem.rss ?? 0,
    cache: mem.cache ?? 0,
    swap: mem.swap ?? 0,
    maxUsage: await readNumber(`${root}/memory${p}/memory.max_usage_in_bytes`),
    throttledPeriods: cpu.nr_throttled ?? 0,
    throttledTime: cpu.throttled_time ?? 0
  }
}

const readV2 = async (p: string): Promise<CgroupStats> => {
  const mem = await readKeyed(`${root}${p}/memory.stat`)
  const cpu = await readKeyed(`${root}${p}/cpu.stat`).catch(() => ({} as Record<string, number>))
  return {
    usage: (await readNumber(`${root}${p}/memory.current`)) ?? 0,
    rss: mem.anon ?? 0,
    cache: mem.file ?? 0,
    swap: (await readNumber(`${root}${p}/memory.swap.current`)) ?? 0,
    maxUsage: await readNumber(`${root}${p}/memory.peak`),
    throttledPeriods: cpu.nr_throttled ?? 0,
    throttledTime: (cpu.throttled_usec ?? 0) * 1000
  }
}

/** Reads the cgroup details of a container; `undefined` when they cannot be read here. */
export const readCgroupStats = (cgroupPath: string): Effect.Effect<CgroupStats | undefined> =>
  safe(cgroupPath)
    ? Effect.promise(async () => {
      try {
        return await readV1(cgroupPath)
      } catch {
        try {
          return await readV2(cgroupPath)
        } catch {
          return undefined
        }
      }
    })
    : Effect.succeed(undefined)

/** The cgroup path Podman reports in inspect (`State.CgroupPath`), if any. */
export const cgroupPathOf = (rawInspect: unknown): string | undefined => {
  const state = (rawInspect as { State?: { CgroupPath?: unknown } } | undefined)?.State
  return typeof state?.CgroupPath === "string" && state.CgroupPath !== "" ? state.CgroupPath : undefined
}
