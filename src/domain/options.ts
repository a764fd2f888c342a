/**
 * One source of truth for the driver's configuration: every task and plugin option is declared
 * ONCE below (HCL name, HCL type, default, documentation, validating Schema). From these
 * declarations derive:
 *
 * - the hclspec Nomad receives from `ConfigSchema` / `TaskConfigSchema` (`pluginConfigSpec`,
 *   `taskConfigSpec`), shaped like the Go driver's so the same job files work (maps are declared
 *   `list(map(T))` so that both `labels { a = "b" }` and `labels = { a = "b" }` parse);
 * - the decoders `decodeTaskConfig` / `decodePluginConfig`, which accept what Nomad actually sends
 *   (absent attributes as `null`, HCL2 object attributes wrapped in one-element lists, maps given as
 *   lists of maps, bare JSON objects from API-submitted jobs, numbers as strings), apply the
 *   defaults, reject unknown keys and report EVERY problem at once, each naming the field path;
 * - the TypeScript types `TaskConfig` / `PluginConfig`;
 * - the README option tables (`renderTaskOptionsTable`, `renderPluginOptionsTable`).
 *
 * Values a decoder cannot check without the task (alloc dir, ports, networks) are checked by the
 * translation (src/translate), which reports them with the same `ConfigIssue` shape.
 */
import { Cause, Effect, Exit, Schema } from "effect"
import { type ConfigIssue, InvalidPluginConfig, InvalidTaskConfig } from "./errors.ts"
import type { HclSpec } from "./hclspec.ts"
import {
  isIPAddress,
  isIPv4,
  isIPv6,
  isMacAddress,
  parseGoDuration,
  parseMemory,
  parseUlimit,
  rlimitName,
  signalNumber
} from "../translate/values.ts"

// =============================================================================================
// Declaration machinery
// =============================================================================================

/** How an option appears in HCL (drives the hclspec and the decoder's normalisation). */
export type HclShape =
  | { readonly _tag: "Attr"; readonly type: "string" | "bool" | "number" | "list(string)" | "any" }
  | { readonly _tag: "MapAttr"; readonly element: "string" | "number" }
  | { readonly _tag: "Block"; readonly fields: Fields; readonly defaultWhenAbsent: boolean }
  | { readonly _tag: "BlockList"; readonly fields: Fields }
  | { readonly _tag: "BlockAttrs"; readonly element: "string" }

/** One declared option whose decoded value has type `A`. */
export interface Opt<A> {
  /** Phantom: the decoded type (invariant). */
  readonly _A: (a: A) => A
  readonly shape: HclShape
  readonly doc: string
  readonly required: boolean
  /** The default applied when absent (`undefined` = stays absent). */
  readonly defaultValue: A | undefined
  /** How the default is shown in docs, when not derivable from `defaultValue`. */
  readonly defaultDoc: string | undefined
  /** An option the Go driver does not have. */
  readonly extension: boolean
  /** Normalise and validate a raw value (never `undefined`/`null`: those are handled by the caller). */
  readonly decode: (raw: unknown, path: string, issues: Array<ConfigIssue>) => A
}

/** A set of declared options (an HCL object body). */
export type Fields = Readonly<Record<string, Opt<any>>>

type OptType<O> = O extends Opt<infer A> ? A : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The decoded value of an options body: options that may be absent become optional properties. */
export type Decoded<F extends Fields> = Simplify<
  & { readonly [K in keyof F as undefined extends OptType<F[K]> ? K : never]?: Exclude<OptType<F[K]>, undefined> }
  & { readonly [K in keyof F as undefined extends OptType<F[K]> ? never : K]: OptType<F[K]> }
>

interface Common<A> {
  /** Further validation of the normalised value; its failure message becomes the issue reason. */
  readonly schema?: Schema.Decoder<A>
  readonly extension?: boolean
  readonly defaultDoc?: string
}

const identity = <A>(a: A): A => a

const schemaReason = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n").filter((l) => !/^\s+at \[/.test(l)).map((l) => l.trim()).join("; ")
}

/** Runs `schema` on an already normalised value; pushes an issue on failure. */
const check = <A>(schema: Schema.Decoder<A> | undefined, value: A, path: string, issues: Array<ConfigIssue>): A => {
  if (schema === undefined) return value
  const exit = Schema.decodeUnknownExit(schema)(value, { errors: "all" })
  if (Exit.isSuccess(exit)) return exit.value
  const reason = schemaReason(Cause.squash(exit.cause))
  // Schema's own messages ("Expected a value between 0 and 100") do not show the value; add it
  issues.push({
    field: path,
    reason: /^Expected /.test(reason) ? `${reason.replace(/^E/, "e")}, got ${describe(value)}` : reason
  })
  return value
}

const describe = (raw: unknown): string => {
  if (raw === null) return "null"
  if (Array.isArray(raw)) return `a list of ${raw.length}`
  if (typeof raw === "object" && (raw as { _tag?: unknown })._tag === "CtyUnknown") return "a value that is not known yet"
  if (typeof raw === "object") return "an object"
  if (typeof raw === "string") return JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + "…" : raw)
  return `${typeof raw} ${String(raw)}`
}

/** HCL wraps an object literal in a one-element list; be lenient and unwrap scalars the same way. */
const unwrapScalar = (raw: unknown): unknown =>
  Array.isArray(raw) && raw.length === 1 && (raw[0] === null || typeof raw[0] !== "object") ? raw[0] : raw

const toStringValue = (raw: unknown): string | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "string") return v
  if (typeof v === "number" && Number.isFinite(v)) return String(v)
  if (typeof v === "bigint" || typeof v === "boolean") return String(v)
  return undefined
}

const toNumberValue = (raw: unknown): number | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined
  if (typeof v === "bigint") return Number(v)
  if (typeof v === "string" && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v)
  return undefined
}

const toBooleanValue = (raw: unknown): boolean | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "boolean") return v
  if (v === "true") return true
  if (v === "false") return false
  return undefined
}

/** A plain object from a `Map` or an object; `undefined` for anything else. */
const asRecord = (raw: unknown): Record<string, unknown> | undefined => {
  if (raw instanceof Map) return Object.fromEntries([...raw.entries()].map(([k, v]) => [String(k), v]))
  if (
    raw !== null && typeof raw === "object" && !Array.isArray(raw) && !(raw instanceof Uint8Array) &&
    (raw as { _tag?: unknown })._tag !== "CtyUnknown"
  ) {
    return raw as Record<string, unknown>
  }
  return undefined
}

const isAbsent = (raw: unknown): boolean => raw === null || raw === undefined

const make = <A>(fields: Omit<Opt<A>, "_A">): Opt<A> => ({ _A: identity, ...fields })

const scalar = <A>(
  type: "string" | "bool" | "number",
  convert: (raw: unknown) => A | undefined,
  expected: string,
  doc: string,
  o: Common<A> & { readonly default?: A; readonly required?: boolean }
): Opt<any> =>
  make<A>({
    shape: { _tag: "Attr", type },
    doc,
    required: o.required === true,
    defaultValue: o.default,
    defaultDoc: o.defaultDoc,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      const v = convert(raw)
      if (v === undefined) {
        issues.push({ field: path, reason: `expected ${expected}, got ${describe(raw)}` })
        return raw as A
      }
      return check(o.schema, v, path, issues)
    }
  })

/** A `string` attribute. */
export function string(doc: string, o: Common<string> & { readonly default: string }): Opt<string>
export function string(doc: string, o: Common<string> & { readonly required: true }): Opt<string>
export function string(doc: string, o?: Common<string>): Opt<string | undefined>
export function string(doc: string, o: Common<string> & { default?: string; required?: boolean } = {}): Opt<any> {
  return scalar("string", toStringValue, "a string", doc, o)
}

/** A `bool` attribute (`"true"`/`"false"` strings accepted). */
export function bool(doc: string, o: Common<boolean> & { readonly default: boolean }): Opt<boolean>
export function bool(doc: string, o?: Common<boolean>): Opt<boolean | undefined>
export function bool(doc: string, o: Common<boolean> & { default?: boolean } = {}): Opt<any> {
  return scalar("bool", toBooleanValue, "a bool", doc, o)
}

/** A `number` attribute (numeric strings accepted, as cty converts them). */
export function number(doc: string, o: Common<number> & { readonly default: number }): Opt<number>
export function number(doc: string, o?: Common<number>): Opt<number | undefined>
export function number(doc: string, o: Common<number> & { default?: number } = {}): Opt<any> {
  return scalar("number", toNumberValue, "a number", doc, o)
}

/** A `list(string)` attribute; absent = `[]`. `element` validates each entry. */
export const stringList = (
  doc: string,
  o: { readonly element?: Schema.Decoder<string>; readonly extension?: boolean } = {}
): Opt<ReadonlyArray<string>> =>
  make<ReadonlyArray<string>>({
    shape: { _tag: "Attr", type: "list(string)" },
    doc,
    required: false,
    defaultValue: [],
    defaultDoc: undefined,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      if (!Array.isArray(raw)) {
        issues.push({ field: path, reason: `expected a list of strings, got ${describe(raw)}` })
        return []
      }
      return raw.map((item, i) => {
        const v = toStringValue(item)
        if (v === undefined || Array.isArray(item)) {
          issues.push({ field: `${path}[${i}]`, reason: `expected a string, got ${describe(item)}` })
          return ""
        }
        return check(o.element, v, `${path}[${i}]`, issues)
      })
    }
  })

/**
 * A list-or-string attribute declared `any` (the Go driver's `entrypoint`): a string becomes a
 * one-element list, list entries are converted to strings.
 */
export const stringOrList = (doc: string): Opt<ReadonlyArray<string> | undefined> =>
  make<ReadonlyArray<string> | undefined>({
    shape: { _tag: "Attr", type: "any" },
    doc,
    required: false,
    defaultValue: undefined,
    defaultDoc: undefined,
    extension: false,
    decode: (raw, path, issues) => {
      if (typeof raw === "string") return [raw]
      if (Array.isArray(raw)) {
        return raw.map((item, i) => {
          const v = toStringValue(item)
          if (v === undefined || Array.isArray(item)) {
            issues.push({ field: `${path}[${i}]`, reason: `expected a string, got ${describe(item)}` })
            return ""
          }
          return v
        })
      }
      issues.push({ field: path, reason: `expected a string or a list of strings, got ${describe(raw)}` })
      return []
    }
  })

/** Merges a map given as an object, or a list of objects (HCL blocks / wrapped literals), later keys win. */
const mergeMaps = (raw: unknown, path: string, issues: Array<ConfigIssue>): Array<[string, unknown]> => {
  const direct = asRecord(raw)
  if (direct !== undefined) return Object.entries(direct)
  if (Array.isArray(raw)) {
    const out: Array<[string, unknown]> = []
    raw.forEach((item, i) => {
      if (isAbsent(item)) return
      const rec = asRecord(item)
      if (rec === undefined) issues.push({ field: `${path}[${i}]`, reason: `expected a map, got ${describe(item)}` })
      else out.push(...Object.entries(rec))
    })
    return out
  }
  issues.push({ field: path, reason: `expected a map, got ${describe(raw)}` })
  return []
}

const mapOf = <V>(
  shape: HclShape,
  convert: (raw: unknown) => V | undefined,
  expected: string,
  doc: string,
  o: { readonly key?: Schema.Decoder<string>; readonly value?: Schema.Decoder<V>; readonly extension?: boolean }
): Opt<Readonly<Record<string, V>>> =>
  make({
    shape,
    doc,
    required: false,
    defaultValue: {},
    defaultDoc: undefined,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      const out: Record<string, V> = {}
      for (const [k, item] of mergeMaps(raw, path, issues)) {
        const field = `${path}.${k}`
        check(o.key, k, field, issues)
        const v = convert(item)
        if (v === undefined) {
          issues.push({ field, reason: `expected ${expected}, got ${describe(item)}` })
          continue
        }
        out[k] = check(o.value, v, field, issues)
      }
      return out
    }
  })

/** A `map(string)` declared as `list(map(string))` so both block and attribute syntax work. */
export const stringMap = (
  doc: string,
  o: { readonly key?: Schema.Decoder<string>; readonly value?: Schema.Decoder<string>; readonly extension?: boolean } = {}
): Opt<Readonly<Record<string, string>>> =>
  mapOf({ _tag: "MapAttr", element: "string" }, toStringValue, "a string", doc, o)

/** A `map(number)` declared as `list(map(number))`. */
export const numberMap = (
  doc: string,
  o: { readonly key?: Schema.Decoder<string>; readonly value?: Schema.Decoder<number>; readonly extension?: boolean } = {}
): Opt<Readonly<Record<string, number>>> =>
  mapOf({ _tag: "MapAttr", element: "number" }, toNumberValue, "a number", doc, o)

/** A block whose attributes form a `map(string)` (`options { tag = "x" }`). */
export const blockAttrs = (doc: string): Opt<Readonly<Record<string, string>>> =>
  mapOf({ _tag: "BlockAttrs", element: "string" }, toStringValue, "a string", doc, {})

/** Decodes one options body; pushes an issue per unknown key. */
export const decodeFields = <F extends Fields>(
  fields: F,
  raw: unknown,
  prefix: string,
  issues: Array<ConfigIssue>
): Decoded<F> => {
  const out: Record<string, unknown> = {}
  let body: Record<string, unknown> = {}
  if (!isAbsent(raw)) {
    const rec = asRecord(raw)
      ?? (Array.isArray(raw) && raw.length <= 1 ? (raw.length === 0 ? {} : asRecord(raw[0])) : undefined)
    if (rec === undefined) {
      issues.push({ field: prefix === "" ? "(config)" : prefix.slice(0, -1), reason: `expected an object, got ${describe(raw)}` })
    } else {
      body = rec
    }
  }
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(fields, key)) {
      const hint = closest(key, Object.keys(fields))
      issues.push({ field: prefix + (key === "" ? '""' : key), reason: `unknown option${hint === undefined ? "" : ` (did you mean "${hint}"?)`}` })
    }
  }
  for (const [key, opt] of Object.entries(fields)) {
    const path = prefix + key
    const value = Object.hasOwn(body, key) ? body[key] : undefined
    const absent = isAbsent(value) || (Array.isArray(value) && value.length === 0 && opt.shape._tag === "Block")
    if (absent) {
      if (opt.required) issues.push({ field: path, reason: "is required" })
      else if (opt.shape._tag === "Block" && opt.shape.defaultWhenAbsent) out[key] = opt.decode({}, path, issues)
      else if (opt.defaultValue !== undefined) out[key] = opt.defaultValue
      continue
    }
    out[key] = opt.decode(value, path, issues)
  }
  return out as Decoded<F>
}

/** A nested block (`auth { … }`), given as an object or a one-element list of objects. */
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o: { readonly defaultWhenAbsent: true; readonly extension?: boolean; readonly validate?: (v: Decoded<F>) => ReadonlyArray<ConfigIssue> }
): Opt<Decoded<F>>
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o?: { readonly defaultWhenAbsent?: false; readonly extension?: boolean; readonly validate?: (v: Decoded<F>) => ReadonlyArray<ConfigIssue> }
): Opt<Decoded<F> | undefined>
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o: { readonly defaultWhenAbsent?: boolean; readonly extension?: boolean; readonly validate?: (v: Decoded<F>) => ReadonlyArray<ConfigIssue> } = {}
): Opt<any> {
  return make<Decoded<F>>({
    shape: { _tag: "Block", fields, defaultWhenAbsent: o.defaultWhenAbsent === true },
    doc,
    required: false,
    defaultValue: undefined,
    defaultDoc: undefined,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      if (Array.isArray(raw) && raw.length > 1) {
        issues.push({ field: path, reason: `at most one "${path.split(".").pop()}" block is allowed, got ${raw.length}` })
      }
      const body = Array.isArray(raw) ? raw[0] : raw
      const v = decodeFields(fields, body ?? {}, `${path}.`, issues)
      if (o.validate) issues.push(...o.validate(v).map((i) => ({ ...i, field: `${path}.${i.field}` })))
      return v
    }
  })
}

/** A repeatable block (`socket { … } socket { … }`); absent = `[]`. */
export const blockList = <F extends Fields>(fields: F, doc: string): Opt<ReadonlyArray<Decoded<F>>> =>
  make<ReadonlyArray<Decoded<F>>>({
    shape: { _tag: "BlockList", fields },
    doc,
    required: false,
    defaultValue: [],
    defaultDoc: undefined,
    extension: false,
    decode: (raw, path, issues) => {
      const items = Array.isArray(raw) ? raw : [raw]
      return items.map((item, i) => decodeFields(fields, item, `${path}[${i}].`, issues))
    }
  })

const closest = (key: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const c of candidates) {
    const d = levenshtein(key, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

const levenshtein = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

// ---------------------------------------------------------------------------------------------
// hclspec derivation
// ---------------------------------------------------------------------------------------------

/** HCL expression source for a default value (strings quoted, objects as `{ a = 1, b = "x" }`). */
const hclLiteral = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value).replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{")
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (Array.isArray(value)) return `[${value.map(hclLiteral).join(", ")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${k} = ${hclLiteral(v)}`).join(", ")} }`
  }
  return "null"
}

/** The values the defaults of a body produce (what Nomad should send for an absent block). */
const bodyDefaults = (fields: Fields): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, opt] of Object.entries(fields)) {
    if (opt.shape._tag === "Block" && opt.shape.defaultWhenAbsent) out[key] = bodyDefaults(opt.shape.fields)
    else if (opt.defaultValue !== undefined && opt.shape._tag === "Attr" && opt.shape.type !== "list(string)") {
      out[key] = opt.defaultValue
    } else if (opt.shape._tag === "BlockAttrs") out[key] = {}
  }
  return out
}

const optSpec = (name: string, opt: Opt<unknown>): HclSpec => {
  const shape = opt.shape
  switch (shape._tag) {
    case "Attr": {
      const attr: HclSpec = { _tag: "Attr", name, type: shape.type, required: opt.required }
      const scalarDefault = opt.defaultValue !== undefined && shape.type !== "list(string)" && shape.type !== "any"
      return scalarDefault ? { _tag: "Default", primary: attr, default: { _tag: "Literal", value: hclLiteral(opt.defaultValue) } } : attr
    }
    case "MapAttr":
      return { _tag: "Attr", name, type: `list(map(${shape.element}))`, required: false }
    case "BlockAttrs":
      return { _tag: "BlockAttrs", name, type: shape.element, required: false }
    case "BlockList":
      return { _tag: "BlockList", name, minItems: 0, maxItems: 0, nested: objectSpec(shape.fields) }
    case "Block": {
      const b: HclSpec = { _tag: "Block", name, required: false, nested: objectSpec(shape.fields) }
      const defaults = bodyDefaults(shape.fields)
      return shape.defaultWhenAbsent && Object.keys(defaults).length > 0
        ? { _tag: "Default", primary: b, default: { _tag: "Literal", value: hclLiteral(defaults) } }
        : b
    }
  }
}

/** The hclspec `Object` of an options body. */
export const objectSpec = (fields: Fields): HclSpec => ({
  _tag: "Object",
  attributes: Object.fromEntries(Object.entries(fields).map(([k, opt]) => [k, optSpec(k, opt)]))
})

// ---------------------------------------------------------------------------------------------
// Markdown tables
// ---------------------------------------------------------------------------------------------

const typeDoc = (opt: Opt<unknown>): string => {
  const s = opt.shape
  switch (s._tag) {
    case "Attr":
      return s.type === "any" ? "string or list(string)" : s.type
    case "MapAttr":
      return `map(${s.element})`
    case "BlockAttrs":
      return "block of string attributes"
    case "Block":
      return "block"
    case "BlockList":
      return "repeatable block"
  }
}

const defaultDoc = (opt: Opt<unknown>): string => {
  if (opt.defaultDoc !== undefined) return opt.defaultDoc
  if (opt.required) return "required"
  if (opt.shape._tag === "Block") return opt.shape.defaultWhenAbsent ? "see fields" : "unset"
  if (opt.defaultValue === undefined) return "unset"
  return "`" + JSON.stringify(opt.defaultValue) + "`"
}

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ")

const tableRows = (fields: Fields, prefix: string): Array<string> =>
  Object.entries(fields).flatMap(([key, opt]) => {
    const name = prefix + key
    const doc = (opt.extension ? "**Extension** (not in the Go driver). " : "") + opt.doc
    const row = `| \`${name}\` | ${cell(typeDoc(opt))} | ${cell(defaultDoc(opt))} | ${cell(doc)} |`
    const nested = opt.shape._tag === "Block" || opt.shape._tag === "BlockList"
      ? tableRows(opt.shape.fields, opt.shape._tag === "BlockList" ? `${name}[].` : `${name}.`)
      : []
    return [row, ...nested]
  })

/** A markdown table (name | type | default | description) of an options body, nested fields dotted. */
export const renderOptionsTable = (fields: Fields): string =>
  ["| Option | Type | Default | Description |", "|---|---|---|---|", ...tableRows(fields, "")].join("\n") + "\n"

// =============================================================================================
// Reusable checks
// =============================================================================================

const filter = (predicate: (s: string) => boolean, reason: (s: string) => string) =>
  Schema.String.check(Schema.makeFilter((s: string) => predicate(s) || reason(s)))

/** A Go duration string: `300ms`, `5m`, `1h30m`. */
export const Duration = filter(
  (s) => parseGoDuration(s) !== undefined,
  (s) => `invalid duration ${JSON.stringify(s)} (expected Go syntax such as 300ms, 30s, 5m, 1h30m)`
)
/** A memory size in bytes or with a b/k/m/g suffix; `-1` not allowed. */
export const MemorySize = filter(
  (s) => { const n = parseMemory(s); return n !== undefined && n >= 0 },
  (s) => `invalid memory size ${JSON.stringify(s)} (expected bytes, or a number with a b, k, m, g suffix such as 512m)`
)
/** A memory size, or `-1` for unlimited. */
export const MemorySizeOrUnlimited = filter(
  (s) => parseMemory(s) !== undefined,
  (s) => `invalid memory size ${JSON.stringify(s)} (expected bytes, a number with a b, k, m, g suffix such as 512m, or -1)`
)
/** A signal name or number (`SIGTERM`, `TERM`, `15`). */
export const SignalName = filter((s) => signalNumber(s) !== undefined, (s) => `unknown signal ${JSON.stringify(s)}`)
const NonEmpty = filter((s) => s.trim() !== "", () => "must not be empty")
const IPAddress = filter(isIPAddress, (s) => `invalid IP address ${JSON.stringify(s)}`)
const IPv4Address = filter(isIPv4, (s) => `invalid IPv4 address ${JSON.stringify(s)}`)
const IPv6Address = filter(isIPv6, (s) => `invalid IPv6 address ${JSON.stringify(s)}`)
const MacAddress = filter(isMacAddress, (s) => `invalid MAC address ${JSON.stringify(s)}`)
const LogDriver = filter(
  (s) => s === "nomad" || s === "journald",
  (s) => `unsupported logging driver ${JSON.stringify(s)} (expected "nomad" or "journald")`
)
const TaskLogDriver = filter(
  (s) => s === "" || s === "nomad" || s === "journald",
  (s) => `unsupported logging driver ${JSON.stringify(s)} (expected "nomad" or "journald")`
)
const UlimitName = filter(
  (s) => rlimitName(s) !== undefined,
  (s) => `unknown ulimit ${JSON.stringify(s)} (expected one of nofile, nproc, core, memlock, stack, …)`
)
const UlimitValue = filter(
  (s) => parseUlimit(s) !== undefined,
  (s) => `invalid ulimit ${JSON.stringify(s)} (expected "soft" or "soft:hard", integers, soft <= hard)`
)
const ExtraHost = filter(
  (s) => { const i = s.indexOf(":"); return i > 0 && isIPAddress(s.slice(i + 1)) },
  (s) => `invalid extra host ${JSON.stringify(s)} (expected host:ip)`
)
const intIn = (minimum: number, maximum: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))
const Port = intIn(1, 65535)

// =============================================================================================
// Task options: `task { driver = "podman" config { … } }`
// =============================================================================================

/** Every task `config {}` option, declared once. */
export const taskOptions = {
  image: string("Image to run: a registry reference (`docker://` optional; short names are resolved by Podman's registries.conf), `oci-archive:<path|url>` or `docker-archive:<path|url>`.", { required: true, schema: NonEmpty }),
  command: string("Command to run; replaces the image's CMD (first element)."),
  args: stringList("Arguments appended after `command` (or replacing the image's CMD when `command` is unset)."),
  entrypoint: stringOrList("Overrides the image's ENTRYPOINT. A list; a plain string is accepted for compatibility."),
  working_dir: string("Working directory inside the container."),
  hostname: string("Container hostname."),
  labels: stringMap("Container labels, merged with the driver's `com.hashicorp.nomad.*` labels (which win on conflict)."),
  auth: block(
    {
      username: string("Registry user name."),
      password: string("Registry password."),
      tls_verify: bool("Verify the registry's TLS certificate. Defaults to true also when no `auth` block is given.", { default: true })
    },
    "Static credentials for pulling `image`.",
    { defaultWhenAbsent: true }
  ),
  auth_soft_fail: bool("Ignore errors from the credential sources and try the pull anonymously.", { default: false }),
  force_pull: bool("Always pull the image, even if it is present locally.", { default: false }),
  image_pull_timeout: string("Deadline for pulling (or downloading and loading) the image, a Go duration.", { default: "5m", schema: Duration }),
  arch: string("Pull the image for this architecture (e.g. `arm64`)."),
  os: string("Pull the image for this OS."),
  variant: string("Pull the image for this architecture variant (e.g. `v8`)."),
  init: bool("Run an init process (catatonit) as PID 1 that forwards signals and reaps zombies.", { default: false }),
  init_path: string("Path of the init binary on the host."),
  tty: bool("Allocate a pseudo-TTY.", { default: false }),
  privileged: bool("Run the container privileged (no SELinux relabelling of mounts).", { default: false }),
  readonly_rootfs: bool("Mount the container's root filesystem read-only.", { default: false }),
  cap_add: stringList("Linux capabilities to add."),
  cap_drop: stringList("Linux capabilities to drop (`all` drops every one)."),
  selinux_opts: stringList("SELinux process label options (e.g. `type:spc_t`)."),
  apparmor_profile: string("AppArmor profile name, or `unconfined`."),
  security_opt: stringList("Security options: `no-new-privileges`, `label=<opt>`, `label=nested`, `apparmor=<profile>`, `seccomp=<path|unconfined>`, `proc-opts=<a,b>`, `mask=<p1:p2>`, `unmask=<p1:p2|ALL>`, `systempaths=unconfined`."),
  userns: string("User namespace: `host`, `auto[:size=N,uidmapping=c:h:n,gidmapping=c:h:n]`, `keep-id[:uid=U,gid=G]`, `nomap` or `ns:<path>`."),
  ipc_mode: string("IPC namespace: `host`, `private`, `shareable`, `none`, `container:<id>`, `ns:<path>` or `task:<task>` (a sibling task of the same allocation)."),
  shm_size: string("Size of /dev/shm (bytes, or with a b/k/m/g suffix). Needs a private or shareable IPC namespace.", { schema: MemorySize }),
  sysctl: stringMap("Namespaced kernel parameters."),
  ulimit: stringMap("Resource limits, `name = \"soft[:hard]\"` (hard defaults to soft). When one of `nofile`/`nproc` is set and the other is not, the other is set to `1024:1024` (Podman would otherwise apply its own, possibly too high, rootful default).", { key: UlimitName, value: UlimitValue }),
  pids_limit: number("Maximum number of processes in the container (only applied when > 0).", { schema: intIn(-1, Number.MAX_SAFE_INTEGER) }),
  memory_reservation: string("Memory soft limit (bytes, or with a b/k/m/g suffix). With `memory_max` it is the soft limit when lower than `memory`.", { schema: MemorySize }),
  memory_swap: string("Memory plus swap limit (bytes, with a b/k/m/g suffix, or `-1` for unlimited).", { schema: MemorySizeOrUnlimited }),
  memory_swappiness: number("Swappiness 0–100 (cgroup v1 only; ignored on cgroup v2). Unset unless set.", { schema: intIn(0, 100) }),
  oom_score_adj: number("OOM score adjustment, -1000–1000. Unset unless set.", { schema: intIn(-1000, 1000) }),
  cpu_hard_limit: bool("Enforce the task's `cpu` as a hard CFS quota.", { default: false }),
  cpu_cfs_period: number("CFS period in microseconds for `cpu_hard_limit` (default 100000; values below 1000 are raised to 1000; at most 1000000).", { schema: intIn(0, 1_000_000) }),
  devices: stringList("Host devices, `host[:container][:permissions]`."),
  volumes: stringList("Bind mounts, `source:destination[:options]`. A relative source is relative to the task directory. With plugin `volumes.enabled = false` only sources inside the allocation directory are allowed."),
  tmpfs: stringList("tmpfs mounts, `/path[:option,option]`."),
  network_mode: string("Network mode: `bridge`, `host`, `none`, `slirp4netns`, `pasta`, `container:<id>`, `ns:<path>`, `task:<task>` or the name of a Podman network. Ignored when Nomad gives the group a network namespace."),
  ports: stringList("Group `network { port … }` labels to publish (TCP and UDP)."),
  port_map: numberMap("Deprecated (task-level networks): label → container port. Also sets `NOMAD_PORT_<label>`. Cannot be combined with `ports`.", { value: Port }),
  ipv4_address: string("Static IPv4 address on the bridge or custom network.", { schema: IPv4Address }),
  ipv6_address: string("Static IPv6 address on the bridge or custom network.", { schema: IPv6Address }),
  static_ips: stringList("More static IP addresses on the bridge or custom network.", { element: IPAddress }),
  static_mac: string("Static MAC address on the bridge or custom network.", { schema: MacAddress }),
  extra_hosts: stringList("Extra /etc/hosts entries, `host:ip`.", { element: ExtraHost }),
  logging: block(
    {
      driver: string("`nomad` (Podman keeps a k8s-file log that the driver forwards to Nomad, stdout and stderr separately) or `journald`.", { schema: TaskLogDriver }),
      options: stringMap("Log driver options (e.g. `tag`).")
    },
    "Log driver for this task; defaults to the plugin's `logging`."
  ),
  socket: string("Name of the plugin `socket` block whose Podman runs this task.", { default: "default" }),
  kill_signal: string("Signal Podman sends to stop the container when Nomad gives none (the container's stop signal), e.g. `SIGINT`.", { schema: SignalName, extension: true }),
  stop_timeout: string("Seconds Podman waits after the stop signal before SIGKILL when it stops the container itself, a Go duration.", { schema: Duration, extension: true })
} satisfies Fields

// =============================================================================================
// Plugin options: `plugin "nomad-driver-podman" { config { … } }`
// =============================================================================================

const rootSocketDoc = "root: `unix:///run/podman/podman.sock`; otherwise `unix:///run/user/<uid>/podman/podman.sock`"

/** Every plugin `config {}` option, declared once. */
export const pluginOptions = {
  socket_path: string("Podman API address: `unix:///path`, `http://host:port` or `varlink:unix:/path`. Cannot be combined with `socket` blocks.", { defaultDoc: rootSocketDoc }),
  socket: blockList(
    {
      name: string("Socket name tasks refer to with `socket`; the one named `default` (else the first) is the default.", { default: "default" }),
      socket_path: string("Podman API address of this socket.", { required: true, schema: NonEmpty })
    },
    "Several Podman endpoints (e.g. rootful and rootless users)."
  ),
  volumes: block(
    {
      enabled: bool("Allow task `volumes` with sources outside the allocation directory.", { default: true }),
      selinuxlabel: string("SELinux label (`z` or `Z`) added to the allocation and host volume mounts (not for privileged tasks).")
    },
    "Bind mount policy.",
    { defaultWhenAbsent: true }
  ),
  gc: block(
    { container: bool("Remove the container when the task is destroyed.", { default: true }) },
    "Garbage collection.",
    { defaultWhenAbsent: true }
  ),
  recover_stopped: bool("On recovery, restart a stopped container instead of removing it.", { default: false }),
  disable_log_collection: bool("Do not forward container logs to Nomad.", { default: false }),
  logging: block(
    {
      driver: string("Default log driver: `nomad` or `journald`.", { default: "nomad", schema: LogDriver }),
      options: blockAttrs("Default log driver options.")
    },
    "Default logging for tasks without their own `logging` block.",
    { defaultWhenAbsent: true }
  ),
  extra_labels: stringList("Globs of extra `com.hashicorp.nomad.*` labels to add: `job_name`, `job_id`, `task_group_name`, `task_name`, `namespace`, `node_name`, `node_id` (this driver always adds all but the node labels)."),
  client_http_timeout: string("Timeout of non-streaming Podman API calls, a Go duration.", { default: "60s", schema: Duration }),
  dns_servers: stringList("DNS servers for tasks whose group has no `dns` block.", { element: IPAddress }),
  networking: block(
    { default_rootless_mode: string("Network mode for rootless Podman when the task sets none (default: `pasta` on Podman ≥ 5, else `slirp4netns`).", { default: "" }) },
    "Networking defaults.",
    { defaultWhenAbsent: true }
  ),
  auth: block(
    {
      config: string("Path of a Docker-style auth JSON file (`auths`, `credHelpers`, `credsStore`)."),
      helper: string("Credential helper suffix: runs `docker-credential-<helper>`.")
    },
    "Registry credentials for every task."
  )
} satisfies Fields

// =============================================================================================
// Derived: types, specs, decoders, tables
// =============================================================================================

/** The decoded task `config {}` block, with HCL names and defaults applied. */
export type TaskConfig = Decoded<typeof taskOptions>
/** The decoded plugin `config {}` block, with HCL names and defaults applied. */
export type PluginConfig = Decoded<typeof pluginOptions>

/** The hclspec of the task config (TaskConfigSchema). */
export const taskConfigSpec: HclSpec = objectSpec(taskOptions)
/** The hclspec of the plugin config (ConfigSchema). */
export const pluginConfigSpec: HclSpec = objectSpec(pluginOptions)

const taskCrossChecks = (c: TaskConfig): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  if (c.ports.length > 0 && Object.keys(c.port_map).length > 0) {
    issues.push({ field: "port_map", reason: "cannot be combined with ports (port_map is deprecated, use ports)" })
  }
  return issues
}

const pluginCrossChecks = (c: PluginConfig): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  if (c.socket_path !== undefined && c.socket.length > 0) {
    issues.push({ field: "socket_path", reason: "cannot be combined with socket blocks; declare every endpoint as a socket block" })
  }
  return issues
}

/** Decodes (normalises, defaults and validates) the task `config {}` block as Nomad sends it. */
export const decodeTaskConfig = (raw: unknown): Effect.Effect<TaskConfig, InvalidTaskConfig> =>
  Effect.suspend(() => {
    const issues: Array<ConfigIssue> = []
    const value = decodeFields(taskOptions, raw, "", issues)
    issues.push(...taskCrossChecks(value))
    return issues.length > 0 ? Effect.fail(new InvalidTaskConfig({ issues })) : Effect.succeed(value)
  })

/** Decodes (normalises, defaults and validates) the plugin `config {}` block. `null`/absent = all defaults. */
export const decodePluginConfig = (raw: unknown): Effect.Effect<PluginConfig, InvalidPluginConfig> =>
  Effect.suspend(() => {
    const issues: Array<ConfigIssue> = []
    const value = decodeFields(pluginOptions, raw, "", issues)
    issues.push(...pluginCrossChecks(value))
    return issues.length > 0 ? Effect.fail(new InvalidPluginConfig({ issues })) : Effect.succeed(value)
  })

/** The plugin config with every default applied (what an empty `config {}` decodes to). */
export const defaultPluginConfig: PluginConfig = decodeFields(pluginOptions, {}, "", [])

/** Markdown table of the task options, for the README. */
export const renderTaskOptionsTable = (): string => renderOptionsTable(taskOptions)
/** Markdown table of the plugin options, for the README. */
export const renderPluginOptionsTable = (): string => renderOptionsTable(pluginOptions)
