/**
 * Nomad's hclspec (shared/hclspec/hcl_spec.proto) as a TS value. The config Schemas derive one
 * (src/domain/options/derive.ts); the NomadRpc layer encodes it to protobuf for ConfigSchema and
 * TaskConfigSchema. Field names follow the proto messages.
 */
export type HclSpec =
  | { readonly _tag: "Object"; readonly attributes: Readonly<Record<string, HclSpec>> }
  | { readonly _tag: "Array"; readonly values: ReadonlyArray<HclSpec> }
  | { readonly _tag: "Attr"; readonly name: string; readonly type: string; readonly required: boolean }
  | { readonly _tag: "Block"; readonly name: string; readonly required: boolean; readonly nested: HclSpec }
  | { readonly _tag: "BlockAttrs"; readonly name: string; readonly type: string; readonly required: boolean }
  | { readonly _tag: "BlockList"; readonly name: string; readonly minItems: number; readonly maxItems: number; readonly nested: HclSpec }
  | { readonly _tag: "BlockSet"; readonly name: string; readonly minItems: number; readonly maxItems: number; readonly nested: HclSpec }
  | { readonly _tag: "BlockMap"; readonly name: string; readonly labels: ReadonlyArray<string>; readonly nested: HclSpec }
  | { readonly _tag: "Default"; readonly primary: HclSpec; readonly default: HclSpec }
  /** `value` is HCL expression source: `false`, `10`, `"\"text\""`. */
  | { readonly _tag: "Literal"; readonly value: string }
