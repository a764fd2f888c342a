/**
 * Maps libpod JSON onto the domain types of src/services/Podman.ts, through the lenient readers:
 * only the fields the driver uses are read, and every one has a default.
 */
import { parseSignal } from "../../src/domain/values/signals.ts"
import type {
  ContainerInspect,
  ContainerStats,
  ContainerSummary,
  ImageInfo,
  PodmanEvent,
  PodmanInfo
} from "../../src/services/Podman.ts"
import { arr, at, bool, date, num, obj, str, strArr, strRec } from "./lenient.ts"

/** `GET /libpod/info` (4.x: `host`, `version`, `host.security`, `host.ociRuntime`, `host.remoteSocket`). */
export const toInfo = (j: unknown): PodmanInfo => {
  const host = at(j, "host")
  const sec = at(host, "security")
  return {
    version: str(at(j, "version", "Version")),
    apiVersion: str(at(j, "version", "APIVersion")),
    rootless: bool(at(sec, "rootless")),
    cgroupVersion: str(at(host, "cgroupVersion")),
    cgroupManager: str(at(host, "cgroupManager")),
    ociRuntime: str(at(host, "ociRuntime", "name")),
    ociRuntimePath: str(at(host, "ociRuntime", "path")),
    appArmorEnabled: bool(at(sec, "apparmorEnabled")),
    selinuxEnabled: bool(at(sec, "selinuxEnabled")),
    seccompEnabled: bool(at(sec, "seccompEnabled")),
    capabilities: str(at(sec, "capabilities")),
    os: str(at(host, "os")),
    arch: str(at(host, "arch")),
    hostname: str(at(host, "hostname")),
    kernel: str(at(host, "kernel")),
    memTotal: num(at(host, "memTotal")),
    cpus: num(at(host, "cpus")),
    socketPath: str(at(host, "remoteSocket", "path"))
  }
}

/** `GET /libpod/images/{name}/json`. */
export const toImageInfo = (j: unknown): ImageInfo => {
  const stop = str(at(j, "Config", "StopSignal"))
  return {
    id: str(at(j, "Id")),
    repoTags: strArr(at(j, "RepoTags")),
    repoDigests: strArr(at(j, "RepoDigests")),
    size: num(at(j, "Size")),
    os: str(at(j, "Os")),
    architecture: str(at(j, "Architecture")),
    ...(stop !== "" ? { stopSignal: stop } : {})
  }
}

/**
 * A stop signal as a number. Podman 4.x reports `Config.StopSignal` as a number; 5.x as a name or a
 * numeric string. Unknown names give `undefined`.
 */
export const signalNumber = (v: unknown): number | undefined => {
  if (typeof v === "number") return v > 0 ? v : undefined
  return typeof v === "string" && v !== "" ? parseSignal(v)?.number : undefined
}

/** The container's IPv4: the top-level `IPAddress` (default network), else the first network that has one. */
const ipAddressOf = (settings: unknown): string => {
  const top = str(at(settings, "IPAddress"))
  if (top !== "") return top
  for (const n of Object.values(obj(at(settings, "Networks")))) {
    const ip = str(at(n, "IPAddress"))
    if (ip !== "") return ip
  }
  return ""
}

const portsOf = (ports: unknown): ContainerInspect["ports"] => {
  const out: Record<string, ReadonlyArray<{ hostIp: string; hostPort: number }>> = {}
  for (const [k, v] of Object.entries(obj(ports))) {
    // `null` = exposed but not published: keep the key with no bindings.
    out[k] = arr(v).map((b) => ({ hostIp: str(at(b, "HostIp")), hostPort: num(at(b, "HostPort")) }))
  }
  return out
}

/** `GET /libpod/containers/{id}/json`. */
export const toContainerInspect = (j: unknown): ContainerInspect => {
  const state = at(j, "State")
  const config = at(j, "Config")
  const hc = at(j, "HostConfig")
  const settings = at(j, "NetworkSettings")
  const published = portsOf(at(settings, "Ports"))
  return {
    id: str(at(j, "Id")),
    name: str(at(j, "Name")).replace(/^\//, ""),
    image: str(at(j, "ImageName")) || str(at(j, "Image")),
    state: {
      status: str(at(state, "Status")),
      running: bool(at(state, "Running")),
      pid: num(at(state, "Pid")),
      exitCode: num(at(state, "ExitCode")),
      oomKilled: bool(at(state, "OOMKilled")),
      error: str(at(state, "Error")),
      startedAt: date(at(state, "StartedAt")),
      finishedAt: date(at(state, "FinishedAt"))
    },
    labels: strRec(at(config, "Labels")),
    env: strArr(at(config, "Env")),
    user: str(at(config, "User")),
    workingDir: str(at(config, "WorkingDir")),
    hostname: str(at(config, "Hostname")),
    stopSignal: signalNumber(at(config, "StopSignal")),
    ipAddress: ipAddressOf(settings),
    // NetworkSettings.Ports is what is actually bound; before start (or on old versions) fall back
    // to the requested HostConfig.PortBindings.
    ports: Object.keys(published).length > 0 ? published : portsOf(at(hc, "PortBindings")),
    memoryLimit: num(at(hc, "Memory")),
    memoryReservation: num(at(hc, "MemoryReservation")),
    memorySwap: num(at(hc, "MemorySwap")),
    cpuShares: num(at(hc, "CpuShares")),
    cpuQuota: num(at(hc, "CpuQuota")),
    cpuPeriod: num(at(hc, "CpuPeriod")),
    cpusetCpus: str(at(hc, "CpusetCpus")),
    pidsLimit: num(at(hc, "PidsLimit")),
    mounts: arr(at(j, "Mounts")).map((m) => ({
      type: str(at(m, "Type")),
      source: str(at(m, "Source")),
      destination: str(at(m, "Destination")),
      rw: bool(at(m, "RW"))
    })),
    raw: j
  }
}

/** One entry of `GET /libpod/containers/json`. */
export const toContainerSummary = (j: unknown): ContainerSummary => ({
  id: str(at(j, "Id")),
  names: strArr(at(j, "Names")),
  state: str(at(j, "State")),
  labels: strRec(at(j, "Labels"))
})

/** One element of the `Stats` array of `GET /libpod/containers/stats`. */
export const toContainerStats = (j: unknown, readAt: Date): ContainerStats => ({
  containerId: str(at(j, "ContainerID")) || str(at(j, "ContainerId")),
  readAt,
  cpuNano: num(at(j, "CPUNano")),
  cpuSystemNano: num(at(j, "CPUSystemNano")),
  systemNano: num(at(j, "SystemNano")),
  memUsage: num(at(j, "MemUsage")),
  memLimit: num(at(j, "MemLimit")),
  pids: num(at(j, "PIDs")),
  netInput: num(at(j, "NetInput")),
  netOutput: num(at(j, "NetOutput")),
  blockInput: num(at(j, "BlockInput")),
  blockOutput: num(at(j, "BlockOutput"))
})

/**
 * One line of `GET /libpod/events`. libpod sends the Docker-style envelope
 * (`Type`, `Action`, `Actor{ID,Attributes}`, `time`, `timeNano`); older versions used
 * `status`/`id`/`from`, read as fallbacks.
 */
export const toEvent = (j: unknown): PodmanEvent => {
  const attributes = strRec(at(j, "Actor", "Attributes"))
  const nano = num(at(j, "timeNano"))
  const secs = num(at(j, "time"))
  return {
    type: str(at(j, "Type")) || str(at(j, "type")),
    action: str(at(j, "Action")) || str(at(j, "status")),
    id: str(at(j, "Actor", "ID")) || str(at(j, "id")),
    name: attributes["name"] ?? "",
    attributes,
    time: nano > 0 ? new Date(Math.floor(nano / 1e6)) : new Date(secs * 1000)
  }
}
