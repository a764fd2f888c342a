/**
 * Turning a task read from a file into what the Nomad client would hand the driver on a one-node
 * cluster: the NomadTask (ids, environment, resources, group ports, task networks, DNS, alloc dir)
 * and, for `plan`, the facts about Podman the translation needs.
 *
 * `plan` is deterministic: a fixed alloc id unless `--alloc-id`, dynamic ports numbered from
 * Nomad's first dynamic port, and the alloc dir named by its template. `run` allocates free ports
 * and a private alloc dir (`mkdtemp`, removed at the end).
 *
 * The group's network: Nomad's `bridge` (and `cni/*`) mode puts the group in a network namespace
 * it builds with CNI and forwards the group ports into it. Without Nomad there is no such
 * namespace; the CLI runs the task on Podman's own network with the group ports published, which
 * is what a task sees in Nomad's `host` mode, and says so (`networkNote`).
 */
import { Effect, FileSystem } from "effect"
import { existsSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { makeNomadTask, type NetworkResource, type NomadTask, type PortMapping } from "../domain/NomadTask.ts"
import type { PodmanFacts } from "../translate/index.ts"
import type { PortRequest, TaskSource } from "./extract.ts"
import { CLI_NODE_ID, interpolateEnv } from "./interpolate.ts"

/** Nomad's defaults when a task has no `resources` block. */
export const DEFAULT_CPU_MHZ = 100
export const DEFAULT_MEMORY_MB = 300

/** Ports published by the CLI bind to loopback only: a one-off local run should not open the host. */
export const CLI_HOST_IP = "127.0.0.1"

/** The alloc id `plan` uses unless `--alloc-id` is given. */
export const PLAN_ALLOC_ID = "00000000-0000-4000-8000-000000000000"

/** Nomad's first dynamic port (client `min_dynamic_port`): `plan` numbers dynamic ports from here. */
export const PLAN_FIRST_DYNAMIC_PORT = 20000

/** The alloc dir `plan` names (`run` creates one from this template with `mkdtemp`). */
export const ALLOC_DIR_PREFIX = "nomad-driver-podman-alloc-"
export const planAllocDir = (): string => path.join(os.tmpdir(), `${ALLOC_DIR_PREFIX}XXXXXX`)

/** A free TCP port on loopback (for dynamic ports, as Nomad would allocate one). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, CLI_HOST_IP, () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

/** How host ports are chosen: numbered (`plan`) or free on this host (`run`). */
export type PortChoice = "plan" | "free"

const allocator = (choice: PortChoice) => {
  let next = PLAN_FIRST_DYNAMIC_PORT
  return (p: PortRequest): Effect.Effect<number> =>
    p.static !== undefined ? Effect.succeed(p.static) : choice === "plan" ? Effect.sync(() => next++) : Effect.promise(freePort)
}

/** The group's ports and the task's networks with their host ports. */
export const allocatePorts = (src: TaskSource, choice: PortChoice) =>
  Effect.gen(function*() {
    const host = allocator(choice)
    const ports: Array<PortMapping> = []
    for (const p of src.network.ports) ports.push({ label: p.label, value: yield* host(p), to: p.to ?? 0, hostIp: CLI_HOST_IP })
    const networks: Array<NetworkResource> = []
    for (const n of src.taskNetworks) {
      const reserved = []
      for (const p of n.reserved) reserved.push({ label: p.label, value: yield* host(p) })
      const dynamic = []
      for (const p of n.dynamic) dynamic.push({ label: p.label, value: yield* host(p) })
      networks.push({ device: "", cidr: `${CLI_HOST_IP}/32`, ip: CLI_HOST_IP, mbits: n.mbits, reservedPorts: reserved, dynamicPorts: dynamic })
    }
    return { ports, networks }
  })

/** The NOMAD_* variables the Nomad client puts in a task's environment (the subset that makes sense here). */
const nomadEnv = (src: TaskSource, task: { allocId: string; cpu: number; memory: number; memoryMax: number; allocDir: string }, ports: ReadonlyArray<PortMapping>, networks: ReadonlyArray<NetworkResource>): Record<string, string> => {
  const job = src.jobName ?? src.taskName
  const group = src.groupName ?? src.taskName
  const env: Record<string, string> = {
    NOMAD_ALLOC_ID: task.allocId,
    NOMAD_SHORT_ALLOC_ID: task.allocId.slice(0, 8),
    NOMAD_ALLOC_NAME: `${job}.${group}[0]`,
    NOMAD_ALLOC_INDEX: "0",
    NOMAD_TASK_NAME: src.taskName,
    NOMAD_GROUP_NAME: group,
    NOMAD_JOB_NAME: job,
    NOMAD_JOB_ID: job,
    NOMAD_NAMESPACE: "default",
    NOMAD_REGION: "global",
    NOMAD_DC: "dc1",
    NOMAD_CPU_LIMIT: String(task.cpu),
    NOMAD_MEMORY_LIMIT: String(task.memory),
    ...(task.memoryMax > 0 ? { NOMAD_MEMORY_MAX_LIMIT: String(task.memoryMax) } : {}),
    // where the alloc, task and secrets directories appear inside the container
    NOMAD_ALLOC_DIR: "/alloc",
    NOMAD_TASK_DIR: "/local",
    NOMAD_SECRETS_DIR: "/secrets"
  }
  for (const p of ports) {
    const to = p.to > 0 ? p.to : p.value
    env[`NOMAD_PORT_${p.label}`] = String(to)
    env[`NOMAD_HOST_PORT_${p.label}`] = String(p.value)
    env[`NOMAD_IP_${p.label}`] = p.hostIp
    env[`NOMAD_ADDR_${p.label}`] = `${p.hostIp}:${p.value}`
    env[`NOMAD_HOST_IP_${p.label}`] = p.hostIp
    env[`NOMAD_HOST_ADDR_${p.label}`] = `${p.hostIp}:${p.value}`
  }
  for (const n of networks) {
    for (const p of [...n.reservedPorts, ...n.dynamicPorts]) {
      env[`NOMAD_PORT_${p.label}`] = String(p.value)
      env[`NOMAD_HOST_PORT_${p.label}`] = String(p.value)
      env[`NOMAD_IP_${p.label}`] = n.ip
      env[`NOMAD_ADDR_${p.label}`] = `${n.ip}:${p.value}`
    }
  }
  return env
}

/** The NomadTask the client would send for this task, with the given alloc id, ports and alloc dir. */
export const toNomadTask = (
  src: TaskSource,
  options: { readonly allocId: string; readonly allocDir: string; readonly ports: ReadonlyArray<PortMapping>; readonly networks: ReadonlyArray<NetworkResource> }
): NomadTask => {
  const cpu = src.cpu ?? DEFAULT_CPU_MHZ
  const memory = src.memory ?? DEFAULT_MEMORY_MB
  const memoryMax = src.memoryMax ?? 0
  const base = nomadEnv(src, { allocId: options.allocId, cpu, memory, memoryMax, allocDir: options.allocDir }, options.ports, options.networks)
  // the env block over Nomad's variables; `${NOMAD_*}` references in it resolved
  const env = { ...base }
  for (const [k, v] of Object.entries(src.env)) env[k] = interpolateEnv(v, base)
  const dns = src.network.dns
  return makeNomadTask({
    name: src.taskName,
    allocId: options.allocId,
    ...(src.jobName !== undefined ? { jobName: src.jobName, jobId: src.jobName } : {}),
    ...(src.groupName !== undefined ? { taskGroupName: src.groupName } : {}),
    env,
    ...(src.user !== undefined ? { user: src.user } : {}),
    nodeName: os.hostname(),
    nodeId: CLI_NODE_ID,
    allocDir: options.allocDir,
    ...(dns !== undefined ? { dns: { servers: [...dns.servers], searches: [...dns.searches], options: [...dns.options] } } : {}),
    resources: {
      cpuShares: cpu,
      memoryMb: memory,
      memoryMaxMb: memoryMax,
      ports: options.ports,
      networks: options.networks
    }
  })
}

/** What the CLI says about a group network mode it can only approximate; undefined when none. */
export const networkNote = (src: TaskSource): string | undefined => {
  const mode = src.network.mode
  if (mode === "host" || mode === "") return undefined
  return `group network mode "${mode}" is Nomad's own network namespace (CNI); without Nomad the task runs on ` +
    `Podman's network (its network_mode, or Podman's default) with the group's ports published on ${CLI_HOST_IP}`
}

/**
 * Creates an alloc dir as Nomad's alloc runner would before StartTask: a new private directory
 * (`mkdtemp`: never an existing path, never through a planted symlink) with the shared `alloc/`
 * directory, writable by the task's user. The task's own directories are made once its name is
 * known (./run.ts).
 */
export const makeAllocDir = () =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectory({ prefix: ALLOC_DIR_PREFIX })
    const shared = path.join(dir, "alloc")
    yield* fs.makeDirectory(shared)
    // the umask narrowed the mode; a task running as another user must still write here
    yield* fs.chmod(shared, 0o777)
    return dir
  })

/** Removes an alloc dir (symlinks inside are removed, not followed). */
export const removeAllocDir = (dir: string) =>
  FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.remove(dir, { recursive: true, force: true })))

/** `v2` when the unified hierarchy is mounted at /sys/fs/cgroup, else `v1`. */
export const detectCgroupVersion = (): "v1" | "v2" => (existsSync("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1")

/** What `plan` assumes about Podman: rootful, this host's cgroups and CPUs, libpod API 4.3.1. */
export const localFacts = (): PodmanFacts => ({
  rootless: false,
  cgroupVersion: detectCgroupVersion(),
  cgroupManager: existsSync("/run/systemd/system") ? "systemd" : "cgroupfs",
  apiVersion: "4.3.1",
  hostCpus: typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length
})
