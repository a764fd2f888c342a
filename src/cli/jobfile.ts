/**
 * Reading a task out of what a user hands the CLI: a Nomad job file (HCL or JSON), a bare
 * `config { ... }` block, or just the config attributes.
 *
 * The task's config comes out in the shape Nomad itself would send the plugin (docs/config.md):
 * for HCL, every block is a list of objects and every object literal assigned to an attribute is
 * wrapped in a one-element list (jobspec2's "blocks as attributes" rewrite); JSON is passed as
 * written. HCL is parsed by @cdktf/hcl2json (HashiCorp's own HCL parser compiled to wasm), loaded
 * lazily because instantiating it takes a few hundred milliseconds.
 */
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"

/** A group port (`network { port "db" { static = 8080, to = 80 } }`). */
export interface PortRequest {
  readonly label: string
  /** Static host port; undefined = dynamic. */
  readonly static?: number
  /** Container port; undefined = same as the host port. */
  readonly to?: number
}

/** The task as read from the file: its config and what Nomad would add around it. */
export interface TaskSource {
  readonly taskName: string
  readonly jobName?: string
  readonly groupName?: string
  /** The task's `driver`, when the file is a job file. */
  readonly driver?: string
  /** The `config {}` block, Nomad-shaped (not yet decoded). */
  readonly rawConfig: Readonly<Record<string, unknown>>
  /** The task's `env {}` block. */
  readonly env: Readonly<Record<string, string>>
  /** `resources.cpu` (MHz) when written. */
  readonly cpu?: number
  /** `resources.memory` (MiB) when written. */
  readonly memory?: number
  /** `resources.memory_max` (MiB) when written. */
  readonly memoryMax?: number
  /** Task `user`. */
  readonly user?: string
  /** The group's network ports. */
  readonly ports: ReadonlyArray<PortRequest>
}

/** The file could not be read, parsed, or holds no (single) podman task. */
export class TaskFileError extends Data.TaggedError("TaskFileError")<{ readonly file: string; readonly detail: string }> {
  override get message() {
    return `${this.file}: ${this.detail}`
  }
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
type JsonObject = { readonly [k: string]: Json }

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

/** The elements of an HCL block as hcl2json or HCL-JSON writes it: an object, or a list of objects. */
const blockItems = (v: unknown): ReadonlyArray<JsonObject> =>
  Array.isArray(v) ? v.filter(isObject) : isObject(v) ? [v] : []

/** Merges a block's items (a repeated `env {}` block merges, as in Nomad). */
const mergeBlock = (v: unknown): JsonObject => Object.assign({}, ...blockItems(v)) as JsonObject

/** `{ name: [body, ...] }` labelled blocks (job/group/task/port) as (label, body) pairs. */
const labelled = (v: unknown): ReadonlyArray<readonly [string, JsonObject]> => {
  if (!isObject(v)) return []
  return Object.entries(v).flatMap(([label, items]) => blockItems(items).map((body) => [label, body] as const))
}

/**
 * jobspec2's rewrite of a config body: nested blocks stay lists of objects; an object literal
 * assigned to an attribute becomes a one-element list. Applied recursively.
 */
export const nomadShapeConfig = (body: JsonObject): Record<string, unknown> => {
  const attr = (v: Json): unknown =>
    Array.isArray(v) ? v.map(element) : isObject(v) ? [nomadShapeConfig(v)] : unescapeTemplate(v)
  const element = (v: Json): unknown =>
    Array.isArray(v) ? v.map(element) : isObject(v) ? nomadShapeConfig(v) : unescapeTemplate(v)
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, attr(v)]))
}

/**
 * hcl2json returns template strings as written; HCL itself turns the escapes `$${` and `%%{` into
 * literal `${` and `%{` (which Nomad's client then interpolates with the task environment).
 */
const unescapeTemplate = <A>(v: A): A =>
  (typeof v === "string" ? v.replaceAll("$${", "${").replaceAll("%%{", "%{") : v) as A

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

const mapValues = (o: Record<string, string>, f: (s: string) => string): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))

const stringMap = (o: JsonObject): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]))

/** Picks the one podman task (or the one named `wanted`) among a job's tasks. */
const pickTask = <T extends { readonly taskName: string; readonly driver?: string }>(
  file: string,
  tasks: ReadonlyArray<T>,
  wanted: string | undefined
): Effect.Effect<T, TaskFileError> => {
  if (wanted !== undefined) {
    const found = tasks.filter((t) => t.taskName === wanted)
    if (found.length === 1) return Effect.succeed(found[0]!)
    return Effect.fail(new TaskFileError({
      file,
      detail: found.length === 0
        ? `no task named "${wanted}" (tasks: ${tasks.map((t) => t.taskName).join(", ") || "none"})`
        : `${found.length} tasks are named "${wanted}"`
    }))
  }
  const podman = tasks.filter((t) => t.driver === "podman")
  if (podman.length === 1) return Effect.succeed(podman[0]!)
  return Effect.fail(new TaskFileError({
    file,
    detail: podman.length === 0
      ? `no task with driver = "podman" (tasks: ${tasks.map((t) => `${t.taskName} (${t.driver ?? "no driver"})`).join(", ") || "none"})`
      : `${podman.length} podman tasks (${podman.map((t) => t.taskName).join(", ")}); choose one with --task NAME`
  }))
}

/** Tasks of an HCL job (hcl2json output) or an HCL-JSON job (`{"job": {"name": {...}}}`). */
const hclJobTasks = (
  top: JsonObject,
  format: "hcl" | "json",
  shape: (b: JsonObject) => Record<string, unknown>
): ReadonlyArray<TaskSource> =>
  labelled(top["job"]).flatMap(([jobName, job]) =>
    labelled(job["group"]).flatMap(([groupName, group]) => {
      const ports: Array<PortRequest> = blockItems(group["network"]).flatMap((net) =>
        labelled(net["port"]).map(([label, p]) => ({
          label,
          ...(num(p["static"]) !== undefined ? { static: num(p["static"])! } : {}),
          ...(num(p["to"]) !== undefined ? { to: num(p["to"])! } : {})
        }))
      )
      return labelled(group["task"]).map(([taskName, task]): TaskSource => {
        const resources = mergeBlock(task["resources"])
        const driver = str(task["driver"])
        const user = str(task["user"])
        const cpu = num(resources["cpu"])
        const memory = num(resources["memory"])
        const memoryMax = num(resources["memory_max"])
        return {
          taskName,
          jobName,
          groupName,
          ...(driver !== undefined ? { driver } : {}),
          rawConfig: shape(mergeBlock(task["config"])),
          env: format === "hcl" ? mapValues(stringMap(mergeBlock(task["env"])), unescapeTemplate) : stringMap(mergeBlock(task["env"])),
          ...(cpu !== undefined ? { cpu } : {}),
          ...(memory !== undefined ? { memory } : {}),
          ...(memoryMax !== undefined ? { memoryMax } : {}),
          ...(user !== undefined ? { user } : {}),
          ports
        }
      })
    })
  )

/** Tasks of an API-style JSON job (`nomad job run -json`, `{"Job": {...}}` or the job itself). */
const apiJobTasks = (job: JsonObject): ReadonlyArray<TaskSource> => {
  const jobName = str(job["Name"]) ?? str(job["ID"])
  const groups = Array.isArray(job["TaskGroups"]) ? job["TaskGroups"].filter(isObject) : []
  return groups.flatMap((group) => {
    const groupName = str(group["Name"])
    const networks = Array.isArray(group["Networks"]) ? group["Networks"].filter(isObject) : []
    const ports: Array<PortRequest> = networks.flatMap((net) => [
      ...(Array.isArray(net["ReservedPorts"]) ? net["ReservedPorts"].filter(isObject) : []).map((p) => ({
        label: str(p["Label"]) ?? "",
        ...(num(p["Value"]) ? { static: num(p["Value"])! } : {}),
        ...(num(p["To"]) ? { to: num(p["To"])! } : {})
      })),
      ...(Array.isArray(net["DynamicPorts"]) ? net["DynamicPorts"].filter(isObject) : []).map((p) => ({
        label: str(p["Label"]) ?? "",
        ...(num(p["To"]) ? { to: num(p["To"])! } : {})
      }))
    ])
    const tasks = Array.isArray(group["Tasks"]) ? group["Tasks"].filter(isObject) : []
    return tasks.map((task): TaskSource => {
      const resources = isObject(task["Resources"]) ? task["Resources"] : {}
      const driver = str(task["Driver"])
      const user = str(task["User"])
      const cpu = num(resources["CPU"])
      const memory = num(resources["MemoryMB"])
      const memoryMax = num(resources["MemoryMaxMB"])
      return {
        taskName: str(task["Name"]) ?? "main",
        ...(jobName !== undefined ? { jobName } : {}),
        ...(groupName !== undefined ? { groupName } : {}),
        ...(driver !== undefined ? { driver } : {}),
        rawConfig: isObject(task["Config"]) ? task["Config"] : {},
        env: isObject(task["Env"]) ? stringMap(task["Env"]) : {},
        ...(cpu !== undefined ? { cpu } : {}),
        ...(memory !== undefined ? { memory } : {}),
        ...(memoryMax !== undefined ? { memoryMax } : {}),
        ...(user !== undefined ? { user } : {}),
        ports
      }
    })
  })
}

/** A config-only source: the task is called `main`. */
const configOnly = (rawConfig: Record<string, unknown>): TaskSource => ({ taskName: "main", rawConfig, env: {}, ports: [] })

/**
 * Finds the task in a parsed file. `format` says whether `parsed` came from the HCL parser (then the
 * config is reshaped as Nomad's HCL2 job parser does) or from JSON (passed as written).
 */
export const extractTask = (
  file: string,
  parsed: unknown,
  format: "hcl" | "json",
  wanted?: string
): Effect.Effect<TaskSource, TaskFileError> => {
  if (!isObject(parsed)) return Effect.fail(new TaskFileError({ file, detail: "expected an object (a job, a config block or config attributes)" }))
  const keys = Object.keys(parsed)
  const shape = format === "hcl" ? nomadShapeConfig : (b: JsonObject) => ({ ...b })
  if (format === "json" && (isObject(parsed["Job"]) || Array.isArray(parsed["TaskGroups"]))) {
    const job = isObject(parsed["Job"]) ? parsed["Job"] : parsed
    return pickTask(file, apiJobTasks(job), wanted)
  }
  if ("job" in parsed) {
    const jobs = labelled(parsed["job"])
    if (jobs.length !== 1) return Effect.fail(new TaskFileError({ file, detail: `expected one job, found ${jobs.length}` }))
    return pickTask(file, hclJobTasks(parsed, format, shape), wanted)
  }
  if (keys.length === 1 && keys[0] === "config") {
    const blocks = blockItems(parsed["config"])
    if (blocks.length !== 1) return Effect.fail(new TaskFileError({ file, detail: `expected one config block, found ${blocks.length}` }))
    return Effect.succeed(configOnly(shape(blocks[0]!)))
  }
  return Effect.succeed(configOnly(shape(parsed)))
}

/** Parses HCL text with hcl2json (lazily loaded). */
export const parseHcl = (file: string, text: string): Effect.Effect<unknown, TaskFileError> =>
  Effect.tryPromise({
    try: async () => {
      const mod: { parse: (name: string, contents: string) => Promise<unknown> } = await import("@cdktf/hcl2json")
      return await mod.parse(file, text)
    },
    catch: (e) => new TaskFileError({ file, detail: `HCL: ${e instanceof Error ? e.message : String(e)}` })
  })

/** Whether the text is JSON (by extension, or because it starts with `{`). */
const looksLikeJson = (file: string, text: string): boolean => file.endsWith(".json") || text.trimStart().startsWith("{")

/** Reads and parses `file` (HCL or JSON) and finds the task in it. */
export const loadTask = (file: string, wanted?: string): Effect.Effect<TaskSource, TaskFileError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (e) => new TaskFileError({ file, detail: `cannot read: ${e instanceof Error ? e.message : String(e)}` })
    })
    if (looksLikeJson(file, text)) {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => new TaskFileError({ file, detail: `JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
      return yield* extractTask(file, parsed, "json", wanted)
    }
    const parsed = yield* parseHcl(file, text)
    return yield* extractTask(file, parsed, "hcl", wanted)
  })

/**
 * Nomad interpolates `${VAR}` in task config strings with the task's environment before the plugin
 * sees them. The CLI does the same for the variables it knows; anything else (`${attr.x}`,
 * `${meta.y}`) is left as written, as Nomad leaves unknown references.
 */
export const interpolate = (value: unknown, env: Readonly<Record<string, string>>): unknown => {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}/g, (whole, name: string) => {
      const key = name.startsWith("env.") ? name.slice(4) : name
      return Object.hasOwn(env, key) ? env[key]! : whole
    })
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env))
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]))
  return value
}
