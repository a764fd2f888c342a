/**
 * What derives from the option declarations besides the decoder: the hclspec Nomad receives
 * (`ConfigSchema` / `TaskConfigSchema`), shaped like the Go driver's so the same job files work
 * (maps are declared `list(map(T))` so that both `labels { a = "b" }` and `labels = { a = "b" }`
 * parse), and the markdown option tables of the README.
 */
import type { HclSpec } from "../hclspec.ts"
import type { Fields, Opt } from "./declare.ts"

type AnyOpt = Opt<unknown, unknown, boolean>

// ---------------------------------------------------------------------------------------------
// hclspec
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
  for (const [key, opt] of Object.entries(fields) as Array<[string, AnyOpt]>) {
    if (opt.shape._tag === "Block" && opt.shape.defaultWhenAbsent) out[key] = bodyDefaults(opt.shape.fields)
    else if (opt.defaultInput !== undefined && opt.shape._tag === "Attr" && opt.shape.type !== "list(string)") {
      out[key] = opt.defaultInput
    } else if (opt.shape._tag === "BlockAttrs") out[key] = {}
  }
  return out
}

const optSpec = (name: string, opt: AnyOpt): HclSpec => {
  const shape = opt.shape
  switch (shape._tag) {
    case "Attr": {
      const attr: HclSpec = { _tag: "Attr", name, type: shape.type, required: opt.required }
      const scalarDefault = opt.defaultInput !== undefined && shape.type !== "list(string)" && shape.type !== "any"
      return scalarDefault ? { _tag: "Default", primary: attr, default: { _tag: "Literal", value: hclLiteral(opt.defaultInput) } } : attr
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
  attributes: Object.fromEntries((Object.entries(fields) as Array<[string, AnyOpt]>).map(([k, opt]) => [k, optSpec(k, opt)]))
})

// ---------------------------------------------------------------------------------------------
// Markdown tables
// ---------------------------------------------------------------------------------------------

const typeDoc = (opt: AnyOpt): string => {
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

const defaultDoc = (opt: AnyOpt): string => {
  if (opt.defaultDoc !== undefined) return opt.defaultDoc
  if (opt.required) return "required"
  if (opt.shape._tag === "Block") return opt.shape.defaultWhenAbsent ? "see fields" : "unset"
  if (opt.defaultInput === undefined) return "unset"
  return "`" + JSON.stringify(opt.defaultInput) + "`"
}

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ")

const tableRows = (fields: Fields, prefix: string): Array<string> =>
  (Object.entries(fields) as Array<[string, AnyOpt]>).flatMap(([key, opt]) => {
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
