/**
 * A parser for the varlink interface description language (varlink.org, "Interface Definition"):
 *
 * ```
 * # comment (a run of comment lines before a member is its documentation)
 * interface org.example.ftl
 * type Drive (name: string, sizes: []int, tags: [string]string, mode: (ro, rw), extra: ?object)
 * method Mount(drive: Drive, options: ?[string]()) -> (path: string)
 * error NotFound (name: string)
 * ```
 *
 * Types: `bool`, `int`, `float`, `string`, `object` (any JSON), `[]T` (array), `[string]T` (map;
 * `[string]()` is a set), `?T` (optional / null), `(a: T, ...)` (anonymous struct), `(a, b)` (enum),
 * and names of `type` members. Used to read a service's description and to check a call's method and
 * parameters before it is sent.
 */
import { Data } from "effect"

export type VarlinkType =
  | { readonly kind: "bool" | "int" | "float" | "string" | "object" }
  | { readonly kind: "array"; readonly element: VarlinkType }
  | { readonly kind: "map"; readonly value: VarlinkType }
  | { readonly kind: "optional"; readonly inner: VarlinkType }
  | { readonly kind: "named"; readonly name: string }
  | VarlinkStruct
  | { readonly kind: "enum"; readonly values: ReadonlyArray<string> }

export interface VarlinkField {
  readonly name: string
  readonly type: VarlinkType
}

export interface VarlinkStruct {
  readonly kind: "struct"
  readonly fields: ReadonlyArray<VarlinkField>
}

export interface VarlinkTypeAlias {
  readonly name: string
  readonly doc: string
  readonly type: VarlinkStruct | { readonly kind: "enum"; readonly values: ReadonlyArray<string> }
}

export interface VarlinkMethod {
  readonly name: string
  readonly doc: string
  readonly input: VarlinkStruct
  readonly output: VarlinkStruct
}

export interface VarlinkErrorDef {
  readonly name: string
  readonly doc: string
  readonly parameters: VarlinkStruct
}

export interface VarlinkInterface {
  /** Reverse-domain name, e.g. `io.podman`. */
  readonly name: string
  readonly doc: string
  readonly types: ReadonlyMap<string, VarlinkTypeAlias>
  readonly methods: ReadonlyMap<string, VarlinkMethod>
  readonly errors: ReadonlyMap<string, VarlinkErrorDef>
}

/** The description could not be parsed: where and why. */
export class VarlinkIdlParseError extends Data.TaggedError("VarlinkIdlParseError")<{
  readonly line: number
  readonly column: number
  readonly detail: string
}> {
  override get message() {
    return `varlink interface description, line ${this.line} column ${this.column}: ${this.detail}`
  }
}

const INTERFACE_NAME = /^[A-Za-z](?:-*[A-Za-z0-9])*(?:\.[A-Za-z0-9](?:-*[A-Za-z0-9])*)+$/
const MEMBER_NAME = /^[A-Z][A-Za-z0-9]*$/
const FIELD_NAME = /^[A-Za-z](?:_?[A-Za-z0-9])*$/

type Token =
  | { readonly t: "word"; readonly v: string; readonly at: number }
  | { readonly t: "punct"; readonly v: string; readonly at: number }
  | { readonly t: "doc"; readonly v: string; readonly at: number }

const tokenize = (src: string, fail: (at: number, detail: string) => never): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++
    } else if (c === "#") {
      const end = src.indexOf("\n", i)
      const stop = end < 0 ? src.length : end
      tokens.push({ t: "doc", v: src.slice(i + 1, stop).replace(/^ /, ""), at: i })
      i = stop
    } else if (src.startsWith("->", i)) {
      tokens.push({ t: "punct", v: "->", at: i })
      i += 2
    } else if (src.startsWith("[]", i)) {
      tokens.push({ t: "punct", v: "[]", at: i })
      i += 2
    } else if (src.startsWith("[string]", i)) {
      tokens.push({ t: "punct", v: "[string]", at: i })
      i += 8
    } else if ("():,?".includes(c)) {
      tokens.push({ t: "punct", v: c, at: i })
      i++
    } else if (/[A-Za-z0-9_.\-]/.test(c)) {
      let j = i
      while (j < src.length && /[A-Za-z0-9_.\-]/.test(src[j]!)) j++
      tokens.push({ t: "word", v: src.slice(i, j), at: i })
      i = j
    } else {
      fail(i, `unexpected character ${JSON.stringify(c)}`)
    }
  }
  return tokens
}

/** Parses one interface description. Fails with `VarlinkIdlParseError` (line/column, reason). */
export const parseVarlinkInterface = (src: string): VarlinkInterface => {
  const fail = (at: number, detail: string): never => {
    const before = src.slice(0, Math.min(at, src.length))
    const line = before.split("\n").length
    const column = at - before.lastIndexOf("\n")
    throw new VarlinkIdlParseError({ line, column, detail })
  }
  const all = tokenize(src, fail)
  let pos = 0
  let docs: Array<string> = []
  /** Next non-comment token; comments seen on the way become the pending documentation. */
  const peek = (): Token | undefined => {
    while (all[pos]?.t === "doc") docs.push(all[pos++]!.v)
    return all[pos]
  }
  const next = (what: string): Token => {
    const tok = peek()
    if (tok === undefined) return fail(src.length, `unexpected end of description, expected ${what}`)
    pos++
    return tok
  }
  const expect = (v: string) => {
    const tok = next(JSON.stringify(v))
    if (tok.v !== v || tok.t === "doc") fail(tok.at, `expected ${JSON.stringify(v)}, found ${JSON.stringify(tok.v)}`)
  }
  const takeDoc = () => {
    const d = docs.join("\n")
    docs = []
    return d
  }

  const parseType = (): VarlinkType => {
    const tok = next("a type")
    if (tok.t === "punct") {
      if (tok.v === "?") {
        const inner = parseType()
        if (inner.kind === "optional") fail(tok.at, "an optional type cannot be optional again (??)")
        return { kind: "optional", inner }
      }
      if (tok.v === "[]") return { kind: "array", element: parseType() }
      if (tok.v === "[string]") return { kind: "map", value: parseType() }
      if (tok.v === "(") return parseStructOrEnumBody(tok.at)
      return fail(tok.at, `expected a type, found ${JSON.stringify(tok.v)}`)
    }
    switch (tok.v) {
      case "bool":
      case "int":
      case "float":
      case "string":
      case "object":
        return { kind: tok.v }
      default:
        if (!MEMBER_NAME.test(tok.v)) fail(tok.at, `invalid type name ${JSON.stringify(tok.v)}`)
        return { kind: "named", name: tok.v }
    }
  }

  /** After "(": `)` | name ":" type ("," ...)* `)` | name ("," name)* `)`. */
  const parseStructOrEnumBody = (at: number): VarlinkStruct | { kind: "enum"; values: Array<string> } => {
    const fields: Array<VarlinkField> = []
    const values: Array<string> = []
    if (peek()?.v === ")") {
      pos++
      return { kind: "struct", fields }
    }
    for (;;) {
      const name = next("a field name")
      if (name.t !== "word" || !FIELD_NAME.test(name.v)) fail(name.at, `invalid field name ${JSON.stringify(name.v)}`)
      if (peek()?.v === ":") {
        pos++
        if (values.length > 0) fail(name.at, "cannot mix enum values and struct fields")
        if (fields.some((f) => f.name === name.v)) fail(name.at, `duplicate field ${name.v}`)
        fields.push({ name: name.v, type: parseType() })
      } else {
        if (fields.length > 0) fail(name.at, `field ${name.v} needs a type`)
        if (values.includes(name.v)) fail(name.at, `duplicate enum value ${name.v}`)
        values.push(name.v)
      }
      const sep = next("\",\" or \")\"")
      if (sep.v === ")") break
      if (sep.v !== ",") fail(sep.at, `expected "," or ")", found ${JSON.stringify(sep.v)}`)
    }
    if (values.length > 0) return { kind: "enum", values }
    if (fields.length === 0) fail(at, "empty")
    return { kind: "struct", fields }
  }

  const parseStruct = (): VarlinkStruct => {
    const open = next("\"(\"")
    if (open.v !== "(") fail(open.at, `expected "(", found ${JSON.stringify(open.v)}`)
    const body = parseStructOrEnumBody(open.at)
    if (body.kind !== "struct") fail(open.at, "expected a struct, found an enum")
    return body as VarlinkStruct
  }

  expect("interface")
  const ifaceDoc = takeDoc()
  const nameTok = next("the interface name")
  if (!INTERFACE_NAME.test(nameTok.v)) fail(nameTok.at, `invalid interface name ${JSON.stringify(nameTok.v)}`)
  const types = new Map<string, VarlinkTypeAlias>()
  const methods = new Map<string, VarlinkMethod>()
  const errors = new Map<string, VarlinkErrorDef>()
  const seen = new Set<string>()
  docs = []
  while (peek() !== undefined) {
    const kw = next("type, method or error")
    const doc = takeDoc()
    if (kw.t !== "word" || !["type", "method", "error"].includes(kw.v)) {
      fail(kw.at, `expected type, method or error, found ${JSON.stringify(kw.v)}`)
    }
    const name = next("a member name")
    if (!MEMBER_NAME.test(name.v)) fail(name.at, `invalid member name ${JSON.stringify(name.v)}`)
    if (seen.has(name.v)) fail(name.at, `${name.v} is defined twice`)
    seen.add(name.v)
    if (kw.v === "type") {
      const open = next("\"(\"")
      if (open.v !== "(") fail(open.at, `expected "(", found ${JSON.stringify(open.v)}`)
      types.set(name.v, { name: name.v, doc, type: parseStructOrEnumBody(open.at) })
    } else if (kw.v === "method") {
      const input = parseStruct()
      expect("->")
      const output = parseStruct()
      methods.set(name.v, { name: name.v, doc, input, output })
    } else {
      errors.set(name.v, { name: name.v, doc, parameters: parseStruct() })
    }
    docs = []
  }
  if (methods.size === 0) fail(src.length, "an interface needs at least one method")
  // every named type must be defined in this interface
  const check = (t: VarlinkType, at: string) => {
    switch (t.kind) {
      case "named":
        if (!types.has(t.name)) fail(src.indexOf(t.name), `${at} uses undefined type ${t.name}`)
        return
      case "array":
        return check(t.element, at)
      case "map":
        return check(t.value, at)
      case "optional":
        return check(t.inner, at)
      case "struct":
        return t.fields.forEach((f) => check(f.type, `${at}.${f.name}`))
      default:
        return
    }
  }
  types.forEach((t) => check(t.type, t.name))
  methods.forEach((m) => {
    check(m.input, m.name)
    check(m.output, m.name)
  })
  errors.forEach((e) => check(e.parameters, e.name))
  return { name: nameTok.v, doc: ifaceDoc, types, methods, errors }
}

/** One problem found by `checkValue`: a JSON path and why. */
export interface VarlinkValueIssue {
  readonly path: string
  readonly detail: string
}

/**
 * Checks a JSON value against a varlink type of `iface`. Missing struct fields are only allowed for
 * optional types; unknown fields are reported.
 */
export const checkValue = (iface: VarlinkInterface, type: VarlinkType, value: unknown, path = "$"): Array<VarlinkValueIssue> => {
  const issue = (detail: string) => [{ path, detail }]
  const isObj = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
  switch (type.kind) {
    case "optional":
      return value === undefined || value === null ? [] : checkValue(iface, type.inner, value, path)
    case "bool":
      return typeof value === "boolean" ? [] : issue("expected bool")
    case "int":
      return typeof value === "number" && Number.isInteger(value) ? [] : issue("expected int")
    case "float":
      return typeof value === "number" ? [] : issue("expected float")
    case "string":
      return typeof value === "string" ? [] : issue("expected string")
    case "object":
      return value === undefined ? issue("expected a value") : []
    case "array":
      return Array.isArray(value) ? value.flatMap((v, i) => checkValue(iface, type.element, v, `${path}[${i}]`)) : issue("expected array")
    case "map":
      return isObj(value)
        ? Object.entries(value).flatMap(([k, v]) => checkValue(iface, type.value, v, `${path}[${JSON.stringify(k)}]`))
        : issue("expected map (JSON object)")
    case "enum":
      return typeof value === "string" && type.values.includes(value) ? [] : issue(`expected one of ${type.values.join(", ")}`)
    case "named": {
      const alias = iface.types.get(type.name)
      return alias ? checkValue(iface, alias.type, value, path) : issue(`unknown type ${type.name}`)
    }
    case "struct": {
      if (!isObj(value)) return issue("expected struct (JSON object)")
      const known = new Set(type.fields.map((f) => f.name))
      return [
        ...type.fields.flatMap((f) =>
          value[f.name] === undefined && f.type.kind !== "optional"
            ? [{ path: `${path}.${f.name}`, detail: "missing" }]
            : checkValue(iface, f.type, value[f.name], `${path}.${f.name}`)
        ),
        ...Object.keys(value).filter((k) => !known.has(k)).map((k) => ({ path: `${path}.${k}`, detail: "unknown field" }))
      ]
    }
  }
}

/** Renders a type back in IDL syntax (for messages and docs). */
export const formatType = (t: VarlinkType): string => {
  switch (t.kind) {
    case "optional":
      return `?${formatType(t.inner)}`
    case "array":
      return `[]${formatType(t.element)}`
    case "map":
      return `[string]${formatType(t.value)}`
    case "named":
      return t.name
    case "enum":
      return `(${t.values.join(", ")})`
    case "struct":
      return `(${t.fields.map((f) => `${f.name}: ${formatType(f.type)}`).join(", ")})`
    default:
      return t.kind
  }
}
