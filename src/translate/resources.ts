/**
 * CPU, memory, pids, rlimits and OOM score: `resource_limits`, `r_limits`, `oom_score_adj`,
 * `cgroup_parent`.
 *
 * - CPU shares = Nomad's `cpu` (MHz), within the kernel's 2..262144, only for rootful Podman
 *   (rootless cgroups usually lack the delegated cpu controller). cpuset = Nomad's reserved cores,
 *   else Nomad's shared cores (as the docker driver confines tasks without reserved cores to the
 *   shared cpuset).
 * - `cpu_hard_limit`: quota = percentTicks × period × Podman host CPUs (at least 1000 µs), period =
 *   `cpu_cfs_period` (default 100000, raised to at least 1000). The CPU count is the Podman host's
 *   (from `info`), not the plugin process's.
 * - `r_limits` is complete: when `ulimit` sets one of `nofile`/`nproc` and not the other, the other
 *   is set to 1024:1024, because Podman fills a missing one with its own rootful default
 *   (1048576 / 4194304), which fails on hosts where raising limits is not permitted.
 * - `oom_score_adj` only when set.
 * - cgroup parent `nomad.slice` on cgroup v2 with the systemd manager (as Nomad's own cgroups).
 */
import type { ContainerSpec, RLimitSpec, ResourceLimitsSpec } from "../domain/ContainerSpec.ts"
import { memoryLimits } from "./memory.ts"
import type { Mutable, TranslateInput } from "./types.ts"

/** The soft=hard value given to whichever of nofile/nproc the task leaves unset. */
export const DEFAULT_RLIMIT = 1024
const DEFAULT_CFS_PERIOD = 100_000
const MIN_SHARES = 2
const MAX_SHARES = 262_144

type CpuSpec = NonNullable<ResourceLimitsSpec["cpu"]>

const cpuLimits = (input: TranslateInput): CpuSpec | undefined => {
  const { config, task, podman } = input
  const out: { shares?: number; quota?: number; period?: number; cpus?: string } = {}
  // the kernel's range of CPU shares (cgroup v1 refuses others, runc's v2 weight conversion too)
  if (!podman.rootless && task.resources.cpuShares > 0) out.shares = Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor(task.resources.cpuShares)))
  if (task.resources.cpusetCpus !== "") out.cpus = task.resources.cpusetCpus
  else if (input.sharedCpus !== undefined && input.sharedCpus !== "") out.cpus = input.sharedCpus
  if (config.cpu_hard_limit) {
    // the decoder keeps it within 0..1000000; 0 (or unset) is the default, less than 1000 is raised
    const requested = config.cpu_cfs_period ?? 0
    const period = requested === 0 ? DEFAULT_CFS_PERIOD : Math.max(1000, requested)
    const cpus = Math.max(1, Math.floor(podman.hostCpus))
    // a task's share of the node is at most all of it
    const ticks = Math.min(1, Math.max(0, task.resources.percentTicks))
    const quota = Math.max(1000, Math.floor(ticks * period) * cpus)
    out.period = period
    out.quota = quota
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/** `r_limits` from `ulimit` (lower-case names, complete nofile+nproc pair); `undefined` when unset. */
export const rlimits = (input: TranslateInput): ReadonlyArray<RLimitSpec> | undefined => {
  const entries = Object.entries(input.config.ulimit)
  if (entries.length === 0) return undefined
  const byType = new Map<string, RLimitSpec>()
  for (const [type, { soft, hard }] of entries) byType.set(type, { type, soft, hard })
  for (const type of ["nofile", "nproc"]) {
    if (!byType.has(type)) byType.set(type, { type, soft: DEFAULT_RLIMIT, hard: DEFAULT_RLIMIT })
  }
  return [...byType.values()]
}

/** The resource part of the spec. */
export const resources = (input: TranslateInput): Partial<Mutable<ContainerSpec>> => {
  const { config, podman } = input
  const out: Partial<Mutable<ContainerSpec>> = {}
  const limits: { memory?: ResourceLimitsSpec["memory"]; cpu?: CpuSpec; pids?: { limit: number } } = {}
  const memory = memoryLimits(input)
  if (memory !== undefined) limits.memory = memory
  const cpu = cpuLimits(input)
  if (cpu !== undefined) limits.cpu = cpu
  if (config.pids_limit !== undefined && config.pids_limit > 0) limits.pids = { limit: Math.floor(config.pids_limit) }
  if (Object.keys(limits).length > 0) out.resource_limits = limits as ResourceLimitsSpec

  const r = rlimits(input)
  if (r !== undefined) out.r_limits = r
  if (config.oom_score_adj !== undefined) out.oom_score_adj = config.oom_score_adj
  if (podman.cgroupVersion === "v2" && podman.cgroupManager === "systemd") out.cgroup_parent = "nomad.slice"
  return out
}
