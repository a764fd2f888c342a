/**
 * The functions of Nomad's job files (jobspec2's function table) that the CLI evaluates, with the
 * behaviour of HCL's standard library (go-cty's stdlib). Functions Nomad has but this file does
 * not (file system, crypto with keys, CIDR, dates, YAML, CSV) are listed in `unsupportedFunctions`,
 * so that a job using one fails with an error naming it instead of a wrong value.
 *
 * The client-side interpolation of task config values uses a smaller table (`clientFunctions`),
 * as Nomad's client does.
 */
import { createHash, randomUUID } from "node:crypto"
import type { HclFunction } from "./eval.ts"
import { equal, formatNumber, isList, isObject, kindOf, primitiveText, type Value, type ValueObject } from "./values.ts"

const str = (v: Value | undefined, what = "argument"): string => {
  const s = v === undefined || v === null ? undefined : primitiveText(v)
  if (s === undefined) throw new TypeError(`${what} must be a string, got ${v === undefined ? "nothing" : kindOf(v)}`)
  return s
}
const num = (v: Value | undefined, what = "argument"): number => {
  if (typeof v === "number") return v
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v)
  throw new TypeError(`${what} must be a number, got ${v === undefined ? "nothing" : kindOf(v)}`)
}
const list = (v: Value | undefined, what = "argument"): ReadonlyArray<Value> => {
  if (v !== undefined && isList(v)) return v
  throw new TypeError(`${what} must be a list, got ${v === undefined ? "nothing" : kindOf(v)}`)
}
const obj = (v: Value | undefined, what = "argument"): ValueObject => {
  if (v !== undefined && isObject(v)) return v
  throw new TypeError(`${what} must be a map or an object, got ${v === undefined ? "nothing" : kindOf(v)}`)
}
const arity = (name: string, n: number, f: (a: ReadonlyArray<Value>) => Value): HclFunction => (args) => {
  if (args.length !== n) throw new TypeError(`takes ${n} argument${n === 1 ? "" : "s"}, got ${args.length}`)
  return f(args)
}
const unary = (name: string, f: (v: Value) => Value): HclFunction => arity(name, 1, (a) => f(a[0]!))
const strFn = (name: string, f: (s: string) => string): HclFunction => unary(name, (v) => f(str(v)))
const hash = (algo: string): HclFunction => strFn(algo, (s) => createHash(algo).update(s, "utf8").digest("hex"))

/** Go's fmt verbs as HCL's format() supports them: %s %d %f %v %q %t %% (with width/precision). */
const format = (spec: string, args: ReadonlyArray<Value>): string => {
  let n = 0
  return spec.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdfvqtxXeEgb%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === "%") return "%"
    if (n >= args.length) throw new TypeError(`not enough arguments for the format string ${JSON.stringify(spec)}`)
    const v = args[n++]!
    let out: string
    switch (verb) {
      case "d":
        out = String(Math.trunc(num(v)))
        break
      case "f":
        out = num(v).toFixed(prec !== undefined ? Number(prec) : 6)
        break
      case "e":
      case "E":
        out = num(v).toExponential(prec !== undefined ? Number(prec) : 6)
        if (verb === "E") out = out.toUpperCase()
        break
      case "g":
        out = formatNumber(num(v))
        break
      case "x":
      case "X":
        out = typeof v === "number" ? Math.trunc(v).toString(16) : Buffer.from(str(v)).toString("hex")
        if (verb === "X") out = out.toUpperCase()
        break
      case "b":
        out = Math.trunc(num(v)).toString(2)
        break
      case "t":
        if (typeof v !== "boolean") throw new TypeError("%t needs a bool")
        out = String(v)
        break
      case "q":
        out = JSON.stringify(str(v))
        break
      case "v":
        out = primitiveText(v) ?? JSON.stringify(v)
        break
      default:
        out = str(v)
        if (prec !== undefined) out = out.slice(0, Number(prec))
    }
    const w = width !== undefined ? Number(width) : 0
    if (out.length < w) out = flags.includes("-") ? out.padEnd(w) : out.padStart(w, flags.includes("0") && verb !== "s" ? "0" : " ")
    return out
  })
}

const flatten = (v: ReadonlyArray<Value>): Array<Value> => v.flatMap((x) => (isList(x) ? flatten(x) : [x]))

const sortedKeys = (o: ValueObject): Array<string> => Object.keys(o).sort()

/** HCL's JSON encoding: object keys sorted, as cty does. */
const jsonEncode = (v: Value): string => {
  if (isList(v)) return `[${v.map(jsonEncode).join(",")}]`
  if (isObject(v)) return `{${sortedKeys(v).map((k) => `${JSON.stringify(k)}:${jsonEncode(v[k]!)}`).join(",")}}`
  return JSON.stringify(v)
}

const jsonValue = (v: unknown): Value => {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v
  if (Array.isArray(v)) return v.map(jsonValue)
  if (typeof v === "object") return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonValue(x)]))
  throw new TypeError("not a JSON value")
}

const range = (args: ReadonlyArray<Value>): Value => {
  const [a, b, c] = args.map((x) => num(x))
  const [start, end, step] = args.length === 1 ? [0, a!, 1] : args.length === 2 ? [a!, b!, a! <= b! ? 1 : -1] : [a!, b!, c!]
  if (args.length < 1 || args.length > 3) throw new TypeError("takes 1 to 3 arguments")
  if (step === 0) throw new TypeError("step must not be zero")
  const out: Array<number> = []
  for (let x = start; step > 0 ? x < end : x > end; x += step) {
    out.push(x)
    if (out.length > 1024) throw new RangeError("more than 1024 elements")
  }
  return out
}

const stdlib: Record<string, HclFunction> = {
  abs: unary("abs", (v) => Math.abs(num(v))),
  ceil: unary("ceil", (v) => Math.ceil(num(v))),
  floor: unary("floor", (v) => Math.floor(num(v))),
  signum: unary("signum", (v) => Math.sign(num(v))),
  log: arity("log", 2, ([x, base]) => Math.log(num(x)) / Math.log(num(base))),
  pow: arity("pow", 2, ([x, y]) => num(x) ** num(y)),
  max: (args) => {
    if (args.length === 0) throw new TypeError("needs at least one argument")
    return Math.max(...args.map((x) => num(x)))
  },
  min: (args) => {
    if (args.length === 0) throw new TypeError("needs at least one argument")
    return Math.min(...args.map((x) => num(x)))
  },
  parseint: arity("parseint", 2, ([s, base]) => {
    const b = num(base)
    const text = str(s)
    const n = parseInt(text, b)
    if (!Number.isFinite(n) || n.toString(b) !== text.toLowerCase().replace(/^\+/, "")) throw new TypeError(`cannot parse ${JSON.stringify(text)} as a base ${b} integer`)
    return n
  }),
  upper: strFn("upper", (s) => s.toUpperCase()),
  lower: strFn("lower", (s) => s.toLowerCase()),
  title: strFn("title", (s) => s.replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase())),
  chomp: strFn("chomp", (s) => s.replace(/(\r\n|\n|\r)+$/, "")),
  trimspace: strFn("trimspace", (s) => s.trim()),
  strrev: strFn("strrev", (s) => [...s].reverse().join("")),
  strlen: unary("strlen", (v) => [...str(v)].length),
  trim: arity("trim", 2, ([s, cut]) => {
    const chars = new Set([...str(cut)])
    const a = [...str(s)]
    let i = 0
    let j = a.length
    while (i < j && chars.has(a[i]!)) i++
    while (j > i && chars.has(a[j - 1]!)) j--
    return a.slice(i, j).join("")
  }),
  trimprefix: arity("trimprefix", 2, ([s, p]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s))),
  trimsuffix: arity("trimsuffix", 2, ([s, p]) => (str(p) !== "" && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s))),
  substr: arity("substr", 3, ([s, off, len]) => {
    const a = [...str(s)]
    let o = num(off)
    if (o < 0) o = a.length + o
    const l = num(len)
    return a.slice(o, l < 0 ? a.length : o + l).join("")
  }),
  indent: arity("indent", 2, ([n, s]) => str(s).replace(/\n/g, `\n${" ".repeat(num(n))}`)),
  join: (args) => {
    if (args.length < 2) throw new TypeError("takes a separator and at least one list")
    return args.slice(1).flatMap((l) => list(l)).map((x) => str(x, "element")).join(str(args[0]))
  },
  split: arity("split", 2, ([sep, s]) => str(s).split(str(sep))),
  replace: arity("replace", 3, ([s, search, rep]) => {
    const pattern = str(search)
    const m = /^\/(.*)\/$/s.exec(pattern)
    // `/re/` is a regular expression (its groups as $1 in the replacement), anything else a plain substring
    return m ? str(s).replace(new RegExp(m[1]!, "g"), str(rep)) : str(s).split(pattern).join(str(rep))
  }),
  regex_replace: arity("regex_replace", 3, ([s, re, rep]) => str(s).replace(new RegExp(str(re), "g"), str(rep).replace(/\$\{?(\d+)\}?/g, "$$$1"))),
  format: (args) => format(str(args[0], "the format"), args.slice(1)),
  formatlist: (args) => {
    const spec = str(args[0], "the format")
    const rest = args.slice(1)
    const n = Math.max(0, ...rest.filter(isList).map((l) => (l as ReadonlyArray<Value>).length))
    return Array.from({ length: n }, (_, i) => format(spec, rest.map((a) => (isList(a) ? a[i] ?? null : a))))
  },
  length: unary("length", (v) => (isList(v) ? v.length : isObject(v) ? Object.keys(v).length : typeof v === "string" ? [...v].length : (() => {
    throw new TypeError(`cannot take the length of a ${kindOf(v)}`)
  })())),
  concat: (args) => args.flatMap((l, i) => list(l, `argument ${i + 1}`)),
  flatten: unary("flatten", (v) => flatten(list(v))),
  distinct: unary("distinct", (v) => list(v).filter((x, i, a) => a.findIndex((y) => equal(x, y)) === i)),
  compact: unary("compact", (v) => list(v).filter((x) => x !== null && x !== "")),
  contains: arity("contains", 2, ([l, x]) => list(l).some((y) => equal(x!, y))),
  index: arity("index", 2, ([l, x]) => {
    const i = list(l).findIndex((y) => equal(x!, y))
    if (i === -1) throw new TypeError("the value is not in the list")
    return i
  }),
  element: arity("element", 2, ([l, i]) => {
    const a = list(l)
    if (a.length === 0) throw new TypeError("cannot use element() on an empty list")
    return a[((Math.trunc(num(i)) % a.length) + a.length) % a.length]!
  }),
  reverse: unary("reverse", (v) => [...list(v)].reverse()),
  slice: arity("slice", 3, ([l, a, b]) => {
    const arr = list(l)
    const from = num(a)
    const to = num(b)
    if (from < 0 || to > arr.length || from > to) throw new RangeError(`invalid slice [${from}:${to}] of a list of ${arr.length}`)
    return arr.slice(from, to)
  }),
  sort: unary("sort", (v) => list(v).map((x) => str(x, "element")).sort()),
  chunklist: arity("chunklist", 2, ([l, size]) => {
    const a = list(l)
    const n = num(size)
    if (n <= 0) return [a]
    return Array.from({ length: Math.ceil(a.length / n) }, (_, i) => a.slice(i * n, i * n + n))
  }),
  coalesce: (args) => {
    const v = args.find((x) => x !== null && x !== "")
    if (v === undefined) throw new TypeError("no non-null, non-empty argument")
    return v
  },
  coalescelist: (args) => args.find((x) => isList(x) && x.length > 0) ?? (() => {
    throw new TypeError("no non-empty list argument")
  })(),
  keys: unary("keys", (v) => sortedKeys(obj(v))),
  values: unary("values", (v) => {
    const o = obj(v)
    return sortedKeys(o).map((k) => o[k]!)
  }),
  lookup: (args) => {
    if (args.length < 2 || args.length > 3) throw new TypeError("takes a map, a key and an optional default")
    const o = obj(args[0])
    const k = str(args[1], "the key")
    if (Object.hasOwn(o, k)) return o[k]!
    if (args.length === 3) return args[2]!
    throw new TypeError(`the map has no key ${JSON.stringify(k)} and no default was given`)
  },
  merge: (args) => Object.assign({}, ...args.filter((x) => x !== null).map((x) => obj(x))) as ValueObject,
  zipmap: arity("zipmap", 2, ([k, v]) => {
    const ks = list(k)
    const vs = list(v)
    if (ks.length !== vs.length) throw new TypeError("the key and value lists must have the same length")
    return Object.fromEntries(ks.map((x, i) => [str(x, "key"), vs[i]!]))
  }),
  range,
  setunion: (args) => args.flatMap((l) => list(l)).filter((x, i, a) => a.findIndex((y) => equal(x, y)) === i),
  setintersection: (args) => {
    const [first, ...rest] = args.map((l) => list(l))
    return (first ?? []).filter((x, i, a) => a.findIndex((y) => equal(x, y)) === i && rest.every((r) => r.some((y) => equal(x, y))))
  },
  jsonencode: unary("jsonencode", jsonEncode),
  jsondecode: unary("jsondecode", (v) => jsonValue(JSON.parse(str(v)))),
  base64encode: strFn("base64encode", (s) => Buffer.from(s, "utf8").toString("base64")),
  base64decode: strFn("base64decode", (s) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new TypeError("not valid base64")
    return Buffer.from(s, "base64").toString("utf8")
  }),
  urlencode: strFn("urlencode", (s) => encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)),
  md5: hash("md5"),
  sha1: hash("sha1"),
  sha256: hash("sha256"),
  sha512: hash("sha512"),
  uuidv4: arity("uuidv4", 0, () => randomUUID())
}

/** Functions Nomad's job parser has that this CLI does not evaluate. */
export const unsupportedFunctions: ReadonlySet<string> = new Set([
  "bcrypt", "cidrhost", "cidrnetmask", "cidrsubnet", "cidrsubnets", "csvdecode", "formatdate", "rsadecrypt", "setproduct",
  "timeadd", "uuidv5", "yamldecode", "yamlencode", "abspath", "basename", "dirname", "file", "filebase64", "fileexists",
  "fileset", "pathexpand"
])

/** The job file functions (jobspec2); `convert(value, type)` is the evaluator's, as its type is not a value. */
export const jobFunctions: Readonly<Record<string, HclFunction>> = stdlib

/** The functions Nomad's client offers when it interpolates a task's config (its stdlib subset). */
export const clientFunctions: Readonly<Record<string, HclFunction>> = Object.fromEntries(
  ["abs", "ceil", "chomp", "coalesce", "coalescelist", "compact", "concat", "contains", "distinct", "element", "flatten", "floor",
    "format", "formatlist", "indent", "join", "jsondecode", "jsonencode", "keys", "length", "log", "lookup", "lower", "max",
    "merge", "min", "parseint", "pow", "range", "regex_replace", "replace", "reverse", "setintersection", "setunion", "signum",
    "slice", "sort", "split", "strrev", "substr", "timeadd", "title", "trim", "trimprefix", "trimspace", "trimsuffix", "upper",
    "values", "zipmap"].flatMap((n) => (stdlib[n] ? [[n, stdlib[n]!] as const] : []))
)
