/**
 * HCL values as the CLI's evaluator holds them (plain JSON-like values: lists, sets and tuples are
 * arrays; maps and objects are records), their text form in templates, and the type constraints of
 * `variable` blocks (`string`, `list(number)`, `map(string)`, `object({...})`, …) with the
 * conversions HCL applies to a value given for a typed variable.
 */
import type { Expr } from "./ast.ts"

export type Value = null | boolean | number | string | ReadonlyArray<Value> | { readonly [k: string]: Value }

export type ValueObject = { readonly [k: string]: Value }

export const isList = (v: Value): v is ReadonlyArray<Value> => Array.isArray(v)
export const isObject = (v: Value): v is ValueObject => typeof v === "object" && v !== null && !Array.isArray(v)

/** HCL's name of a value's kind, for messages. */
export const kindOf = (v: Value): string =>
  v === null ? "null" : isList(v) ? "list" : isObject(v) ? "object" : typeof v

/** A number as HCL writes it: no exponent for integers, the shortest decimal otherwise. */
export const formatNumber = (n: number): string =>
  Number.isInteger(n) && Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n)

/** A primitive as a string (template interpolation, string conversion); undefined for the rest. */
export const primitiveText = (v: Value): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? formatNumber(v) : typeof v === "boolean" ? String(v) : undefined

/** Deep equality, as HCL's `==` (values of different kinds are never equal). */
export const equal = (a: Value, b: Value): boolean => {
  if (isList(a) && isList(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!))
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && equal(a[k]!, b[k]!))
  }
  return a === b
}

/** A type constraint. */
export type Type =
  | { readonly k: "string" | "number" | "bool" | "any" }
  | { readonly k: "list" | "set" | "map"; readonly of: Type }
  | { readonly k: "object"; readonly attrs: Readonly<Record<string, { readonly type: Type; readonly optional: boolean }>> }
  | { readonly k: "tuple"; readonly items: ReadonlyArray<Type> }

export const typeName = (t: Type): string => {
  switch (t.k) {
    case "list":
    case "set":
    case "map":
      return `${t.k}(${typeName(t.of)})`
    case "object":
      return `object({${Object.entries(t.attrs).map(([k, a]) => `${k}=${typeName(a.type)}`).join(", ")}})`
    case "tuple":
      return `tuple([${t.items.map(typeName).join(", ")}])`
    default:
      return t.k
  }
}

/** Reads a type expression (`type = list(string)`); a problem is thrown as the reason. */
export const typeOf = (e: Expr): Type => {
  if (e.k === "scope" && e.steps.length === 0) {
    if (e.root === "string" || e.root === "number" || e.root === "bool" || e.root === "any") return { k: e.root }
    throw new TypeError(`unknown type "${e.root}" (string, number, bool, any, list(…), set(…), map(…), object({…}), tuple([…]))`)
  }
  if (e.k === "call") {
    const arg = e.args[0]
    if (e.args.length !== 1 || arg === undefined) throw new TypeError(`${e.name}(…) takes one argument`)
    switch (e.name) {
      case "list":
      case "set":
      case "map":
        return { k: e.name, of: typeOf(arg) }
      case "object": {
        if (arg.k !== "object") throw new TypeError("object(…) takes an object of attribute types: object({ name = string })")
        const attrs: Record<string, { type: Type; optional: boolean }> = {}
        for (const item of arg.items) {
          const key = item.key.k === "literal" && typeof item.key.value === "string" ? item.key.value : undefined
          if (key === undefined) throw new TypeError("object type attribute names must be names")
          const optional = item.value.k === "call" && item.value.name === "optional"
          const inner = optional && item.value.k === "call" ? item.value.args[0] : item.value
          if (inner === undefined) throw new TypeError("optional(…) takes a type")
          attrs[key] = { type: typeOf(inner), optional }
        }
        return { k: "object", attrs }
      }
      case "tuple":
        if (arg.k !== "tuple") throw new TypeError("tuple(…) takes a list of types: tuple([string, number])")
        return { k: "tuple", items: arg.items.map(typeOf) }
      default:
        throw new TypeError(`unknown type constructor ${e.name}(…)`)
    }
  }
  throw new TypeError("expected a type (string, number, bool, any, list(…), set(…), map(…), object({…}), tuple([…]))")
}

/** Converts `v` to type `t` as HCL does; a problem is thrown as the reason. */
export const convert = (v: Value, t: Type): Value => {
  if (v === null) return null
  switch (t.k) {
    case "any":
      return v
    case "string": {
      const s = primitiveText(v)
      if (s === undefined) throw new TypeError(`a string is required, got ${kindOf(v)}`)
      return s
    }
    case "number": {
      if (typeof v === "number") return v
      if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v)
      throw new TypeError(`a number is required, got ${typeof v === "string" ? JSON.stringify(v) : kindOf(v)}`)
    }
    case "bool": {
      if (typeof v === "boolean") return v
      if (v === "true" || v === "false") return v === "true"
      throw new TypeError(`a bool is required, got ${typeof v === "string" ? JSON.stringify(v) : kindOf(v)}`)
    }
    case "list":
    case "set": {
      if (!isList(v)) throw new TypeError(`a ${t.k} is required, got ${kindOf(v)}`)
      const items = v.map((x, i) => at(`[${i}]`, () => convert(x, t.of)))
      return t.k === "set" ? items.filter((x, i) => items.findIndex((y) => equal(x, y)) === i) : items
    }
    case "map": {
      if (!isObject(v)) throw new TypeError(`a map is required, got ${kindOf(v)}`)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, at(`.${k}`, () => convert(x, t.of))]))
    }
    case "object": {
      if (!isObject(v)) throw new TypeError(`an object is required, got ${kindOf(v)}`)
      const out: Record<string, Value> = {}
      for (const [k, a] of Object.entries(t.attrs)) {
        if (!Object.hasOwn(v, k)) {
          if (!a.optional) throw new TypeError(`attribute "${k}" is required`)
          out[k] = null
        } else out[k] = at(`.${k}`, () => convert(v[k]!, a.type))
      }
      return out
    }
    case "tuple": {
      if (!isList(v) || v.length !== t.items.length) throw new TypeError(`a tuple of ${t.items.length} elements is required`)
      return v.map((x, i) => at(`[${i}]`, () => convert(x, t.items[i]!)))
    }
  }
}

const at = <A>(where: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw e instanceof TypeError ? new TypeError(`${where}: ${e.message}`) : e
  }
}
