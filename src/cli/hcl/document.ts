/**
 * An evaluated HCL file in the JSON shape HCL-JSON and hcl2json use (a block is a list of bodies
 * under its type, labelled blocks nest by label: `job.<name>[i].group.<name>[i]...`), with the
 * position of every attribute, block and literal list/object element.
 *
 * Every attribute is evaluated, but a failure stays where it happened (an `EvalFailure` leaf): it
 * is reported only if the CLI reads that value. An unsupported function in a part of the job the
 * driver never sees (a `template` block, a service check) does not fail the podman task.
 */
import { type Body, type Expr, HclError, type Pos } from "./ast.ts"
import { evaluate, type Scope } from "./eval.ts"
import type { Value } from "./values.ts"

/** An attribute whose evaluation failed, kept in place of its value. */
export class EvalFailure {
  constructor(readonly error: HclError) {}
}

/** A node of the evaluated tree. */
export type Node = Value | EvalFailure | { readonly [k: string]: Node } | ReadonlyArray<Node>

export interface Document {
  readonly tree: { readonly [k: string]: Node }
  /**
   * Positions by path: `job.web.group.g.task.t.config.ports[1]`. A block's index is written only
   * from its second instance on (`socket[1]`), the way config issues name fields.
   */
  readonly positions: ReadonlyMap<string, Pos>
}

const join = (prefix: string, name: string): string => (prefix === "" ? name : `${prefix}.${name}`)

/** Records the positions of a literal list's or object's elements. */
const recordElements = (e: Expr, path: string, positions: Map<string, Pos>): void => {
  if (e.k === "tuple") {
    e.items.forEach((item, i) => {
      positions.set(`${path}[${i}]`, item.pos)
      recordElements(item, `${path}[${i}]`, positions)
    })
  } else if (e.k === "object") {
    for (const item of e.items) {
      if (item.key.k === "literal" && typeof item.key.value === "string") {
        positions.set(join(path, item.key.value), item.pos)
        recordElements(item.value, join(path, item.key.value), positions)
      } else if (item.key.k === "template" && item.key.parts.every((p) => p.k === "text")) {
        const key = item.key.parts.map((p) => (p.k === "text" ? p.text : "")).join("")
        positions.set(join(path, key), item.pos)
        recordElements(item.value, join(path, key), positions)
      }
    }
  }
}

/**
 * Evaluates a body. `skip` names top-level block types that are not part of the result
 * (`variable`, `locals`: they were evaluated into the scope already).
 */
export const evaluateDocument = (body: Body, scope: Scope, skip: ReadonlySet<string> = new Set()): Document => {
  const positions = new Map<string, Pos>()
  const convert = (b: Body, prefix: string): Record<string, Node> => {
    const out: Record<string, Node> = {}
    for (const a of b.attributes) {
      const path = join(prefix, a.name)
      positions.set(path, a.pos)
      recordElements(a.expr, path, positions)
      try {
        out[a.name] = evaluate(a.expr, scope)
      } catch (e) {
        if (!(e instanceof HclError)) throw e
        out[a.name] = new EvalFailure(e)
      }
    }
    const counts = new Map<string, number>()
    for (const block of b.blocks) {
      if (prefix === "" && skip.has(block.type)) continue
      if (block.type === "dynamic") {
        out["dynamic"] = new EvalFailure(new HclError(block.pos, `dynamic "${block.labels[0] ?? ""}" blocks are not supported by this CLI (Nomad expands them; write the blocks out to check them here)`))
        continue
      }
      const key = [block.type, ...block.labels].join("\u0000")
      const n = counts.get(key) ?? 0
      counts.set(key, n + 1)
      const path = `${[block.type, ...block.labels].reduce((p, s) => join(p, s), prefix)}${n === 0 ? "" : `[${n}]`}`
      positions.set(path, block.pos)
      // nest by type, then by each label, then a list of bodies
      let holder: Record<string, Node> = out
      let slot = block.type
      for (const label of block.labels) {
        const next = holder[slot]
        const obj = typeof next === "object" && next !== null && !Array.isArray(next) && !(next instanceof EvalFailure)
          ? next as Record<string, Node>
          : {}
        holder[slot] = obj
        holder = obj
        slot = label
      }
      const list = Array.isArray(holder[slot]) ? [...holder[slot] as ReadonlyArray<Node>] : []
      list.push(convert(block.body, path))
      holder[slot] = list
    }
    return out
  }
  return { tree: convert(body, ""), positions }
}

/** The first evaluation failure inside a node (depth first), if any. */
export const firstFailure = (n: Node): EvalFailure | undefined => {
  if (n instanceof EvalFailure) return n
  if (Array.isArray(n)) {
    for (const x of n) {
      const f = firstFailure(x)
      if (f) return f
    }
  } else if (typeof n === "object" && n !== null) {
    for (const x of Object.values(n as Record<string, Node>)) {
      const f = firstFailure(x)
      if (f) return f
    }
  }
  return undefined
}

/** Every evaluation failure inside a node, with its path below it. */
export const failures = (n: Node, path = ""): Array<{ readonly path: string; readonly failure: EvalFailure }> => {
  if (n instanceof EvalFailure) return [{ path, failure: n }]
  if (Array.isArray(n)) return n.flatMap((x, i) => failures(x, `${path}[${i}]`))
  if (typeof n === "object" && n !== null) {
    return Object.entries(n as Record<string, Node>).flatMap(([k, x]) => failures(x, join(path, k)))
  }
  return []
}
