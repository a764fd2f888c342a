/**
 * What the Nomad client does to a task's config before the driver sees it: every string is an HCL
 * template, evaluated with the task's environment (`${NOMAD_ALLOC_ID}`, `${MY_VAR}`,
 * `${env["MY_VAR"]}`), the node's attributes (`${attr.kernel.name}`), its identity
 * (`${node.unique.name}`, `${node.datacenter}`) and metadata (`${meta.x}`), and the client's
 * function subset. `$${…}` is a literal `${…}`. A reference to anything else fails the task, as in
 * Nomad; the CLI reports it on the field.
 *
 * The node values are this host's, as far as the CLI can know them without Nomad's fingerprint.
 */
import * as os from "node:os"
import type { ConfigIssue } from "../domain/errors.ts"
import { HclError } from "./hcl/ast.ts"
import { evaluate, type Scope } from "./hcl/eval.ts"
import { clientFunctions } from "./hcl/functions.ts"
import { parseTemplate } from "./hcl/parse.ts"
import type { Value } from "./hcl/values.ts"

/** The node id the CLI reports (Nomad's is a random UUID kept in its data dir). */
export const CLI_NODE_ID = "00000000-0000-4000-8000-00000000cafe"

/** Go's name of this CPU architecture, as Nomad's `attr.cpu.arch`. */
const goArch = (): string => ({ x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[process.arch] ?? process.arch

/** `attr.*`, `node.*` and `meta.*` of this host, as the CLI can know them. */
export const nodeValues = (): { readonly attr: Value; readonly node: Value; readonly meta: Value } => ({
  attr: {
    kernel: { name: os.platform(), version: os.release(), arch: os.machine() },
    cpu: { arch: goArch(), numcores: String(os.cpus().length) },
    os: { name: os.platform() },
    unique: { hostname: os.hostname() },
    driver: { podman: "true" }
  },
  node: { unique: { id: CLI_NODE_ID, name: os.hostname() }, datacenter: "dc1", region: "global", class: "", pool: "default" },
  meta: {}
})

/** The scope of the client's interpolation for a task environment. */
export const taskScope = (env: Readonly<Record<string, string>>): Scope => ({
  variables: { ...env, env, ...nodeValues() },
  functions: clientFunctions,
  describe: "Nomad's client knows the task's environment, env[\"NAME\"], attr.*, node.* and meta.* " +
    "(a literal ${ is written $$${ in an HCL job)"
})

/** A field path the way config issues name them: `args[1]`, `logging.driver`, `socket[1].name`. */
const fieldPath = (parent: string, key: string | number, siblings: number, isBlock: boolean): string =>
  typeof key === "number"
    ? isBlock && siblings === 1 ? parent : `${parent}[${key}]`
    : parent === "" ? key : `${parent}.${key}`

/** Interpolates every string of a Nomad-shaped config; each failure is an issue on its field. */
export const interpolateConfig = (
  raw: Readonly<Record<string, unknown>>,
  scope: Scope
): { readonly config: Record<string, unknown>; readonly issues: ReadonlyArray<ConfigIssue> } => {
  const issues: Array<ConfigIssue> = []
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === "string") {
      if (!v.includes("${") && !v.includes("%{")) return v
      try {
        return evaluate(parseTemplate(v), scope)
      } catch (e) {
        if (!(e instanceof HclError)) throw e
        issues.push({ field: path, reason: e.detail })
        return v
      }
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, fieldPath(path, i, v.length, typeof x === "object" && x !== null && !Array.isArray(x))))
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x, fieldPath(path, k, 0, false))]))
    }
    return v
  }
  return { config: walk(raw, "") as Record<string, unknown>, issues }
}

/**
 * The env block as the client builds it: `${NOMAD_*}` and the other variables interpolated, and
 * what it cannot resolve left as written (Nomad's task environment builder is lenient here).
 */
export const interpolateEnv = (value: string, env: Readonly<Record<string, string>>): string =>
  value.replace(/\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}/g, (whole, name: string) => {
    const key = name.startsWith("env.") ? name.slice(4) : name
    return Object.hasOwn(env, key) ? env[key]! : whole
  })
