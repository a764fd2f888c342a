/**
 * Input variables and local values of a job file, evaluated as Nomad's job parser (jobspec2) does:
 *
 * - `variable "name" { type, default, description, validation { condition, error_message } }`
 *   blocks and `variables { name = default }` blocks declare them;
 * - values come from the default, then `NOMAD_VAR_<name>` in the environment, then each
 *   `-var-file` in order, then each `-var name=value` in order (the last one wins);
 * - a value for a variable the job does not declare is an error (`nomad job run`'s strict mode,
 *   except `NOMAD_VAR_*`, which is ignored), and so is a declared variable without any value;
 * - a `-var` or `NOMAD_VAR_*` value is a string for `string`, `number` or untyped variables and an
 *   HCL expression otherwise (`-var 'ports=[80,443]'`); defaults and var-file values are literal
 *   values (no variables, no functions), then converted to the variable's type;
 * - `locals` may refer to variables, functions and each other in any order.
 *
 * Anything else at the top of a job refers to nothing: a reference to an unknown root
 * (`${NOMAD_TASK_NAME}`, `${attr.kernel.name}`) is kept as text for the Nomad client to interpolate.
 */
import { type Body, HclError, type Pos } from "./ast.ts"
import { evaluate, type Scope } from "./eval.ts"
import { jobFunctions, unsupportedFunctions } from "./functions.ts"
import { parseHclBody, parseHclExpression } from "./parse.ts"
import { convert, type Type, typeName, typeOf, type Value } from "./values.ts"

/** Where variable values come from besides the job file. */
export interface VariableSources {
  /** `-var name=value`, in order. */
  readonly args: ReadonlyArray<string>
  /** `-var-file` contents, in order. */
  readonly files: ReadonlyArray<{ readonly file: string; readonly text: string }>
  /** The environment (`NOMAD_VAR_<name>`). */
  readonly env: Readonly<Record<string, string | undefined>>
}

/** One problem with a variable, in the job file, a var file (`file`), or an argument (no position). */
export interface Problem {
  readonly file?: string
  readonly pos?: Pos
  readonly reason: string
}

/** The problems found (thrown by `jobScope`). */
export class Problems extends Error {
  override readonly name = "Problems"
  constructor(readonly problems: ReadonlyArray<Problem>) {
    super(problems.map((p) => p.reason).join("; "))
  }
}

interface Declared {
  readonly name: string
  readonly pos: Pos
  readonly type?: Type
  value?: Value
  /** A value was given but was wrong (already reported): not "unset" too. */
  failed?: boolean
  readonly validations: ReadonlyArray<{ readonly condition: Body["attributes"][number]; readonly message: string; readonly pos: Pos }>
}

const identifier = /^[\p{L}_][\p{L}\p{N}_-]*$/u

/** A scope with no variables and no functions: what defaults and var-file values are evaluated in. */
const literalScope = (what: string): Scope => ({
  variables: {},
  functions: {},
  describe: `${what} must be a literal value (no variables or functions)`
})

/** The scope a job's blocks are evaluated in: `var`, `local`, the job functions, unknown roots kept as text. */
export const jobScope = (file: string, body: Body, sources: VariableSources): Scope => {
  const problems: Array<Problem> = []
  const here = (pos: Pos | undefined, reason: string, inFile: string | null = file): void => {
    problems.push({ ...(inFile !== null ? { file: inFile } : {}), ...(pos ? { pos } : {}), reason })
  }
  const attempt = <A>(f: () => A, where: Pos, prefix: string, inFile = file): A | undefined => {
    try {
      return f()
    } catch (e) {
      if (e instanceof HclError) here(e.pos, `${prefix}${e.detail}`, inFile)
      else if (e instanceof TypeError) here(where, `${prefix}${e.message}`, inFile)
      else throw e
      return undefined
    }
  }

  // declarations
  const vars = new Map<string, Declared>()
  const declare = (d: Declared): void => {
    const prev = vars.get(d.name)
    if (prev) here(d.pos, `variable "${d.name}" is declared twice (first at line ${prev.pos.line})`)
    else if (!identifier.test(d.name)) here(d.pos, `invalid variable name "${d.name}": a name starts with a letter or underscore and has only letters, digits, underscores and dashes`)
    else vars.set(d.name, d)
  }
  for (const block of body.blocks) {
    if (block.type === "variable") {
      const name = block.labels[0] ?? ""
      if (block.labels.length !== 1) {
        here(block.pos, "a variable block takes one label, its name: variable \"name\" { … }")
        continue
      }
      const attrs = Object.fromEntries(block.body.attributes.map((a) => [a.name, a]))
      for (const a of block.body.attributes) {
        if (!["type", "default", "description"].includes(a.name)) here(a.pos, `variable "${name}": unknown attribute "${a.name}" (type, default, description)`)
      }
      const typeAttr = attrs["type"]
      const type = typeAttr ? attempt(() => typeOf(typeAttr.expr), typeAttr.pos, `variable "${name}": type: `) : undefined
      if (typeAttr && type === undefined) continue
      const d: Declared = {
        name,
        pos: block.pos,
        ...(type ? { type } : {}),
        validations: block.body.blocks.filter((b) => b.type === "validation").flatMap((b) => {
          const condition = b.body.attributes.find((a) => a.name === "condition")
          const msg = b.body.attributes.find((a) => a.name === "error_message")
          if (!condition || !msg) {
            here(b.pos, `variable "${name}": a validation block needs a condition and an error_message`)
            return []
          }
          const message = attempt(() => evaluate(msg.expr, literalScope("error_message")), msg.pos, `variable "${name}": error_message: `)
          return [{ condition, message: typeof message === "string" ? message : "invalid value", pos: b.pos }]
        })
      }
      const def = attrs["default"]
      if (def) {
        const v = attempt(() => evaluate(def.expr, literalScope("a default")), def.pos, `variable "${name}": default: `)
        const converted = v !== undefined && type ? attempt(() => convert(v, type), def.pos, `variable "${name}": the default is not a ${typeName(type)}: `) : v
        if (converted !== undefined) d.value = converted
        else d.failed = true
      }
      declare(d)
    } else if (block.type === "variables") {
      for (const a of block.body.attributes) {
        const v = attempt(() => evaluate(a.expr, literalScope("a variable's value")), a.pos, `variable "${a.name}": `)
        declare({ name: a.name, pos: a.pos, ...(v !== undefined ? { value: v } : {}), validations: [] })
      }
    }
  }

  /** A value given as text (`-var`, `NOMAD_VAR_*`): a string, or an expression for complex types. */
  const fromText = (d: Declared, text: string, origin: string): void => {
    const t = d.type
    const simple = t === undefined || t.k === "string" || t.k === "number" || t.k === "any"
    try {
      const raw = simple ? text : evaluate(parseHclExpression(text), literalScope(`the value of ${origin}`))
      d.value = t ? convert(raw, t) : raw
    } catch (e) {
      if (e instanceof HclError || e instanceof TypeError) {
        d.failed = true
        here(undefined, `${origin}: ${e instanceof HclError ? e.detail : e.message}${t ? ` (variable "${d.name}" is a ${typeName(t)})` : ""}`, null)
      } else throw e
    }
  }

  for (const [key, text] of Object.entries(sources.env)) {
    if (!key.startsWith("NOMAD_VAR_") || text === undefined) continue
    const d = vars.get(key.slice("NOMAD_VAR_".length))
    if (d) fromText(d, text, `the environment variable ${key}`)
  }
  for (const vf of sources.files) {
    const parsed = (() => {
      try {
        return parseHclBody(vf.text)
      } catch (e) {
        if (e instanceof HclError) here(e.pos, e.detail, vf.file)
        else throw e
        return undefined
      }
    })()
    if (!parsed) continue
    for (const b of parsed.blocks) {
      here(b.pos, b.type === "variable"
        ? `a var file assigns values; declare variable "${b.labels[0] ?? ""}" in the job file and write ${b.labels[0] ?? "name"} = <value> here`
        : `unexpected block "${b.type}" in a var file (only name = value lines)`, vf.file)
    }
    for (const a of parsed.attributes) {
      const d = vars.get(a.name)
      if (!d) {
        here(a.pos, `variable "${a.name}" is set but the job does not declare it`, vf.file)
        continue
      }
      const v = attempt(() => evaluate(a.expr, literalScope("a var file value")), a.pos, `variable "${a.name}": `, vf.file)
      const converted = v !== undefined && d.type ? attempt(() => convert(v, d.type!), a.pos, `variable "${a.name}" is a ${typeName(d.type)}: `, vf.file) : v
      if (converted !== undefined) d.value = converted
      else d.failed = true
    }
  }
  for (const arg of sources.args) {
    const eq = arg.indexOf("=")
    if (eq <= 0) {
      here(undefined, `-var ${JSON.stringify(arg)}: expected name=value`, null)
      continue
    }
    const name = arg.slice(0, eq)
    const d = vars.get(name)
    if (!d) {
      here(undefined, `-var ${name}: the job declares no variable "${name}"${vars.size > 0 ? ` (it declares ${[...vars.keys()].join(", ")})` : ""}`, null)
      continue
    }
    fromText(d, arg.slice(eq + 1), `-var ${name}`)
  }

  const values: Record<string, Value> = {}
  for (const d of vars.values()) {
    if (d.value === undefined) {
      if (d.failed) continue
      here(d.pos, `variable "${d.name}" has no value: give it a default, or set it with -var ${d.name}=…, a -var-file or NOMAD_VAR_${d.name}`)
      continue
    }
    values[d.name] = d.value
    for (const v of d.validations) {
      const ok = attempt(
        () => evaluate(v.condition.expr, { variables: { var: { [d.name]: d.value! } }, functions: jobFunctions }),
        v.condition.pos,
        `variable "${d.name}": validation: `
      )
      if (ok === false) here(d.pos, `variable "${d.name}": ${v.message}`)
    }
  }
  if (problems.length > 0) throw new Problems(problems)

  // locals: in any order, each evaluated once what it refers to is known
  const locals: Record<string, Value> = {}
  const scope: Scope = {
    variables: { var: values, local: locals },
    functions: jobFunctions,
    unsupported: unsupportedFunctions,
    convert: true,
    unknown: (source) => `\${${source}}`
  }
  let pending = body.blocks.filter((b) => b.type === "locals").flatMap((b) => b.body.attributes)
  const seen = new Map<string, Pos>()
  for (const a of pending) {
    const prev = seen.get(a.name)
    if (prev) here(a.pos, `local value "${a.name}" is defined twice (first at line ${prev.line})`)
    seen.set(a.name, a.pos)
  }
  if (problems.length > 0) throw new Problems(problems)
  while (pending.length > 0) {
    const failed: Array<{ a: (typeof pending)[number]; e: HclError }> = []
    for (const a of pending) {
      try {
        locals[a.name] = evaluate(a.expr, scope)
      } catch (e) {
        if (!(e instanceof HclError)) throw e
        failed.push({ a, e })
      }
    }
    if (failed.length === pending.length) {
      for (const { a, e } of failed) here(e.pos, `local.${a.name}: ${e.detail}`)
      throw new Problems(problems)
    }
    pending = failed.map((f) => f.a)
  }
  return scope
}
