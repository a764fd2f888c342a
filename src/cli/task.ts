/**
 * Turning a task read from a file into what Nomad would hand the plugin: a NomadTask (name, env,
 * resources, ports) and, for `plan`, the facts about Podman that the translation needs.
 */
import { existsSync } from "node:fs"
import { mkdir, rm } from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { makeNomadTask, type NomadTask, type PortMapping } from "../domain/NomadTask.ts"
import type { PodmanFacts } from "../translate/index.ts"
import { interpolate, type PortRequest, type TaskSource } from "./jobfile.ts"

/** Nomad's defaults when a task has no `resources` block. */
export const DEFAULT_CPU_MHZ = 100
export const DEFAULT_MEMORY_MB = 300

/** Ports published by the CLI bind to loopback only: a one-off local run should not open the host. */
export const CLI_HOST_IP = "127.0.0.1"

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

/** Allocates host ports: static ones as written, dynamic ones free on this host. */
export const allocatePorts = async (requests: ReadonlyArray<PortRequest>): Promise<ReadonlyArray<PortMapping>> => {
  const out: Array<PortMapping> = []
  for (const p of requests) {
    const value = p.static ?? (await freePort())
    out.push({ label: p.label, value, to: p.to ?? 0, hostIp: CLI_HOST_IP })
  }
  return out
}

/** The NOMAD_* variables the Nomad client puts in a task's environment (the subset that makes sense here). */
const nomadEnv = (
  src: TaskSource,
  allocId: string,
  cpu: number,
  memory: number,
  ports: ReadonlyArray<PortMapping>
): Record<string, string> => {
  const job = src.jobName ?? src.taskName
  const group = src.groupName ?? src.taskName
  const env: Record<string, string> = {
    NOMAD_ALLOC_ID: allocId,
    NOMAD_SHORT_ALLOC_ID: allocId.slice(0, 8),
    NOMAD_ALLOC_NAME: `${job}.${group}[0]`,
    NOMAD_ALLOC_INDEX: "0",
    NOMAD_TASK_NAME: src.taskName,
    NOMAD_GROUP_NAME: group,
    NOMAD_JOB_NAME: job,
    NOMAD_JOB_ID: job,
    NOMAD_NAMESPACE: "default",
    NOMAD_REGION: "global",
    NOMAD_DC: "dc1",
    NOMAD_CPU_LIMIT: String(cpu),
    NOMAD_MEMORY_LIMIT: String(memory),
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
  return env
}

/** The task's env block over Nomad's variables; `${NOMAD_*}` references in the block are resolved. */
const taskEnv = (nomad: Record<string, string>, user: Readonly<Record<string, string>>): Record<string, string> => {
  const out = { ...nomad }
  for (const [k, v] of Object.entries(user)) out[k] = interpolate(v, nomad) as string
  return out
}

/** The NomadTask Nomad would send for this task on a one-node cluster. */
export const toNomadTask = (src: TaskSource, ports: ReadonlyArray<PortMapping>): NomadTask => {
  const allocId = globalThis.crypto.randomUUID()
  const cpu = src.cpu ?? DEFAULT_CPU_MHZ
  const memory = src.memory ?? DEFAULT_MEMORY_MB
  return makeNomadTask({
    name: src.taskName,
    allocId,
    ...(src.jobName !== undefined ? { jobName: src.jobName, jobId: src.jobName } : {}),
    ...(src.groupName !== undefined ? { taskGroupName: src.groupName } : {}),
    env: taskEnv(nomadEnv(src, allocId, cpu, memory, ports), src.env),
    ...(src.user !== undefined ? { user: src.user } : {}),
    nodeName: os.hostname(),
    allocDir: cliAllocDir(allocId),
    resources: {
      cpuShares: cpu,
      memoryMb: memory,
      memoryMaxMb: src.memoryMax ?? 0,
      ports
    }
  })
}

/**
 * The CLI's stand-in for Nomad's alloc dir (`<data_dir>/alloc/<alloc_id>`): under the temp dir.
 * `run` creates it (alloc/, <task>/local, <task>/secrets) and removes it afterwards; `plan` only
 * names it.
 */
export const cliAllocDir = (allocId: string): string => path.join(os.tmpdir(), "nomad-driver-podman", "alloc", allocId)

/** Creates the task's alloc dir layout, as Nomad's alloc runner would before StartTask. */
export const createAllocDir = async (task: NomadTask): Promise<void> => {
  for (const dir of [path.join(task.allocDir, "alloc"), path.join(task.allocDir, task.name, "local"), path.join(task.allocDir, task.name, "secrets")]) {
    await mkdir(dir, { recursive: true, mode: 0o755 })
  }
}

/** Removes what createAllocDir made. */
export const removeAllocDir = (task: NomadTask): Promise<void> => rm(task.allocDir, { recursive: true, force: true })

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
