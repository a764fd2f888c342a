/**
 * A small stand-in for what the Nomad client does with a plugin's hclspec before it sends config
 * bytes (hcldec, then cty msgpack): takes JSON-like input (as the agent or jobspec produced it) and
 * the spec, and returns the value whose cty msgpack Nomad sends: every Object key present
 * (absent Attr/Block → null, absent BlockList/BlockSet → [], absent BlockMap → {}), Default and
 * Literal applied, unknown keys rejected. No type conversion: give values of the declared types.
 */
import type { HclSpec } from "../../../src/domain/hclspec.ts"

/** Evaluates the literal expressions specs use: JSON-compatible values and `{ key = value, ... }` objects. */
const literal = (src: string): unknown => {
  try {
    return JSON.parse(src)
  } catch {
    const json = src
      .replace(/([A-Za-z_][A-Za-z0-9_-]*)\s*=/g, "\"$1\":")
      .replace(/\n\s*(?=")/g, ",")
      .replace(/,\s*([}\]])/g, "$1")
    try {
      return JSON.parse(json)
    } catch {
      throw new Error(`cannot evaluate literal ${src}`)
    }
  }
}

/** A block given as an object or (HCL2/HCL1 style) a list of objects → list of bodies. */
const blocks = (v: unknown): Array<Record<string, unknown>> =>
  v === undefined || v === null ? [] : (Array.isArray(v) ? v : [v]) as Array<Record<string, unknown>>

const decodeBody = (spec: HclSpec, body: Record<string, unknown>, implied: string): unknown => {
  switch (spec._tag) {
    case "Object": {
      const known = new Set<string>()
      const collect = (s: HclSpec, key: string) => {
        if (s._tag === "Default") return collect(s.primary, key)
        if ("name" in s) known.add(s.name || key)
        else if (s._tag === "Object") for (const [k, x] of Object.entries(s.attributes)) collect(x, k)
      }
      for (const [k, s] of Object.entries(spec.attributes)) collect(s, k)
      for (const k of Object.keys(body)) {
        if (!known.has(k)) throw new Error(`Unsupported argument; An argument named "${k}" is not expected here.`)
      }
      return Object.fromEntries(Object.entries(spec.attributes).map(([k, s]) => [k, decodeBody(s, body, k)]))
    }
    case "Array":
      return spec.values.map((s, i) => decodeBody(s, body, String(i)))
    case "Attr": {
      const v = body[spec.name || implied]
      if ((v === undefined || v === null) && spec.required) throw new Error(`Missing required argument "${spec.name || implied}"`)
      return v ?? null
    }
    case "Block": {
      const bs = blocks(body[spec.name || implied])
      if (bs.length === 0) {
        if (spec.required) throw new Error(`Missing ${spec.name} block`)
        return null
      }
      return decodeBody(spec.nested, bs[0]!, spec.name)
    }
    case "BlockAttrs": {
      const bs = blocks(body[spec.name || implied])
      return bs.length === 0 ? null : { ...bs[0] }
    }
    case "BlockList":
    case "BlockSet":
      return blocks(body[spec.name || implied]).map((b) => decodeBody(spec.nested, b, spec.name))
    case "BlockMap": {
      const v = body[spec.name || implied] as Record<string, unknown> | undefined
      if (v === undefined || v === null) return {}
      const level = (x: Record<string, unknown>, depth: number): unknown =>
        depth === spec.labels.length
          ? decodeBody(spec.nested, x, spec.name)
          : Object.fromEntries(Object.entries(x).map(([k, y]) => [k, level(y as Record<string, unknown>, depth + 1)]))
      return level(v, 0)
    }
    case "Default": {
      const p = decodeBody(spec.primary, body, implied)
      return p === null || p === undefined ? decodeBody(spec.default, body, implied) : p
    }
    case "Literal":
      return literal(spec.value)
  }
}

/** The value Nomad would msgpack-encode for `input` under `spec`. Throws like hcldec on bad input. */
export const decodeLikeNomad = (spec: HclSpec, input: Record<string, unknown>): unknown => decodeBody(spec, input, "")
