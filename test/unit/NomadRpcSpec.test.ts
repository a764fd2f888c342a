/**
 * The hclspecs we send in ConfigSchema / TaskConfigSchema, checked against what the Nomad client
 * accepts: exactly one oneof member per Spec, names where hcldec
 * needs them, type expressions in the grammar the client evaluates, no `any` under a BlockMap
 * (the agent panics), literals that evaluate.
 */
import { describe, expect, it } from "vitest"
import { hclSpecToProto } from "../../layers/nomad-rpc/codec.ts"
import { pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { Spec } from "../../proto/gen/plugins/shared/hclspec/hcl_spec.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"

/** Parses an HCL type expression; returns the rest of the input or throws. */
const parseType = (src: string): string => {
  const s = src.trimStart()
  const prim = /^(string|number|bool|any)\b/.exec(s)
  if (prim) return s.slice(prim[0].length)
  const coll = /^(list|set|map)\s*\(/.exec(s)
  if (coll) {
    const rest = parseType(s.slice(coll[0].length)).trimStart()
    if (!rest.startsWith(")")) throw new Error(`expected ) in ${src}`)
    return rest.slice(1)
  }
  const obj = /^object\s*\(\s*\{/.exec(s)
  if (obj) {
    let rest = s.slice(obj[0].length).trimStart()
    while (!rest.startsWith("}")) {
      const key = /^[A-Za-z_][A-Za-z0-9_-]*\s*=/.exec(rest)
      if (!key) throw new Error(`expected key = in ${src}`)
      rest = parseType(rest.slice(key[0].length)).trimStart()
      if (rest.startsWith(",")) rest = rest.slice(1).trimStart()
    }
    rest = rest.slice(1).trimStart()
    if (!rest.startsWith(")")) throw new Error(`expected ) in ${src}`)
    return rest.slice(1)
  }
  const tup = /^tuple\s*\(\s*\[/.exec(s)
  if (tup) {
    let rest = s.slice(tup[0].length).trimStart()
    while (!rest.startsWith("]")) {
      rest = parseType(rest).trimStart()
      if (rest.startsWith(",")) rest = rest.slice(1).trimStart()
    }
    rest = rest.slice(1).trimStart()
    if (!rest.startsWith(")")) throw new Error(`expected ) in ${src}`)
    return rest.slice(1)
  }
  throw new Error(`not a type expression: ${JSON.stringify(src)}`)
}

const validType = (t: string) => {
  expect(t, "type is required").not.toBe("")
  expect(parseType(t).trim(), `trailing text in ${t}`).toBe("")
}

const check = (spec: Spec, path: string, underBlockMap: boolean): void => {
  const set = Object.entries(spec).filter(([, v]) => v !== undefined)
  expect(set.length, `${path}: exactly one oneof member`).toBe(1)
  const [kind, v] = set[0]! as [string, any]
  switch (kind) {
    case "object":
      for (const [k, x] of Object.entries(v.attributes as Record<string, Spec>)) check(x, `${path}.${k}`, underBlockMap)
      return
    case "array":
      ;(v.values as Array<Spec>).forEach((x, i) => check(x, `${path}[${i}]`, underBlockMap))
      return
    case "Attr":
    case "blockAttrs":
      validType(v.type)
      if (underBlockMap) expect(v.type, `${path}: any under a BlockMap panics the agent`).not.toMatch(/\bany\b/)
      return
    case "blockValue":
    case "blockList":
    case "blockSet":
      expect(v.name, `${path}: block name`).not.toBe("")
      if (v.nested) check(v.nested, `${path}{}`, underBlockMap)
      return
    case "blockMap":
      expect(v.name, `${path}: block name`).not.toBe("")
      expect(v.labels.length, `${path}: at least one label`).toBeGreaterThan(0)
      if (v.nested) check(v.nested, `${path}{}`, true)
      return
    case "default":
      expect(v.primary, `${path}: default.primary`).toBeDefined()
      expect(v.default, `${path}: default.default`).toBeDefined()
      check(v.primary, `${path}<primary>`, underBlockMap)
      check(v.default, `${path}<default>`, underBlockMap)
      return
    case "literal":
      expect(v.value, `${path}: literal`).not.toBe("")
      return
    default:
      throw new Error(`${path}: unexpected ${kind}`)
  }
}

describe.each([
  ["plugin config (ConfigSchema)", pluginConfigSpec],
  ["task config (TaskConfigSchema)", taskConfigSpec]
])("%s", (_name, domainSpec) => {
  const wire = Spec.decode(Spec.encode(hclSpecToProto(domainSpec)).finish())

  it("is a non-null object spec that survives the wire", () => {
    expect(wire.object).toBeDefined()
    expect(Object.keys(wire.object!.attributes).length).toBeGreaterThan(0)
  })

  it("every Spec has exactly one member, names and types are valid, no any under a BlockMap", () => {
    check(wire, "config", false)
  })

  it("an empty config decodes as Nomad would (defaults and literals evaluate)", () => {
    const required = Object.entries(wire.object!.attributes)
      .filter(([, s]) => s.Attr?.required)
      .map(([k]) => k)
    const input = Object.fromEntries(required.map((k) => [k, "x"]))
    expect(() => decodeLikeNomad(domainSpec, input)).not.toThrow()
  })
})
