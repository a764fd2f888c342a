/**
 * Conversions between the protobuf messages (proto/gen) and the domain values of src/domain.
 * Pure functions; every response built here sets the fields the Go client dereferences
 * (docs/protocol.md#replies-the-agent-cannot-survive).
 */
import type { DriverCapabilitiesInfo, StartedTask } from "../../src/services/Driver.ts"
import type { ConfigIssue } from "../../src/domain/errors.ts"
import { quote } from "../../src/domain/values/text.ts"
import type { HclSpec } from "../../src/domain/hclspec.ts"
import type { NetworkIsolation, NomadTask } from "../../src/domain/NomadTask.ts"
import type {
  DriverNetwork, ExecResult, ExitResult as DomainExitResult, Fingerprint, HealthState, TaskEvent, TaskState as DomainTaskState,
  TaskStatsSample, TaskStatus as DomainTaskStatus
} from "../../src/domain/results.ts"
import type { Duration } from "../../proto/gen/google/protobuf/duration.ts"
import type { Timestamp } from "../../proto/gen/google/protobuf/timestamp.ts"
import type { Spec } from "../../proto/gen/plugins/shared/hclspec/hcl_spec.ts"
import type { Attribute } from "../../proto/gen/plugins/shared/structs/proto/attribute.ts"
import {
  CPUUsage_Fields, DriverCapabilities, DriverCapabilities_FSIsolation, DriverCapabilities_MountConfigs, DriverTaskEvent,
  ExecTaskResponse, ExitResult, FingerprintResponse, FingerprintResponse_HealthState, MemoryUsage_Fields, NetworkIsolationSpec_NetworkIsolationMode,
  NetworkOverride, type TaskConfig, TaskState, TaskStats, TaskStatus
} from "../../proto/gen/plugins/drivers/proto/driver.ts"

// ---------------------------------------------------------------------------------------------
// time

/** Go's zero time.Time as a Timestamp: what Go drivers send for "not yet" (e.g. completed_at of a running task). */
export const GO_ZERO_TIME: Timestamp = { seconds: -62135596800n, nanos: 0 }

export const toTimestamp = (d: Date | undefined): Timestamp => {
  if (d === undefined || Number.isNaN(d.getTime())) return GO_ZERO_TIME
  const ms = d.getTime()
  const seconds = Math.floor(ms / 1000)
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 }
}

/**
 * A Duration in whole milliseconds (absent = 0; negative clamped to 0; beyond 2^53 ms, about
 * 285,000 years, clamped there). int64 seconds arrive as bigints: every value Nomad's types allow
 * decodes (docs/protocol.md#numbers).
 */
export const durationToMillis = (d: Duration | undefined): number => {
  if (d === undefined) return 0
  const millis = d.seconds * 1000n + BigInt(Math.trunc(d.nanos / 1_000_000))
  if (millis <= 0n) return 0
  return millis > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(millis)
}

// ---------------------------------------------------------------------------------------------
// hclspec

/** Our HclSpec value → hclspec.Spec with exactly one oneof member set. */
export const hclSpecToProto = (s: HclSpec): Spec => {
  switch (s._tag) {
    case "Object":
      return { object: { attributes: Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, hclSpecToProto(v)])) } }
    case "Array":
      return { array: { values: s.values.map(hclSpecToProto) } }
    case "Attr":
      return { Attr: { name: s.name, type: s.type, required: s.required } }
    case "Block":
      return { blockValue: { name: s.name, required: s.required, nested: hclSpecToProto(s.nested) } }
    case "BlockAttrs":
      return { blockAttrs: { name: s.name, type: s.type, required: s.required } }
    case "BlockList":
      return { blockList: { name: s.name, minItems: BigInt(s.minItems), maxItems: BigInt(s.maxItems), nested: hclSpecToProto(s.nested) } }
    case "BlockSet":
      return { blockSet: { name: s.name, minItems: BigInt(s.minItems), maxItems: BigInt(s.maxItems), nested: hclSpecToProto(s.nested) } }
    case "BlockMap":
      return { blockMap: { name: s.name, labels: [...s.labels], nested: hclSpecToProto(s.nested) } }
    case "Default":
      return { default: { primary: hclSpecToProto(s.primary), default: hclSpecToProto(s.default) } }
    case "Literal":
      return { literal: { value: s.value } }
  }
}

// ---------------------------------------------------------------------------------------------
// TaskConfig → NomadTask

const isolationMode = (m: NetworkIsolationSpec_NetworkIsolationMode): NetworkIsolation["mode"] => {
  switch (m) {
    case NetworkIsolationSpec_NetworkIsolationMode.GROUP: return "group"
    case NetworkIsolationSpec_NetworkIsolationMode.TASK: return "task"
    case NetworkIsolationSpec_NetworkIsolationMode.NONE: return "none"
    default: return "host"
  }
}

const isolationModeToProto = (m: DriverCapabilitiesInfo["networkIsolationModes"][number]): NetworkIsolationSpec_NetworkIsolationMode => {
  switch (m) {
    case "group": return NetworkIsolationSpec_NetworkIsolationMode.GROUP
    case "task": return NetworkIsolationSpec_NetworkIsolationMode.TASK
    case "none": return NetworkIsolationSpec_NetworkIsolationMode.NONE
    case "host": return NetworkIsolationSpec_NetworkIsolationMode.HOST
  }
}

/** Nomad's resources in MiB beyond this (1 PiB) are refused: no host has it, and bytes would overflow. */
export const MAX_MEMORY_MB = 2 ** 30

/**
 * The int64 and double fields of the wire task that the driver uses, and its `alloc_dir`, checked: each must be a
 * number the driver can use as it is (docs/protocol.md#numbers). Every int64 value decodes (as a
 * bigint); a value out of the range Nomad can mean (a negative CPU share, more memory than any
 * host) is the caller's mistake, reported with its field like a config problem.
 */
export const wireTaskIssues = (t: TaskConfig): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  const alloc = t.resources?.allocatedResources
  const linux = t.resources?.linuxResources
  const int = (field: string, v: bigint | undefined, min: bigint, max: bigint) => {
    if (v !== undefined && (v < min || v > max)) issues.push({ field, reason: `${v} is out of range (${min}..${max})` })
  }
  const safe = BigInt(Number.MAX_SAFE_INTEGER)
  int("resources.cpu.cpu_shares", alloc?.cpu?.cpuShares, 0n, safe)
  int("resources.linux_resources.cpu_shares", linux?.cpuShares, 0n, safe)
  int("resources.memory.memory_mb", alloc?.memory?.memoryMb, 0n, BigInt(MAX_MEMORY_MB))
  int("resources.memory.memory_max_mb", alloc?.memory?.memoryMaxMb, -1n, BigInt(MAX_MEMORY_MB))
  // Nomad always gives its tasks an allocation directory (the CLI and embedders may run without)
  if (!t.allocDir.startsWith("/")) issues.push({ field: "alloc_dir", reason: `must be an absolute path, got ${quote(t.allocDir)}` })
  const ticks = linux?.PercentTicks
  if (ticks !== undefined && !(Number.isFinite(ticks) && ticks >= 0)) {
    issues.push({ field: "resources.linux_resources.percent_ticks", reason: `${ticks} is not a non-negative number` })
  }
  return issues
}

/** A bigint known to be in range (see wireTaskIssues) as a number; out of range → clamped, never thrown. */
const toNumber = (v: bigint | undefined): number => {
  if (v === undefined) return 0
  const max = BigInt(Number.MAX_SAFE_INTEGER)
  return Number(v > max ? max : v < -max ? -max : v)
}

/**
 * The wire TaskConfig (minus msgpack_driver_config) as a domain NomadTask. Total: numbers are
 * converted as they are (run {@link wireTaskIssues} first to refuse the out-of-range ones).
 */
export const toNomadTask = (t: TaskConfig): NomadTask => {
  const alloc = t.resources?.allocatedResources
  const linux = t.resources?.linuxResources
  const iso = t.networkIsolationSpec
  return {
    id: t.id,
    name: t.name,
    allocId: t.allocId,
    jobName: t.jobName,
    jobId: t.jobId,
    taskGroupName: t.taskGroupName,
    namespace: t.namespace,
    nodeName: t.nodeName,
    nodeId: t.nodeId,
    parentJobId: t.parentJobId,
    env: { ...t.env },
    deviceEnv: { ...t.deviceEnv },
    user: t.user,
    resources: {
      cpuShares: toNumber(alloc?.cpu?.cpuShares || linux?.cpuShares || 0n),
      cpusetCpus: linux?.cpusetCpus ?? "",
      ...(linux?.cpusetCgroup ? { cpusetCgroup: linux.cpusetCgroup } : {}),
      memoryMb: toNumber(alloc?.memory?.memoryMb),
      memoryMaxMb: toNumber(alloc?.memory?.memoryMaxMb),
      percentTicks: Number.isFinite(linux?.PercentTicks) ? linux!.PercentTicks : 0,
      ports: (t.resources?.ports ?? []).map((p) => ({ label: p.label, value: p.value, to: p.to, hostIp: p.hostIp })),
      networks: (alloc?.networks ?? []).map((n) => ({
        device: n.device,
        cidr: n.cidr,
        ip: n.ip,
        mbits: n.mbits,
        reservedPorts: n.reservedPorts.map((p) => ({ label: p.label, value: p.value })),
        dynamicPorts: n.dynamicPorts.map((p) => ({ label: p.label, value: p.value }))
      }))
    },
    mounts: t.mounts.map((m) => ({
      taskPath: m.taskPath,
      hostPath: m.hostPath,
      readonly: m.readonly,
      propagationMode: m.propagationMode,
      selinuxLabel: m.selinuxLabel
    })),
    devices: t.devices.map((d) => ({ taskPath: d.taskPath, hostPath: d.hostPath, cgroupPermissions: d.cgroupPermissions })),
    allocDir: t.allocDir,
    stdoutPath: t.stdoutPath,
    stderrPath: t.stderrPath,
    ...(iso
      ? {
        networkIsolation: {
          mode: isolationMode(iso.mode),
          path: iso.path,
          labels: { ...iso.labels },
          hostname: iso.hostsConfig?.hostname ?? "",
          hostAddress: iso.hostsConfig?.address ?? ""
        }
      }
      : {}),
    ...(t.dns ? { dns: { servers: [...t.dns.servers], searches: [...t.dns.searches], options: [...t.dns.options] } } : {})
  }
}

// ---------------------------------------------------------------------------------------------
// results → wire

export const taskStateToProto = (s: DomainTaskState): TaskState =>
  s === "running" ? TaskState.RUNNING : s === "exited" ? TaskState.EXITED : TaskState.UNKNOWN

export const exitResultToProto = (r: DomainExitResult | undefined): ExitResult =>
  ExitResult.fromPartial(r ? { exitCode: r.exitCode, signal: r.signal, oomKilled: r.oomKilled } : {})

/** WaitTask's `err`: the runtime's error text, or the OOM note the Go driver gives. */
export const exitErrorText = (r: DomainExitResult): string =>
  r.error !== undefined && r.error !== "" ? r.error : r.oomKilled ? "Podman container killed by OOM killer" : ""

/** InspectTask's TaskStatus: both timestamps and the result always set. */
export const taskStatusToProto = (s: DomainTaskStatus): TaskStatus =>
  TaskStatus.fromPartial({
    id: s.id,
    name: s.name,
    state: taskStateToProto(s.state),
    startedAt: toTimestamp(s.startedAt),
    completedAt: toTimestamp(s.completedAt),
    result: exitResultToProto(s.exitResult)
  })

export const networkOverrideToProto = (n: DriverNetwork): NetworkOverride =>
  NetworkOverride.fromPartial({ portMap: { ...n.portMap }, addr: n.ip, autoAdvertise: n.autoAdvertise })

export const startedNetwork = (s: StartedTask): NetworkOverride | undefined =>
  s.network ? networkOverrideToProto(s.network) : undefined

/** A uint64 stats field: negative, NaN or infinite → 0; beyond 2^64-1 → 2^64-1. */
const u64 = (n: number): bigint =>
  Number.isFinite(n) && n > 0 ? (n >= 2 ** 64 ? 2n ** 64n - 1n : BigInt(Math.round(n))) : 0n
const f64 = (n: number): number => (Number.isFinite(n) ? n : 0)

const CPU_FIELDS: Record<TaskStatsSample["cpu"]["measured"][number], CPUUsage_Fields> = {
  "System Mode": CPUUsage_Fields.SYSTEM_MODE,
  "User Mode": CPUUsage_Fields.USER_MODE,
  "Total Ticks": CPUUsage_Fields.TOTAL_TICKS,
  "Throttled Periods": CPUUsage_Fields.THROTTLED_PERIODS,
  "Throttled Time": CPUUsage_Fields.THROTTLED_TIME,
  "Percent": CPUUsage_Fields.PERCENT
}

const MEMORY_FIELDS: Record<TaskStatsSample["memory"]["measured"][number], MemoryUsage_Fields> = {
  "RSS": MemoryUsage_Fields.RSS,
  "Cache": MemoryUsage_Fields.CACHE,
  "Swap": MemoryUsage_Fields.SWAP,
  "Usage": MemoryUsage_Fields.USAGE,
  "Max Usage": MemoryUsage_Fields.MAX_USAGE
}

/** A stats sample: `timestamp` and `agg_resource_usage` (with cpu and memory) always set. */
export const statsToProto = (s: TaskStatsSample): TaskStats =>
  TaskStats.fromPartial({
    id: s.taskId,
    timestamp: toTimestamp(s.timestamp),
    aggResourceUsage: {
      cpu: {
        systemMode: f64(s.cpu.systemMode),
        userMode: f64(s.cpu.userMode),
        totalTicks: f64(s.cpu.totalTicks),
        throttledPeriods: u64(s.cpu.throttledPeriods),
        throttledTime: u64(s.cpu.throttledTime),
        percent: f64(s.cpu.percent),
        measuredFields: s.cpu.measured.map((m) => CPU_FIELDS[m])
      },
      memory: {
        rss: u64(s.memory.rss),
        cache: u64(s.memory.cache),
        maxUsage: u64(s.memory.maxUsage),
        usage: u64(s.memory.usage),
        swap: u64(s.memory.swap),
        measuredFields: s.memory.measured.map((m) => MEMORY_FIELDS[m])
      }
    },
    resourceUsageByPid: {}
  })

const HEALTH: Record<HealthState, FingerprintResponse_HealthState> = {
  undetected: FingerprintResponse_HealthState.UNDETECTED,
  unhealthy: FingerprintResponse_HealthState.UNHEALTHY,
  healthy: FingerprintResponse_HealthState.HEALTHY
}

export const attributeToProto = (v: string | number | boolean): Attribute =>
  typeof v === "string"
    ? { stringVal: v, unit: "" }
    : typeof v === "boolean"
    ? { boolVal: v, unit: "" }
    : Number.isSafeInteger(v)
    ? { intVal: BigInt(v), unit: "" }
    : { floatVal: v, unit: "" }

export const fingerprintToProto = (f: Fingerprint): FingerprintResponse =>
  FingerprintResponse.fromPartial({
    attributes: Object.fromEntries(Object.entries(f.attributes).map(([k, v]) => [k, attributeToProto(v)])),
    health: HEALTH[f.health],
    healthDescription: f.healthDescription,
    err: ""
  })

export const taskEventToProto = (e: TaskEvent): DriverTaskEvent =>
  DriverTaskEvent.fromPartial({
    taskId: e.taskId,
    allocId: e.allocId,
    taskName: e.taskName,
    timestamp: toTimestamp(e.timestamp),
    message: e.message,
    annotations: { ...e.annotations }
  })

export const capabilitiesToProto = (c: DriverCapabilitiesInfo): DriverCapabilities =>
  DriverCapabilities.fromPartial({
    sendSignals: c.sendSignals,
    exec: c.exec,
    fsIsolation: c.fsIsolation === "image"
      ? DriverCapabilities_FSIsolation.IMAGE
      : c.fsIsolation === "chroot"
      ? DriverCapabilities_FSIsolation.CHROOT
      : DriverCapabilities_FSIsolation.NONE,
    networkIsolationModes: c.networkIsolationModes.map(isolationModeToProto),
    mustCreateNetwork: c.mustCreateNetwork,
    mountConfigs: c.mountConfigs === "none" ? DriverCapabilities_MountConfigs.NO_MOUNTS : DriverCapabilities_MountConfigs.ANY_MOUNTS,
    disableLogCollection: c.disableLogCollection,
    dynamicWorkloadUsers: false
  })

export const execResultToProto = (r: ExecResult): ExecTaskResponse =>
  ExecTaskResponse.fromPartial({ stdout: r.stdout, stderr: r.stderr, result: { exitCode: r.exitCode, signal: 0, oomKilled: false } })
