/**
 * Finding the podman task in a parsed job and reading what Nomad would hand the driver around its
 * config: the job, group and task names, the task's env, resources, user, kill signal and timeout,
 * the group's network (mode, hostname, ports, DNS) and the task's own (legacy) networks.
 *
 * Two job shapes: the HCL shape (an evaluated HCL file, or an HCL-JSON file: `job.<name>[i]…`,
 * blocks as lists) and the API shape (`nomad job run -output`, `{"Job": {...}}`). The config comes
 * out the way Nomad sends it (docs/config.md): for HCL, nested blocks are lists of objects and an
 * object assigned to an attribute is wrapped in a one-element list; JSON is passed as written.
 */
import type { Pos } from "./hcl/ast.ts"
import { EvalFailure, failures, type Node } from "./hcl/document.ts"
import { type Diagnostic, Diagnostics } from "./diagnostics.ts"

/** A port of the group network (`port "db" { static = 8080, to = 80 }`) or of a task network. */
export interface PortRequest {
  readonly label: string
  /** Static host port; undefined = dynamic. */
  readonly static?: number
  /** Container port; undefined = same as the host port. */
  readonly to?: number
}

/** The group's `network` block. */
export interface GroupNetwork {
  /** `host` (Nomad's default), `bridge`, `none`, `cni/<name>`. */
  readonly mode: string
  readonly hostname?: string
  readonly ports: ReadonlyArray<PortRequest>
  readonly dns?: { readonly servers: ReadonlyArray<string>; readonly searches: ReadonlyArray<string>; readonly options: ReadonlyArray<string> }
}

/** A task-level `resources { network { … } }` (pre-0.12 style, used with `port_map`). */
export interface TaskNetwork {
  readonly mbits: number
  readonly reserved: ReadonlyArray<PortRequest>
  readonly dynamic: ReadonlyArray<PortRequest>
}

/** The task as read from the file: its config and what Nomad would add around it. */
export interface TaskSource {
  readonly file: string
  readonly taskName: string
  readonly jobName?: string
  readonly groupName?: string
  /** The task's `driver`, when the file is a job file. */
  readonly driver?: string
  /** The `config {}` block, Nomad-shaped (not yet decoded nor interpolated). */
  readonly rawConfig: Readonly<Record<string, unknown>>
  /** The task's `env {}` block. */
  readonly env: Readonly<Record<string, string>>
  readonly cpu?: number
  readonly memory?: number
  readonly memoryMax?: number
  readonly user?: string
  /** The task's `kill_signal` (what Nomad's StopTask sends). */
  readonly killSignal?: string
  /** The task's `kill_timeout` as written (a Go duration), or nanoseconds from an API job. */
  readonly killTimeout?: string | number
  readonly network: GroupNetwork
  readonly taskNetworks: ReadonlyArray<TaskNetwork>
  /** The position of a config field (`ports[1]`, `logging.driver`) or of the group's `dns`, when known. */
  readonly locate: (field: string) => Pos | undefined
  /** Expressions of the config that failed to evaluate (HCL): reported instead of decoding it. */
  readonly configFailures?: ReadonlyArray<Diagnostic>
}

type Obj = { readonly [k: string]: Node }
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof EvalFailure)

/** Reads a value the CLI needs; a failed evaluation is reported where it happened. */
const read = (file: string, n: Node | undefined): Node | undefined => {
  if (n instanceof EvalFailure) throw new Diagnostics({ diagnostics: [{ file, pos: n.error.pos, reason: n.error.detail }] })
  return n
}

/** The elements of a block: an object, or a list of objects. */
const items = (file: string, v: Node | undefined): ReadonlyArray<Obj> => {
  const r = read(file, v)
  return Array.isArray(r) ? r.filter(isObj) : isObj(r) ? [r] : []
}

/** Merges a block's items (a repeated `env {}` block merges, as in Nomad). */
const merged = (file: string, v: Node | undefined): Obj => Object.assign({}, ...items(file, v)) as Obj

/** `{ name: [body, ...] }` labelled blocks as (label, body) pairs. */
const labelled = (file: string, v: Node | undefined): ReadonlyArray<readonly [string, Obj]> => {
  const r = read(file, v)
  if (!isObj(r)) return []
  return Object.entries(r).flatMap(([label, body]) => items(file, body).map((b) => [label, b] as const))
}

const num = (file: string, v: Node | undefined): number | undefined => {
  const r = read(file, v)
  return typeof r === "number" && Number.isFinite(r) ? r : typeof r === "string" && r.trim() !== "" && Number.isFinite(Number(r)) ? Number(r) : undefined
}
const str = (file: string, v: Node | undefined): string | undefined => {
  const r = read(file, v)
  return typeof r === "string" ? r : typeof r === "number" || typeof r === "boolean" ? String(r) : undefined
}
const strings = (file: string, v: Node | undefined): ReadonlyArray<string> => {
  const r = read(file, v)
  return Array.isArray(r) ? r.flatMap((x) => (typeof x === "string" ? [x] : [])) : []
}
const stringMap = (file: string, o: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => {
    const r = read(file, v)
    return [k, typeof r === "string" ? r : JSON.stringify(r)]
  }))

/**
 * jobspec2's rewrite of a config body: nested blocks stay lists of objects; an object literal
 * assigned to an attribute becomes a one-element list. Applied recursively.
 */
export const nomadShapeConfig = (body: { readonly [k: string]: unknown }): Record<string, unknown> => {
  const element = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(element) : isObj(v) ? nomadShapeConfig(v) : v
  const attr = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(element) : isObj(v) ? [nomadShapeConfig(v)] : v
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, attr(v)]))
}

const ports = (file: string, block: Obj): Array<PortRequest> =>
  labelled(file, block["port"]).map(([label, p]) => {
    const s = num(file, p["static"])
    const to = num(file, p["to"])
    return { label, ...(s !== undefined ? { static: s } : {}), ...(to !== undefined ? { to } : {}) }
  })

/** The config evaluation failures, reported at their positions. */
const configFailures = (file: string, config: Node, prefix: string): Array<Diagnostic> =>
  failures(config).map(({ path, failure }) => ({ file, pos: failure.error.pos, field: path.replace(/^\[0\]\.?/, "") || prefix, reason: failure.error.detail }))

/**
 * Locates a field below `base` in the positions: the field itself, else its closest parent. `extra`
 * maps field prefixes that live elsewhere in the file (e.g. the group's `dns`) to their paths.
 */
export const locator = (positions: ReadonlyMap<string, Pos>, base: string, extra: Readonly<Record<string, string>> = {}) => (field: string): Pos | undefined => {
  const root = Object.entries(extra).find(([k]) => field === k || field.startsWith(`${k}.`) || field.startsWith(`${k}[`))
  let path = root ? `${root[1]}${field.slice(root[0].length)}` : join(base, field)
  for (;;) {
    const p = positions.get(path)
    if (p) return p
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["))
    if (cut <= 0) return positions.get(base)
    path = path.slice(0, cut)
  }
}

const join = (a: string, b: string) => (a === "" ? b : `${a}.${b}`)
const nth = (path: string, i: number) => (i === 0 ? path : `${path}[${i}]`)

/** Tasks of an HCL-shaped job; `shape` reshapes the config (HCL) or keeps it (HCL-JSON). */
export const hclJobTasks = (
  file: string,
  top: Obj,
  positions: ReadonlyMap<string, Pos>,
  shape: (b: Obj) => Record<string, unknown>
): ReadonlyArray<TaskSource> => {
  const seen = new Map<string, number>()
  const index = (path: string) => {
    const n = seen.get(path) ?? 0
    seen.set(path, n + 1)
    return nth(path, n)
  }
  return labelled(file, top["job"]).flatMap(([jobName, job]) => {
    const jobPath = index(`job.${jobName}`)
    return labelled(file, job["group"]).flatMap(([groupName, group]) => {
      const groupPath = index(`${jobPath}.group.${groupName}`)
      const net = items(file, group["network"])[0] ?? {}
      const dnsBlock = items(file, net["dns"])[0]
      const hostname = str(file, net["hostname"])
      const network: GroupNetwork = {
        mode: str(file, net["mode"]) ?? "host",
        ...(hostname !== undefined ? { hostname } : {}),
        ports: items(file, group["network"]).flatMap((n) => ports(file, n)),
        ...(dnsBlock !== undefined
          ? { dns: { servers: strings(file, dnsBlock["servers"]), searches: strings(file, dnsBlock["searches"]), options: strings(file, dnsBlock["options"]) } }
          : {})
      }
      return labelled(file, group["task"]).map(([taskName, task]): TaskSource => {
        const taskPath = index(`${groupPath}.task.${taskName}`)
        const resources = merged(file, task["resources"])
        const taskNetworks = items(file, resources["network"]).map((n): TaskNetwork => {
          const all = ports(file, n)
          return { mbits: num(file, n["mbits"]) ?? 0, reserved: all.filter((p) => p.static !== undefined), dynamic: all.filter((p) => p.static === undefined) }
        })
        const driver = str(file, task["driver"])
        const user = str(file, task["user"])
        const killSignal = str(file, task["kill_signal"])
        const killTimeout = str(file, task["kill_timeout"])
        const cpu = num(file, resources["cpu"])
        const memory = num(file, resources["memory"])
        const memoryMax = num(file, resources["memory_max"])
        const configNode = task["config"] ?? []
        return {
          file,
          taskName,
          jobName,
          groupName,
          ...(driver !== undefined ? { driver } : {}),
          rawConfig: shape(Object.assign({}, ...(Array.isArray(configNode) ? configNode : [configNode]).filter(isObj)) as Obj),
          env: stringMap(file, merged(file, task["env"])),
          ...(cpu !== undefined ? { cpu } : {}),
          ...(memory !== undefined ? { memory } : {}),
          ...(memoryMax !== undefined ? { memoryMax } : {}),
          ...(user !== undefined ? { user } : {}),
          ...(killSignal !== undefined ? { killSignal } : {}),
          ...(killTimeout !== undefined ? { killTimeout } : {}),
          network,
          taskNetworks,
          locate: locator(positions, `${taskPath}.config`, { dns: `${groupPath}.network.dns`, task: taskPath }),
          configFailures: configFailures(file, configNode, "config")
        }
      })
    })
  })
}

/** A task with only a config (a bare `config {}` block or bare attributes): the task is `main`. */
export const configOnlyTask = (file: string, config: Obj, positions: ReadonlyMap<string, Pos>, base: string, shape: (b: Obj) => Record<string, unknown>): TaskSource => ({
  file,
  taskName: "main",
  rawConfig: shape(config),
  env: {},
  network: { mode: "host", ports: [] },
  taskNetworks: [],
  locate: locator(positions, base),
  configFailures: configFailures(file, config, "config")
})

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
type JsonObj = { readonly [k: string]: Json }
const isJsonObj = (v: unknown): v is JsonObj => typeof v === "object" && v !== null && !Array.isArray(v)
const objs = (v: Json | undefined): ReadonlyArray<JsonObj> => (Array.isArray(v) ? v.filter(isJsonObj) : [])
const jnum = (v: Json | undefined): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
const jstr = (v: Json | undefined): string | undefined => (typeof v === "string" ? v : undefined)

const apiPorts = (net: JsonObj): Array<PortRequest> => [
  ...objs(net["ReservedPorts"]).map((p) => ({
    label: jstr(p["Label"]) ?? "",
    ...(jnum(p["Value"]) ? { static: jnum(p["Value"])! } : {}),
    ...(jnum(p["To"]) ? { to: jnum(p["To"])! } : {})
  })),
  ...objs(net["DynamicPorts"]).map((p) => ({ label: jstr(p["Label"]) ?? "", ...(jnum(p["To"]) ? { to: jnum(p["To"])! } : {}) }))
]

/** Tasks of an API-style JSON job (`nomad job run -output`: `{"Job": {...}}` or the job itself). */
export const apiJobTasks = (file: string, job: JsonObj): ReadonlyArray<TaskSource> => {
  const jobName = jstr(job["Name"]) ?? jstr(job["ID"])
  return objs(job["TaskGroups"]).flatMap((group) => {
    const groupName = jstr(group["Name"])
    const nets = objs(group["Networks"])
    const dns = isJsonObj(nets[0]?.["DNS"]) ? nets[0]["DNS"] as JsonObj : undefined
    const network: GroupNetwork = {
      mode: jstr(nets[0]?.["Mode"]) || "host",
      ...(jstr(nets[0]?.["Hostname"]) ? { hostname: jstr(nets[0]?.["Hostname"])! } : {}),
      ports: nets.flatMap(apiPorts),
      ...(dns
        ? { dns: { servers: (dns["Servers"] as ReadonlyArray<string>) ?? [], searches: (dns["Searches"] as ReadonlyArray<string>) ?? [], options: (dns["Options"] as ReadonlyArray<string>) ?? [] } }
        : {})
    }
    return objs(group["Tasks"]).map((task): TaskSource => {
      const resources = isJsonObj(task["Resources"]) ? task["Resources"] : {}
      const taskNetworks = objs(resources["Networks"]).map((n): TaskNetwork => ({
        mbits: jnum(n["MBits"]) ?? 0,
        reserved: apiPorts({ ReservedPorts: n["ReservedPorts"] ?? [] }),
        dynamic: apiPorts({ DynamicPorts: n["DynamicPorts"] ?? [] })
      }))
      const opt = <K extends string, V>(k: K, v: V | undefined) => (v !== undefined ? { [k]: v } as Record<K, V> : {})
      return {
        file,
        taskName: jstr(task["Name"]) ?? "main",
        ...opt("jobName", jobName),
        ...opt("groupName", groupName),
        ...opt("driver", jstr(task["Driver"])),
        rawConfig: isJsonObj(task["Config"]) ? task["Config"] : {},
        env: isJsonObj(task["Env"]) ? Object.fromEntries(Object.entries(task["Env"]).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) : {},
        ...opt("cpu", jnum(resources["CPU"])),
        ...opt("memory", jnum(resources["MemoryMB"])),
        ...opt("memoryMax", jnum(resources["MemoryMaxMB"])),
        ...opt("user", jstr(task["User"]) || undefined),
        ...opt("killSignal", jstr(task["KillSignal"]) || undefined),
        ...opt("killTimeout", jnum(task["KillTimeout"])),
        network,
        taskNetworks,
        locate: () => undefined
      }
    })
  })
}

/** Picks the one podman task (or the one named `wanted`) among a job's tasks. */
export const pickTask = (file: string, tasks: ReadonlyArray<TaskSource>, wanted: string | undefined): TaskSource => {
  const fail = (reason: string): never => {
    throw new Diagnostics({ diagnostics: [{ file, reason }] })
  }
  if (wanted !== undefined) {
    const found = tasks.filter((t) => t.taskName === wanted)
    if (found.length === 1) return found[0]!
    return fail(found.length === 0
      ? `no task named "${wanted}" (tasks: ${tasks.map((t) => t.taskName).join(", ") || "none"})`
      : `${found.length} tasks are named "${wanted}"`)
  }
  const podman = tasks.filter((t) => t.driver === "podman")
  if (podman.length === 1) return podman[0]!
  return fail(podman.length === 0
    ? `no task with driver = "podman" (tasks: ${tasks.map((t) => `${t.taskName} (${t.driver ?? "no driver"})`).join(", ") || "none"})`
    : `${podman.length} podman tasks (${podman.map((t) => t.taskName).join(", ")}); choose one with --task NAME`)
}

export { isJsonObj, join as joinPath, type JsonObj }
