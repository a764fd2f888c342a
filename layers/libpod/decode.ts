/**
 * libpod JSON → the domain types of src/services/Podman.ts, through the Schemas of schemas.ts.
 * Shared by both transports (io.podman's InspectContainer/InspectImage return libpod's JSON text).
 *
 * Every decoder fails with the `Decode` reason naming the field that did not fit; the transport
 * wraps it into a `PodmanError` with its operation and socket.
 */
import { Cause, Effect, Exit, Schema } from "effect"
import { Decode } from "../../src/domain/PodmanError.ts"
import type {
  ContainerExit,
  ContainerInspect,
  ContainerStats,
  ContainerSummary,
  ContainerHealth,
  HealthcheckConfig,
  ImageInfo,
  ImageSummary,
  PodmanEvent,
  PodmanInfo
} from "../../src/services/Podman.ts"
import { parseSignal } from "../../src/domain/values/signals.ts"
import {
  ContainerExitStateJson,
  ContainerInspectJson,
  ContainerListJson,
  CreatedJson,
  EventJson,
  ExecInspectJson,
  HealthcheckRunJson,
  ImageInspectJson,
  ImageListJson,
  InfoJson,
  type StatsEntryJson,
  StatsReportJson,
  WaitJson
} from "./schemas.ts"

/** Schema's issue text on one line: `Expected boolean at State.Running; Missing key at Id`. */
const formatIssue = (error: unknown): string => {
  const lines = (error instanceof Error ? error.message : String(error)).split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const out: Array<string> = []
  for (const line of lines) {
    const at = /^at (.*)$/.exec(line)
    if (at !== null && out.length > 0) {
      const path = at[1]!.replace(/\["([^"]*)"\]/g, ".$1").replace(/\[(\d+)\]/g, "[$1]").replace(/^\./, "")
      out[out.length - 1] = `${out[out.length - 1]} at ${path}`
    } else {
      out.push(line)
    }
  }
  return out.join("; ")
}

/**
 * A decoder for `schema`: a mismatch is a `Decode` reason saying what (in `what`) and where. Build
 * it once per schema (module level): answers are decoded on hot paths (every stop inspects), so the
 * fast path stops at the first issue and only a failure is decoded again to list every issue.
 */
export const decodeWith = <S extends Schema.Decoder<unknown>>(schema: S, what: string) => {
  const fast = Schema.decodeUnknownExit(schema)
  return (value: unknown): Effect.Effect<S["Type"], Decode> => {
    const exit = fast(value)
    if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
    const all = Schema.decodeUnknownExit(schema)(value, { errors: "all" })
    return Effect.fail(new Decode({ detail: `${what}: ${formatIssue(Cause.squash(Exit.isFailure(all) ? all.cause : exit.cause))}` }))
  }
}

const decodeInspect = decodeWith(ContainerInspectJson, "container inspect")
const decodeExitState = decodeWith(ContainerExitStateJson, "container inspect")
const decodeImage = decodeWith(ImageInspectJson, "image inspect")
const decodeInfo = decodeWith(InfoJson, "info")
const decodeList = decodeWith(ContainerListJson, "container list")
const decodeStats = decodeWith(StatsReportJson, "stats report")
const decodeEvent = decodeWith(EventJson, "event")
const decodeExec = decodeWith(ExecInspectJson, "exec inspect")
const decodeCreated = decodeWith(CreatedJson, "create answer")
const decodeWait = decodeWith(WaitJson, "wait answer")
const decodeImageList = decodeWith(ImageListJson, "image list")
const decodeHealthcheck = decodeWith(HealthcheckRunJson, "healthcheck answer")

/** JSON text → value; text that is not JSON is a `Decode` reason. */
export const parseJsonText = (text: unknown, what: string): Effect.Effect<unknown, Decode> =>
  Effect.try({
    try: () => JSON.parse(typeof text === "string" ? text : "") as unknown,
    catch: () =>
      new Decode({
        detail: `${what} is not JSON: ${JSON.stringify(typeof text === "string" ? text.slice(0, 200) : typeof text)}`
      })
  })

/** JSON text, or `undefined` when it is not JSON (never throws): for bodies that may be plain text. */
export const parseJsonOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * A timestamp. Go's zero time (`0001-01-01T00:00:00Z`, what Podman reports for "never") and
 * unparsable values give `undefined`.
 */
export const goTime = (v: string | null | undefined): Date | undefined => {
  if (typeof v !== "string" || v === "" || v.startsWith("0001-01-01")) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** A stop signal as a number: 4.x reports it as a number, 5.x as a name (or a numeric string). */
export const signalNumber = (v: number | string | null | undefined): number | undefined => {
  if (typeof v === "number") return v > 0 ? v : undefined
  return typeof v === "string" && v !== "" ? parseSignal(v)?.number : undefined
}

type PortMapJson = Readonly<Record<string, ReadonlyArray<{ readonly HostIp?: string | null; readonly HostPort?: number | null }> | null>>

const portsOf = (ports: PortMapJson | null | undefined): ContainerInspect["ports"] => {
  const out: Record<string, ReadonlyArray<{ hostIp: string; hostPort: number }>> = {}
  // `null` bindings = exposed but not published: keep the key with no bindings.
  for (const [k, v] of Object.entries(ports ?? {})) out[k] = (v ?? []).map((b) => ({ hostIp: b.HostIp ?? "", hostPort: b.HostPort ?? 0 }))
  return out
}

/** The container's IPv4: the top-level `IPAddress` (default network), else the first network that has one. */
const ipAddressOf = (settings: ContainerInspectJson["NetworkSettings"]): string => {
  if (settings?.IPAddress) return settings.IPAddress
  for (const n of Object.values(settings?.Networks ?? {})) if (n.IPAddress) return n.IPAddress
  return ""
}

/**
 * What exit detection needs from an inspect. Transports only: the core gets a `ContainerExit`.
 */
export interface ExitProbe {
  /** Still running (or paused): not exited yet. */
  readonly running: boolean
  /** How it ended, when it is not running. */
  readonly exit: ContainerExit
  /** The pid of the container's conmon while it runs, else 0. */
  readonly conmonPid: number
}

/** The exit probe of a `GET /libpod/containers/{id}/json` answer (also io.podman's InspectContainer text). */
export const toExitProbe = (json: unknown): Effect.Effect<ExitProbe, Decode> =>
  Effect.map(decodeExitState(json), (j) => ({
    running: j.State.Running,
    conmonPid: j.State.ConmonPid ?? 0,
    exit: {
      exitCode: j.State.ExitCode,
      oomKilled: j.State.OOMKilled,
      finishedAt: goTime(j.State.FinishedAt),
      error: j.State.Error ?? ""
    }
  }))

/** Podman's default health check interval and timeout (30 s) when the image sets 0. */
const HEALTH_DEFAULT_MILLIS = 30_000

const healthcheckOf = (config: ContainerInspectJson["Config"]): HealthcheckConfig | undefined => {
  const h = config?.Healthcheck ?? undefined
  const test = h?.Test ?? []
  if (h === undefined || test.length === 0 || test[0] === "NONE") return undefined
  const ms = (ns: number | null | undefined, fallback: number) => (ns !== undefined && ns !== null && ns > 0 ? Math.round(ns / 1e6) : fallback)
  return {
    intervalMillis: ms(h.Interval, HEALTH_DEFAULT_MILLIS),
    timeoutMillis: ms(h.Timeout, HEALTH_DEFAULT_MILLIS),
    startPeriodMillis: ms(h.StartPeriod, 0)
  }
}

const healthOf = (state: ContainerInspectJson["State"]): ContainerHealth | undefined => {
  const h = state.Health ?? state.Healthcheck ?? undefined
  if (h === undefined) return undefined
  const ends = (h.Log ?? []).flatMap((l) => {
    const d = goTime(l.End)
    return d === undefined ? [] : [d]
  })
  return { status: h.Status ?? "", checkEnds: ends.sort((a, b) => a.getTime() - b.getTime()) }
}

/** `GET /libpod/containers/{id}/json` (also io.podman's InspectContainer text, parsed). */
export const toContainerInspect = (json: unknown): Effect.Effect<ContainerInspect, Decode> =>
  Effect.map(decodeInspect(json), (j) => {
    const config = j.Config ?? undefined
    const hc = j.HostConfig ?? undefined
    const published = portsOf(j.NetworkSettings?.Ports)
    const log = hc?.LogConfig ?? undefined
    const healthcheck = healthcheckOf(config)
    const health = healthOf(j.State)
    return {
      id: j.Id,
      name: (j.Name ?? "").replace(/^\//, ""),
      image: j.ImageName || j.Image || "",
      imageId: j.Image ?? "",
      state: {
        status: j.State.Status ?? "",
        running: j.State.Running,
        pid: j.State.Pid ?? 0,
        conmonPid: j.State.ConmonPid ?? 0,
        exitCode: j.State.ExitCode,
        oomKilled: j.State.OOMKilled,
        error: j.State.Error ?? "",
        startedAt: goTime(j.State.StartedAt),
        finishedAt: goTime(j.State.FinishedAt)
      },
      labels: config?.Labels ?? {},
      env: config?.Env ?? [],
      user: config?.User ?? "",
      workingDir: config?.WorkingDir ?? "",
      hostname: config?.Hostname ?? "",
      stopSignal: signalNumber(config?.StopSignal),
      ipAddress: ipAddressOf(j.NetworkSettings),
      // NetworkSettings.Ports is what is actually bound; before start fall back to the requested
      // HostConfig.PortBindings.
      ports: Object.keys(published).length > 0 ? published : portsOf(hc?.PortBindings),
      memoryLimit: hc?.Memory ?? 0,
      memoryReservation: hc?.MemoryReservation ?? 0,
      memorySwap: hc?.MemorySwap ?? 0,
      cpuShares: hc?.CpuShares ?? 0,
      cpuQuota: hc?.CpuQuota ?? 0,
      cpuPeriod: hc?.CpuPeriod ?? 0,
      cpusetCpus: hc?.CpusetCpus ?? "",
      pidsLimit: hc?.PidsLimit ?? 0,
      mounts: (j.Mounts ?? []).map((m) => ({
        type: m.Type ?? "",
        source: m.Source ?? "",
        destination: m.Destination ?? "",
        rw: m.RW ?? false
      })),
      logPath: log?.Type === "k8s-file" && typeof log.Path === "string" && log.Path.startsWith("/") ? log.Path : undefined,
      cgroupPath: j.State.CgroupPath ? j.State.CgroupPath : undefined,
      ...(healthcheck !== undefined ? { healthcheck } : {}),
      ...(health !== undefined && healthcheck !== undefined ? { health } : {})
    } satisfies ContainerInspect
  })

/** `GET /libpod/images/{name}/json` (also io.podman's InspectImage text, parsed). */
export const toImageInfo = (json: unknown): Effect.Effect<ImageInfo, Decode> =>
  Effect.map(decodeImage(json), (j) => {
    const stop = j.Config?.StopSignal
    return {
      id: j.Id,
      repoTags: j.RepoTags ?? [],
      repoDigests: j.RepoDigests ?? [],
      size: j.Size ?? 0,
      os: j.Os ?? "",
      architecture: j.Architecture ?? "",
      ...(stop !== undefined && stop !== null && stop !== "" ? { stopSignal: String(stop) } : {})
    } satisfies ImageInfo
  })

/** `GET /libpod/info`. */
export const toInfo = (json: unknown): Effect.Effect<PodmanInfo, Decode> =>
  Effect.map(decodeInfo(json), ({ host, version }) => ({
    version: version.Version,
    apiVersion: version.APIVersion,
    rootless: host.security.rootless,
    cgroupVersion: host.cgroupVersion,
    cgroupManager: host.cgroupManager,
    ociRuntime: host.ociRuntime?.name ?? "",
    ociRuntimePath: host.ociRuntime?.path ?? "",
    appArmorEnabled: host.security.apparmorEnabled ?? false,
    selinuxEnabled: host.security.selinuxEnabled ?? false,
    seccompEnabled: host.security.seccompEnabled ?? false,
    capabilities: host.security.capabilities ?? "",
    os: host.os ?? "",
    arch: host.arch ?? "",
    hostname: host.hostname ?? "",
    kernel: host.kernel ?? "",
    memTotal: host.memTotal ?? 0,
    cpus: host.cpus ?? 0,
    socketPath: host.remoteSocket?.path ?? ""
  } satisfies PodmanInfo))

/** `GET /libpod/containers/json`. */
export const toContainerList = (json: unknown): Effect.Effect<ReadonlyArray<ContainerSummary>, Decode> =>
  Effect.map(decodeList(json), (list) =>
    list.map((c): ContainerSummary => ({
      id: c.Id,
      names: c.Names ?? [],
      state: c.State ?? "",
      labels: c.Labels ?? {},
      created: typeof c.Created === "number" ? new Date(c.Created * 1000) : goTime(c.Created)
    })))

/** `GET /libpod/images/json`. */
export const toImageList = (json: unknown): Effect.Effect<ReadonlyArray<ImageSummary>, Decode> =>
  Effect.map(decodeImageList(json), (list) =>
    list.map((i): ImageSummary => ({ id: i.Id, names: i.Names ?? i.RepoTags ?? [] })))

/** `GET /libpod/containers/{id}/healthcheck`: the status after the check ran. */
export const toHealthcheckStatus = (json: unknown): Effect.Effect<string, Decode> =>
  Effect.map(decodeHealthcheck(json), (j) => j.Status)

const toContainerStats = (j: StatsEntryJson, readAt: Date): ContainerStats => ({
  containerId: j.ContainerID,
  readAt,
  cpuNano: j.CPUNano ?? 0,
  cpuSystemNano: j.CPUSystemNano ?? 0,
  systemNano: j.SystemNano ?? 0,
  memUsage: j.MemUsage ?? 0,
  memLimit: j.MemLimit ?? 0,
  pids: j.PIDs ?? 0,
  netInput: j.NetInput ?? 0,
  netOutput: j.NetOutput ?? 0,
  blockInput: j.BlockInput ?? 0,
  blockOutput: j.BlockOutput ?? 0
})

/**
 * One line of `GET /libpod/containers/stats`: the samples, or Podman's error for the batch (a
 * missing container gives `{"Error":{},"Stats":null}`).
 */
export const toStatsReport = (
  json: unknown,
  readAt: Date
): Effect.Effect<{ readonly _tag: "Samples"; readonly samples: ReadonlyArray<ContainerStats> } | { readonly _tag: "Error"; readonly error: string }, Decode> =>
  Effect.map(decodeStats(json), (r) =>
    r.Stats === undefined || r.Stats === null
      ? { _tag: "Error" as const, error: typeof r.Error === "string" ? r.Error : JSON.stringify(r.Error ?? null) }
      : { _tag: "Samples" as const, samples: r.Stats.map((s) => toContainerStats(s, readAt)) })

/** One line of `GET /libpod/events`. */
export const toEvent = (json: unknown): Effect.Effect<PodmanEvent, Decode> =>
  Effect.map(decodeEvent(json), (j) => {
    const attributes: Record<string, string> = {}
    for (const [k, v] of Object.entries(j.Actor?.Attributes ?? {})) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") attributes[k] = String(v)
    }
    const nano = j.timeNano ?? 0
    return {
      type: j.Type || j.type || "",
      action: j.Action || j.status || "",
      id: j.Actor?.ID || j.id || "",
      name: attributes["name"] ?? "",
      attributes,
      time: nano > 0 ? new Date(Math.floor(nano / 1e6)) : new Date((j.time ?? 0) * 1000)
    } satisfies PodmanEvent
  })

/** `GET /libpod/exec/{id}/json`. */
export const toExecState = (json: unknown): Effect.Effect<{ readonly running: boolean; readonly exitCode: number }, Decode> =>
  Effect.map(decodeExec(json), (j) => ({ running: j.Running, exitCode: j.ExitCode }))

/** `POST /containers/create` (and exec create, which answers only `Id`). */
export const toCreated = (json: unknown): Effect.Effect<{ readonly id: string; readonly warnings: ReadonlyArray<string> }, Decode> =>
  Effect.map(decodeCreated(json), (j) => ({ id: j.Id, warnings: j.Warnings ?? [] }))

/** `POST /containers/{id}/wait`: the exit code. */
export const toWaitExitCode = (json: unknown): Effect.Effect<number, Decode> =>
  Effect.map(decodeWait(json), (j) => (typeof j === "number" ? j : j.StatusCode))
