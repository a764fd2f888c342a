/**
 * What Nomad hands a driver for one task (the protobuf `TaskConfig` minus the msgpack driver config),
 * as a plain domain value. The NomadRpc layer builds it from the wire; the CLI and embedders build
 * it directly (see `makeNomadTask`).
 */
import { Schema } from "effect"

/** A group (shared) port: `label` allocated on host port `value`, forwarded to `to` (0 = same). */
export const PortMapping = Schema.Struct({
  label: Schema.String,
  value: Schema.Number,
  to: Schema.Number,
  hostIp: Schema.String
})
export type PortMapping = typeof PortMapping.Type

/** A legacy task-level network port. */
export const NetworkPort = Schema.Struct({ label: Schema.String, value: Schema.Number })
export type NetworkPort = typeof NetworkPort.Type

/** A legacy task-level network (pre-0.12 `network {}` inside `resources`). Used by `port_map`. */
export const NetworkResource = Schema.Struct({
  device: Schema.String,
  cidr: Schema.String,
  ip: Schema.String,
  mbits: Schema.Number,
  reservedPorts: Schema.Array(NetworkPort),
  dynamicPorts: Schema.Array(NetworkPort)
})
export type NetworkResource = typeof NetworkResource.Type

/** A host/CSI volume mount Nomad asks for. */
export const TaskMount = Schema.Struct({
  taskPath: Schema.String,
  hostPath: Schema.String,
  readonly: Schema.Boolean,
  /** `private`, `host-to-task` or `bidirectional` (empty = private). */
  propagationMode: Schema.String,
  /** `z`, `Z` or empty. */
  selinuxLabel: Schema.String
})
export type TaskMount = typeof TaskMount.Type

/** A device Nomad asks for (from a device plugin). */
export const TaskDevice = Schema.Struct({
  taskPath: Schema.String,
  hostPath: Schema.String,
  cgroupPermissions: Schema.String
})
export type TaskDevice = typeof TaskDevice.Type

/** Resources allocated to the task. Memory in MiB, CPU in MHz shares. */
export const TaskResources = Schema.Struct({
  /** `resources.cpu` in MHz; sent to Podman as CPU shares. */
  cpuShares: Schema.Number,
  /** Reserved cores (`resources.cores`), a comma list like `0,1`; empty when none. */
  cpusetCpus: Schema.String,
  /**
   * The cpuset cgroup Nomad prepared for the task (v2: `/sys/fs/cgroup/nomad.slice/share.slice/<alloc>.<task>.scope`);
   * its effective CPUs are Nomad's shared cores when the task reserves none. Absent before Nomad 1.7.
   */
  cpusetCgroup: Schema.optional(Schema.String),
  /** `resources.memory` in MiB. */
  memoryMb: Schema.Number,
  /** `resources.memory_max` in MiB: 0 = unset, -1 = unlimited (no hard limit). */
  memoryMaxMb: Schema.Number,
  /** cpu share / usable compute, for cpu_hard_limit (0..1). */
  percentTicks: Schema.Number,
  /** The group's shared ports. */
  ports: Schema.Array(PortMapping),
  /** Legacy task-level networks (for `port_map`). */
  networks: Schema.Array(NetworkResource)
})
export type TaskResources = typeof TaskResources.Type

/** Network isolation Nomad set up for the group (bridge/CNI): the netns path to join. */
export const NetworkIsolation = Schema.Struct({
  mode: Schema.Literals(["host", "group", "task", "none"]),
  path: Schema.String,
  labels: Schema.Record(Schema.String, Schema.String),
  hostname: Schema.String,
  hostAddress: Schema.String
})
export type NetworkIsolation = typeof NetworkIsolation.Type

/** Group `network.dns`. */
export const DnsConfig = Schema.Struct({
  servers: Schema.Array(Schema.String),
  searches: Schema.Array(Schema.String),
  options: Schema.Array(Schema.String)
})
export type DnsConfig = typeof DnsConfig.Type

/** Everything about a task that Nomad decides (the driver's own options are in TaskConfig). */
export const NomadTask = Schema.Struct({
  /** `<alloc>/<task>/<8hex>`, unique per task instance. */
  id: Schema.String,
  /** Task name. */
  name: Schema.String,
  allocId: Schema.String,
  jobName: Schema.String,
  jobId: Schema.String,
  taskGroupName: Schema.String,
  namespace: Schema.String,
  nodeName: Schema.String,
  nodeId: Schema.String,
  parentJobId: Schema.String,
  /** The complete task environment (NOMAD_* variables and the job's env). */
  env: Schema.Record(Schema.String, Schema.String),
  deviceEnv: Schema.Record(Schema.String, Schema.String),
  /** Task `user`; empty = image default. */
  user: Schema.String,
  resources: TaskResources,
  mounts: Schema.Array(TaskMount),
  devices: Schema.Array(TaskDevice),
  /** Host path of the alloc dir, `<data_dir>/alloc/<alloc_id>`; empty when not managed by Nomad (CLI). */
  allocDir: Schema.String,
  /** Log FIFO paths (or `/dev/null`, or empty = discard). */
  stdoutPath: Schema.String,
  stderrPath: Schema.String,
  networkIsolation: Schema.optional(NetworkIsolation),
  dns: Schema.optional(DnsConfig)
})
export type NomadTask = typeof NomadTask.Type

/** A NomadTask with every field defaulted: for the CLI, embedders and tests. */
export const makeNomadTask = (
  fields: Partial<Omit<NomadTask, "resources">> & { readonly name: string; readonly resources?: Partial<TaskResources> }
): NomadTask => {
  const allocId = fields.allocId ?? randomAllocId()
  return {
    id: fields.id ?? `${allocId}/${fields.name}/${allocId.slice(0, 8)}`,
    allocId,
    jobName: fields.jobName ?? fields.name,
    jobId: fields.jobId ?? fields.jobName ?? fields.name,
    taskGroupName: fields.taskGroupName ?? fields.name,
    namespace: fields.namespace ?? "default",
    nodeName: fields.nodeName ?? "",
    nodeId: fields.nodeId ?? "",
    parentJobId: fields.parentJobId ?? "",
    env: fields.env ?? {},
    deviceEnv: fields.deviceEnv ?? {},
    user: fields.user ?? "",
    mounts: fields.mounts ?? [],
    devices: fields.devices ?? [],
    allocDir: fields.allocDir ?? "",
    stdoutPath: fields.stdoutPath ?? "",
    stderrPath: fields.stderrPath ?? "",
    ...(fields.networkIsolation ? { networkIsolation: fields.networkIsolation } : {}),
    ...(fields.dns ? { dns: fields.dns } : {}),
    name: fields.name,
    resources: {
      cpuShares: 0,
      cpusetCpus: "",
      memoryMb: 0,
      memoryMaxMb: 0,
      percentTicks: 0,
      ports: [],
      networks: [],
      ...fields.resources
    }
  }
}

const randomAllocId = (): string => globalThis.crypto.randomUUID()
