/**
 * The machinery that lets every task and plugin option be declared ONCE (HCL name, HCL type,
 * default, documentation, how its text becomes a domain value and back). From one declaration
 * derive the hclspec Nomad receives and the README tables (./derive.ts), the decoder (below) and
 * the TypeScript types of both the decoded config (`Decoded`) and its HCL-level input (`Input`).
 *
 * The decoder accepts what Nomad actually sends (absent attributes as `null`, HCL2 object
 * attributes wrapped in one-element lists, maps given as lists of maps, bare JSON objects from
 * API-submitted jobs, numbers as strings), applies the defaults, rejects unknown keys and reports
 * EVERY problem at once, each naming the field path. Each option also has an `encode`, which
 * writes a decoded value back in its HCL-level form (the driver stores configs that way).
 */
import { Cause, Exit, Result, Schema } from "effect"
import type { ConfigIssue } from "../errors.ts"
import { fieldKey, MAX_LIST_ENTRIES, textProblem } from "../limits.ts"
import type { TextCodec } from "../values/text.ts"
import { asRecord, closest, describe, isAbsent, mergeMaps, toBooleanValue, toNumberValue, toStringValue } from "./raw.ts"

/** How an option appears in HCL (drives the hclspec and the decoder's normalisation). */
export type HclShape =
  | { readonly _tag: "Attr"; readonly type: "string" | "bool" | "number" | "list(string)" | "any" }
  | { readonly _tag: "MapAttr"; readonly element: "string" | "number" }
  | { readonly _tag: "Block"; readonly fields: Fields; readonly defaultWhenAbsent: boolean }
  | { readonly _tag: "BlockList"; readonly fields: Fields }
  | { readonly _tag: "BlockAttrs"; readonly element: "string" }

/**
 * One declared option: decoded type `A`, HCL-level (input) type `I`, and whether the option is
 * required (`R`).
 */
export interface Opt<A, I, R extends boolean = false> {
  /** Phantoms: the decoded and input types (invariant). */
  readonly _A: (a: A) => A
  readonly _I: (i: I) => I
  readonly shape: HclShape
  readonly doc: string
  readonly required: R
  /** The default as written in HCL (the hclspec literal, the docs); `undefined` = stays absent. */
  readonly defaultInput: I | undefined
  /** How the default is shown in docs, when not derivable from `defaultInput`. */
  readonly defaultDoc: string | undefined
  /** An option the Go driver does not have. */
  readonly extension: boolean
  /**
   * Normalises, validates and parses a raw value (never `undefined`/`null`: those are handled by
   * the caller). Problems go to `issues`; the value returned then does not matter.
   */
  readonly decode: (raw: unknown, path: string, issues: Array<ConfigIssue>) => A
  /** Writes a (present) decoded value back in its HCL-level form; `decode` reads it as the same value. */
  readonly encode: (value: Exclude<A, undefined>) => I
}

/** A set of declared options (an HCL object body). */
export type Fields = Readonly<Record<string, Opt<any, any, boolean>>>

type OptType<O> = O extends Opt<infer A, any, any> ? A : never
type OptInput<O> = O extends Opt<any, infer I, any> ? I : never
type IsRequired<O> = O extends Opt<any, any, infer R> ? R : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The decoded value of an options body: options that may be absent become optional properties. */
export type Decoded<F extends Fields> = Simplify<
  & { readonly [K in keyof F as undefined extends OptType<F[K]> ? K : never]?: Exclude<OptType<F[K]>, undefined> }
  & { readonly [K in keyof F as undefined extends OptType<F[K]> ? never : K]: OptType<F[K]> }
>

/** The HCL-level input of an options body (what a job file says): only required options must be given. */
export type Input<F extends Fields> = Simplify<
  & { readonly [K in keyof F as IsRequired<F[K]> extends true ? K : never]: OptInput<F[K]> }
  & { readonly [K in keyof F as IsRequired<F[K]> extends true ? never : K]?: OptInput<F[K]> }
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

/**
 * The bounds every string of a config keeps (src/domain/limits.ts): no NUL byte, at most 64 KiB.
 * Checked before any codec sees the text; false (and an issue) when it is out of bounds.
 */
const textWithinBounds = (text: string, path: string, issues: Array<ConfigIssue>): boolean => {
  const problem = textProblem(text)
  if (problem === undefined) return true
  issues.push({ field: path, reason: problem })
  return false
}

/** A list or map of at most MAX_LIST_ENTRIES entries; false (and an issue) when longer. */
const countWithinBounds = (count: number, path: string, issues: Array<ConfigIssue>): boolean => {
  if (count <= MAX_LIST_ENTRIES) return true
  issues.push({ field: path, reason: `has ${count} entries; at most ${MAX_LIST_ENTRIES} are allowed` })
  return false
}

/** Runs a text codec; pushes the reason as an issue on failure. */
const parseWith = <A>(codec: TextCodec<A>, text: string, path: string, issues: Array<ConfigIssue>): A | undefined => {
  const r = codec.parse(text)
  if (Result.isSuccess(r)) return r.success
  issues.push({ field: path, reason: r.failure })
  return undefined
}

const make = <A, I, R extends boolean>(fields: Omit<Opt<A, I, R>, "_A" | "_I">): Opt<A, I, R> =>
  ({ _A: identity, _I: identity, ...fields })

interface ScalarOptions<A, I> extends Common<A> {
  readonly default?: I
  readonly required?: boolean
}

const scalar = <A>(
  type: "string" | "bool" | "number",
  convert: (raw: unknown) => A | undefined,
  expected: string,
  doc: string,
  o: ScalarOptions<A, A>
): Opt<any, any, any> =>
  make<A, A, boolean>({
    shape: { _tag: "Attr", type },
    doc,
    required: o.required === true,
    defaultInput: o.default,
    defaultDoc: o.defaultDoc,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      const v = convert(raw)
      if (v === undefined) {
        issues.push({ field: path, reason: `expected ${expected}, got ${describe(raw)}` })
        return raw as A
      }
      if (typeof v === "string" && !textWithinBounds(v, path, issues)) return v
      return check(o.schema, v, path, issues)
    },
    encode: identity
  })

/** A `string` attribute. */
export function string(doc: string, o: Common<string> & { readonly default: string }): Opt<string, string>
export function string(doc: string, o: Common<string> & { readonly required: true }): Opt<string, string, true>
export function string(doc: string, o?: Common<string>): Opt<string | undefined, string>
export function string(doc: string, o: ScalarOptions<string, string> = {}): Opt<any, any, any> {
  return scalar("string", toStringValue, "a string", doc, o)
}

/** A `bool` attribute (`"true"`/`"false"` strings accepted). */
export function bool(doc: string, o: Common<boolean> & { readonly default: boolean }): Opt<boolean, boolean>
export function bool(doc: string, o?: Common<boolean>): Opt<boolean | undefined, boolean>
export function bool(doc: string, o: ScalarOptions<boolean, boolean> = {}): Opt<any, any, any> {
  return scalar("bool", toBooleanValue, "a bool", doc, o)
}

/** A `number` attribute (numeric strings accepted, as cty converts them). */
export function number(doc: string, o: Common<number> & { readonly default: number }): Opt<number, number>
export function number(doc: string, o?: Common<number>): Opt<number | undefined, number>
export function number(doc: string, o: ScalarOptions<number, number> = {}): Opt<any, any, any> {
  return scalar("number", toNumberValue, "a number", doc, o)
}

interface TextOptions {
  readonly extension?: boolean
  readonly defaultDoc?: string
  /** An empty string means "not set" (modes such as `userns = ""`). */
  readonly emptyIsAbsent?: boolean
}

/** A `string` attribute whose text is parsed into a domain value by `codec`. */
export function text<A>(doc: string, codec: TextCodec<A>, o: TextOptions & { readonly default: string }): Opt<A, string>
export function text<A>(doc: string, codec: TextCodec<A>, o: TextOptions & { readonly required: true }): Opt<A, string, true>
export function text<A>(doc: string, codec: TextCodec<A>, o?: TextOptions): Opt<A | undefined, string>
export function text<A>(
  doc: string,
  codec: TextCodec<A>,
  o: TextOptions & { readonly default?: string; readonly required?: boolean } = {}
): Opt<any, any, any> {
  return make<A | undefined, string, boolean>({
    shape: { _tag: "Attr", type: "string" },
    doc,
    required: o.required === true,
    defaultInput: o.default,
    defaultDoc: o.defaultDoc,
    extension: o.extension === true,
    decode: (raw, path, issues) => {
      const v = toStringValue(raw)
      if (v === undefined) {
        issues.push({ field: path, reason: `expected a string, got ${describe(raw)}` })
        return undefined
      }
      if (o.emptyIsAbsent === true && v === "") return undefined
      if (!textWithinBounds(v, path, issues)) return undefined
      return parseWith(codec, v, path, issues)
    },
    encode: (a) => codec.format(a as A)
  })
}

/** The entries of a `list(string)`, each converted to a string (issues for the others, by index). */
const listEntries = (raw: unknown, path: string, issues: Array<ConfigIssue>): Array<string | undefined> => {
  if (!Array.isArray(raw)) {
    issues.push({ field: path, reason: `expected a list of strings, got ${describe(raw)}` })
    return []
  }
  if (!countWithinBounds(raw.length, path, issues)) return []
  return raw.map((item, i) => {
    const v = toStringValue(item)
    if (v === undefined || Array.isArray(item)) {
      issues.push({ field: `${path}[${i}]`, reason: `expected a string, got ${describe(item)}` })
      return undefined
    }
    return textWithinBounds(v, `${path}[${i}]`, issues) ? v : undefined
  })
}

/** A `list(string)` attribute; absent = `default` (`[]` unless given). `element` validates each entry. */
export const stringList = (
  doc: string,
  o: { readonly element?: Schema.Decoder<string>; readonly extension?: boolean; readonly default?: ReadonlyArray<string> } = {}
): Opt<ReadonlyArray<string>, ReadonlyArray<string>> =>
  make<ReadonlyArray<string>, ReadonlyArray<string>, false>({
    shape: { _tag: "Attr", type: "list(string)" },
    doc,
    required: false,
    defaultInput: o.default ?? [],
    defaultDoc: undefined,
    extension: o.extension === true,
    decode: (raw, path, issues) =>
      listEntries(raw, path, issues).map((v, i) => (v === undefined ? "" : check(o.element, v, `${path}[${i}]`, issues))),
    encode: identity
  })

/** A `list(string)` attribute whose entries are parsed by `codec`; absent = `[]`. */
export const textList = <A>(
  doc: string,
  codec: TextCodec<A>,
  o: { readonly extension?: boolean } = {}
): Opt<ReadonlyArray<A>, ReadonlyArray<string>> =>
  make<ReadonlyArray<A>, ReadonlyArray<string>, false>({
    shape: { _tag: "Attr", type: "list(string)" },
    doc,
    required: false,
    defaultInput: [],
    defaultDoc: undefined,
    extension: o.extension === true,
    decode: (raw, path, issues) =>
      listEntries(raw, path, issues).flatMap((v, i) => {
        const a = v === undefined ? undefined : parseWith(codec, v, `${path}[${i}]`, issues)
        return a === undefined ? [] : [a as A]
      }),
    encode: (list) => list.map(codec.format)
  })

/**
 * A list-or-string attribute declared `any` (the Go driver's `entrypoint`): a string becomes a
 * one-element list, list entries are converted to strings.
 */
export const stringOrList = (doc: string): Opt<ReadonlyArray<string> | undefined, string | ReadonlyArray<string>> =>
  make<ReadonlyArray<string> | undefined, string | ReadonlyArray<string>, false>({
    shape: { _tag: "Attr", type: "any" },
    doc,
    required: false,
    defaultInput: undefined,
    defaultDoc: undefined,
    extension: false,
    decode: (raw, path, issues) => {
      if (typeof raw === "string") return textWithinBounds(raw, path, issues) ? [raw] : []
      if (Array.isArray(raw)) return listEntries(raw, path, issues).map((v) => v ?? "")
      issues.push({ field: path, reason: `expected a string or a list of strings, got ${describe(raw)}` })
      return []
    },
    encode: identity
  })

/**
 * A map attribute: entries converted by `convert`, then parsed by `entry` into the decoded key and
 * value (`undefined` = the entry had a problem, already reported).
 */
const mapOf = <V, K extends string, A>(
  shape: HclShape,
  convert: (raw: unknown) => V | undefined,
  expected: string,
  doc: string,
  entry: (key: string, value: V, field: string, issues: Array<ConfigIssue>) => readonly [K, A] | undefined,
  encode: (value: A) => V,
  extension: boolean | undefined
): Opt<Readonly<Record<K, A>>, Readonly<Record<string, V>>> =>
  make<Readonly<Record<K, A>>, Readonly<Record<string, V>>, false>({
    shape,
    doc,
    required: false,
    defaultInput: {},
    defaultDoc: undefined,
    extension: extension === true,
    decode: (raw, path, issues) => {
      const out = {} as Record<K, A>
      const entries = mergeMaps(raw, path, issues)
      if (!countWithinBounds(entries.length, path, issues)) return out
      for (const [k, item] of entries) {
        const field = `${path}.${fieldKey(k)}`
        const v = convert(item)
        if (v === undefined) {
          issues.push({ field, reason: `expected ${expected}, got ${describe(item)}` })
          continue
        }
        const keyOk = textWithinBounds(k, `${field} (key)`, issues)
        if (!keyOk || (typeof v === "string" && !textWithinBounds(v, field, issues))) continue
        const e = entry(k, v, field, issues)
        if (e !== undefined) out[e[0]] = e[1]
      }
      return out
    },
    encode: (m) => Object.fromEntries(Object.entries<A>(m).map(([k, v]) => [k, encode(v)]))
  })

const checkedEntry = <V>(key?: Schema.Decoder<string>, value?: Schema.Decoder<V>) =>
(k: string, v: V, field: string, issues: Array<ConfigIssue>): readonly [string, V] => {
  check(key, k, field, issues)
  return [k, check(value, v, field, issues)]
}

/** A `map(string)` declared as `list(map(string))` so both block and attribute syntax work. */
export const stringMap = (
  doc: string,
  o: { readonly key?: Schema.Decoder<string>; readonly value?: Schema.Decoder<string>; readonly extension?: boolean } = {}
): Opt<Readonly<Record<string, string>>, Readonly<Record<string, string>>> =>
  mapOf({ _tag: "MapAttr", element: "string" }, toStringValue, "a string", doc, checkedEntry(o.key, o.value), identity, o.extension)

/** A `map(number)` declared as `list(map(number))`. */
export const numberMap = (
  doc: string,
  o: { readonly key?: Schema.Decoder<string>; readonly value?: Schema.Decoder<number>; readonly extension?: boolean } = {}
): Opt<Readonly<Record<string, number>>, Readonly<Record<string, number>>> =>
  mapOf({ _tag: "MapAttr", element: "number" }, toNumberValue, "a number", doc, checkedEntry(o.key, o.value), identity, o.extension)

/**
 * A `map(string)` (declared `list(map(string))`) whose keys are normalised by `key` (a reason on
 * failure) and whose values are parsed by `value`. Two keys that normalise alike: the later wins.
 */
export const textMap = <K extends string, A>(
  doc: string,
  key: (k: string) => Result.Result<K, string>,
  value: TextCodec<A>,
  o: { readonly extension?: boolean } = {}
): Opt<Readonly<Record<K, A>>, Readonly<Record<string, string>>> =>
  mapOf<string, K, A>(
    { _tag: "MapAttr", element: "string" },
    toStringValue,
    "a string",
    doc,
    (k, v, field, issues) => {
      const name = key(k)
      if (Result.isFailure(name)) issues.push({ field, reason: name.failure })
      const a = parseWith(value, v, field, issues)
      return Result.isSuccess(name) && a !== undefined ? [name.success, a as A] as const : undefined
    },
    value.format,
    o.extension
  )

/** A block whose attributes form a `map(string)` (`options { tag = "x" }`). */
export const blockAttrs = (doc: string): Opt<Readonly<Record<string, string>>, Readonly<Record<string, string>>> =>
  mapOf({ _tag: "BlockAttrs", element: "string" }, toStringValue, "a string", doc, checkedEntry(), identity, false)

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
      issues.push({ field: prefix + fieldKey(key), reason: `unknown option${hint === undefined ? "" : ` (did you mean "${hint}"?)`}` })
    }
  }
  for (const [key, opt] of Object.entries(fields)) {
    const path = prefix + key
    const value = Object.hasOwn(body, key) ? body[key] : undefined
    const absent = isAbsent(value) || (Array.isArray(value) && value.length === 0 && opt.shape._tag === "Block")
    let decoded: unknown
    if (!absent) decoded = opt.decode(value, path, issues)
    else if (opt.required) issues.push({ field: path, reason: "is required" })
    else if (opt.shape._tag === "Block" && opt.shape.defaultWhenAbsent) decoded = opt.decode({}, path, issues)
    else if (opt.defaultInput !== undefined) decoded = opt.decode(opt.defaultInput, path, issues)
    // an option that decodes to nothing (absent, or `""` for a mode) is left out, not set to undefined
    if (decoded !== undefined) out[key] = decoded
  }
  return out as Decoded<F>
}

/** Writes a decoded body back in its HCL-level form (every present option, defaults included). */
export const encodeFields = <F extends Fields>(fields: F, value: Decoded<F>): Input<F> => {
  const out: Record<string, unknown> = {}
  const v = value as Record<string, unknown>
  for (const [key, opt] of Object.entries(fields)) {
    if (v[key] !== undefined) out[key] = opt.encode(v[key])
  }
  return out as Input<F>
}

interface BlockOptions<F extends Fields> {
  readonly extension?: boolean
  /** Cross-field checks of the block; issue fields are relative to the block. */
  readonly validate?: (v: Decoded<F>) => ReadonlyArray<ConfigIssue>
}

/** A nested block (`auth { … }`), given as an object or a one-element list of objects. */
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o: BlockOptions<F> & { readonly defaultWhenAbsent: true }
): Opt<Decoded<F>, Input<F>>
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o?: BlockOptions<F> & { readonly defaultWhenAbsent?: false }
): Opt<Decoded<F> | undefined, Input<F>>
export function block<F extends Fields>(
  fields: F,
  doc: string,
  o: BlockOptions<F> & { readonly defaultWhenAbsent?: boolean } = {}
): Opt<any, any, any> {
  return make<Decoded<F>, Input<F>, false>({
    shape: { _tag: "Block", fields, defaultWhenAbsent: o.defaultWhenAbsent === true },
    doc,
    required: false,
    defaultInput: undefined,
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
    },
    encode: (v) => encodeFields(fields, v)
  })
}

/** A repeatable block (`socket { … } socket { … }`); absent = `[]`. */
export const blockList = <F extends Fields>(fields: F, doc: string): Opt<ReadonlyArray<Decoded<F>>, ReadonlyArray<Input<F>>> =>
  make<ReadonlyArray<Decoded<F>>, ReadonlyArray<Input<F>>, false>({
    shape: { _tag: "BlockList", fields },
    doc,
    required: false,
    defaultInput: [],
    defaultDoc: undefined,
    extension: false,
    decode: (raw, path, issues) => {
      const items = Array.isArray(raw) ? raw : [raw]
      if (!countWithinBounds(items.length, path, issues)) return []
      return items.map((item, i) => decodeFields(fields, item, `${path}[${i}].`, issues))
    },
    encode: (list) => list.map((v) => encodeFields(fields, v))
  })
