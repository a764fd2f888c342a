/**
 * Evaluation of HCL expressions (./ast.ts) to values (./values.ts), with the semantics of HCL's
 * native syntax: operators, conditionals, templates (a template that is one interpolation gives
 * the value itself), `for` expressions, splats, function calls, and variables looked up in a scope.
 *
 * A scope may answer for names it does not define (`unknown`): Nomad's job parser keeps
 * `${NOMAD_TASK_NAME}` or `${attr.kernel.name}` as text for the client to interpolate later.
 * Every failure is an `HclError` at the position of the expression at fault.
 */
import { type Expr, HclError, type Pos, type Step, type TemplatePart } from "./ast.ts"
import { closest as closestName } from "../../domain/options/raw.ts"
import { convert, equal, isList, isObject, kindOf, primitiveText, typeOf, type Value, type ValueObject } from "./values.ts"

/** A function callable from expressions. Throws `TypeError` with the reason on bad arguments. */
export type HclFunction = (args: ReadonlyArray<Value>) => Value

export interface Scope {
  readonly variables: Readonly<Record<string, Value>>
  readonly functions: Readonly<Record<string, HclFunction>>
  /** Functions Nomad has that this evaluator does not: named in the error instead of "unknown". */
  readonly unsupported?: ReadonlySet<string>
  /** The value of a reference to an undefined root (its source text given), or undefined = error. */
  readonly unknown?: (source: string) => Value | undefined
  /** Whether `convert(value, type)` is available (job files: yes; client interpolation: no). */
  readonly convert?: boolean
  /** What the scope's variables are, for "unknown variable" messages. */
  readonly describe?: string
}

const fail = (pos: Pos, detail: string): never => {
  throw new HclError(pos, detail)
}

const child = (scope: Scope, vars: Record<string, Value>): Scope => ({ ...scope, variables: { ...scope.variables, ...vars } })

/** Evaluates an expression. */
export const evaluate = (e: Expr, scope: Scope): Value => {
  switch (e.k) {
    case "literal":
      return e.value
    case "paren":
      return evaluate(e.expr, scope)
    case "template":
      return template(e.parts, scope, e.pos)
    case "tuple":
      return e.items.map((x) => evaluate(x, scope))
    case "object": {
      const out: Record<string, Value> = {}
      for (const item of e.items) {
        const key = primitiveText(evaluate(item.key, scope))
        if (key === undefined) fail(item.pos, "an object key must be a string")
        out[key!] = evaluate(item.value, scope)
      }
      return out
    }
    case "scope": {
      if (!Object.hasOwn(scope.variables, e.root)) {
        const answer = scope.unknown?.(e.source)
        if (answer !== undefined) return answer
        const hint = closestName(e.root, Object.keys(scope.variables))
        return fail(e.pos, `unknown variable "${e.root}"${hint ? ` (did you mean "${hint}"?)` : ""}${scope.describe ? `; ${scope.describe}` : ""}`)
      }
      let v: Value = scope.variables[e.root]!
      let path = e.root
      for (const step of e.steps) {
        v = traverse(v, step, scope, path)
        path = step.k === "attr" ? `${path}.${step.name}` : `${path}[…]`
      }
      return v
    }
    case "traverse":
      return traverse(evaluate(e.target, scope), e.step, scope, "the value")
    case "splat": {
      const target = evaluate(e.target, scope)
      const items = target === null ? [] : isList(target) ? target : [target]
      return items.map((item) => e.each.reduce<Value>((v, step) => traverse(v, step, scope, "the element"), item))
    }
    case "call":
      return call(e, scope)
    case "unary": {
      const v = evaluate(e.operand, scope)
      if (e.op === "!") return !bool(v, e.operand.pos)
      return -number(v, e.operand.pos)
    }
    case "binary":
      return binary(e.op, e.left, e.right, scope, e.pos)
    case "conditional":
      return bool(evaluate(e.cond, scope), e.cond.pos) ? evaluate(e.then, scope) : evaluate(e.else, scope)
    case "for":
      return forExpr(e, scope)
  }
}

const traverse = (v: Value, step: Step, scope: Scope, what: string): Value => {
  if (step.k === "attr") {
    if (isObject(v)) {
      if (Object.hasOwn(v, step.name)) return v[step.name]!
      const hint = closestName(step.name, Object.keys(v))
      const known = what === "var" ? "no variable" : what === "local" ? "no local value" : "no attribute"
      return fail(step.pos, `${what} has ${known} named "${step.name}"${hint ? ` (did you mean "${hint}"?)` : ""}`)
    }
    return fail(step.pos, `cannot read attribute "${step.name}" of a ${kindOf(v)}`)
  }
  const key = evaluate(step.key, scope)
  if (isList(v)) {
    const i = typeof key === "number" ? key : typeof key === "string" && /^\d+$/.test(key) ? Number(key) : NaN
    if (!Number.isInteger(i)) return fail(step.pos, `a list index must be a whole number, got ${kindOf(key)}`)
    if (i < 0 || i >= v.length) return fail(step.pos, `index ${i} is out of range (the list has ${v.length} elements)`)
    return v[i]!
  }
  if (isObject(v)) {
    const k = primitiveText(key)
    if (k === undefined) return fail(step.pos, "a map key must be a string")
    if (!Object.hasOwn(v, k!)) return fail(step.pos, `${what} has no element "${k}"`)
    return v[k!]!
  }
  return fail(step.pos, `cannot index a ${kindOf(v)}`)
}

const bool = (v: Value, pos: Pos): boolean => {
  if (typeof v === "boolean") return v
  if (v === "true" || v === "false") return v === "true"
  return fail(pos, `a bool is required, got ${kindOf(v)}`)
}

const number = (v: Value, pos: Pos): number => {
  if (typeof v === "number") return v
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v)
  return fail(pos, `a number is required, got ${typeof v === "string" ? JSON.stringify(v) : kindOf(v)}`)
}

const binary = (op: string, l: Expr, r: Expr, scope: Scope, pos: Pos): Value => {
  if (op === "&&") return bool(evaluate(l, scope), l.pos) && bool(evaluate(r, scope), r.pos)
  if (op === "||") return bool(evaluate(l, scope), l.pos) || bool(evaluate(r, scope), r.pos)
  const a = evaluate(l, scope)
  const b = evaluate(r, scope)
  switch (op) {
    case "==":
      return equal(a, b)
    case "!=":
      return !equal(a, b)
  }
  const x = number(a, l.pos)
  const y = number(b, r.pos)
  switch (op) {
    case "+":
      return x + y
    case "-":
      return x - y
    case "*":
      return x * y
    case "/":
      return y === 0 ? fail(pos, "division by zero") : x / y
    case "%":
      return y === 0 ? fail(pos, "division by zero") : x % y
    case "<":
      return x < y
    case ">":
      return x > y
    case "<=":
      return x <= y
    case ">=":
      return x >= y
  }
  return fail(pos, `unknown operator ${op}`)
}

/** The text of a template, or the value itself when it is one interpolation alone. */
const template = (parts: ReadonlyArray<TemplatePart>, scope: Scope, pos: Pos): Value => {
  const only = parts[0]
  if (parts.length === 1 && only!.k === "interp") return evaluate(only!.expr, scope)
  return render(parts, scope, pos)
}

const render = (parts: ReadonlyArray<TemplatePart>, scope: Scope, pos: Pos): string =>
  parts.map((p) => {
    switch (p.k) {
      case "text":
        return p.text
      case "interp": {
        const v = evaluate(p.expr, scope)
        if (v === null) return fail(p.expr.pos, "a template cannot include a null value")
        const s = primitiveText(v)
        return s ?? fail(p.expr.pos, `a template cannot include a ${kindOf(v)} (use join() or jsonencode())`)
      }
      case "if":
        return render(bool(evaluate(p.cond, scope), p.cond.pos) ? p.then : p.else, scope, pos)
      case "for":
        return entries(evaluate(p.coll, scope), p.coll.pos).map(([k, v]) =>
          render(p.body, child(scope, { [p.valVar]: v, ...(p.keyVar !== undefined ? { [p.keyVar]: k } : {}) }), pos)
        ).join("")
    }
  }).join("")

/** (key, value) pairs of a list (index keys) or an object (sorted keys, as HCL iterates maps). */
const entries = (v: Value, pos: Pos): ReadonlyArray<readonly [Value, Value]> => {
  if (isList(v)) return v.map((x, i) => [i, x] as const)
  if (isObject(v)) return Object.keys(v).sort().map((k) => [k, (v as ValueObject)[k]!] as const)
  return fail(pos, `a for expression needs a list or an object, got ${kindOf(v)}`)
}

const forExpr = (e: Extract<Expr, { k: "for" }>, scope: Scope): Value => {
  const items = entries(evaluate(e.coll, scope), e.coll.pos)
  const scopes = items.map(([k, v]) => child(scope, { [e.valVar]: v, ...(e.keyVar !== undefined ? { [e.keyVar]: k } : {}) }))
  const kept = scopes.filter((s) => e.cond === undefined || bool(evaluate(e.cond, s), e.cond.pos))
  if (e.keyExpr === undefined) return kept.map((s) => evaluate(e.valExpr, s))
  const out: Record<string, Value> = {}
  const groups: Record<string, Array<Value>> = {}
  for (const s of kept) {
    const key = primitiveText(evaluate(e.keyExpr, s))
    if (key === undefined) return fail(e.keyExpr.pos, "a for expression's key must be a string")
    const value = evaluate(e.valExpr, s)
    if (e.group) (groups[key!] ??= []).push(value)
    else if (Object.hasOwn(out, key!)) return fail(e.keyExpr.pos, `duplicate key "${key}" (use "..." after the value to group them)`)
    else out[key!] = value
  }
  return e.group ? groups : out
}

const call = (e: Extract<Expr, { k: "call" }>, scope: Scope): Value => {
  // try() and can() see their arguments' failures, so they are evaluated lazily here
  if (e.name === "try" || e.name === "can") {
    if (e.name === "can" && e.args.length !== 1) return fail(e.pos, "can() takes one argument")
    if (e.args.length === 0) return fail(e.pos, "try() needs at least one argument")
    for (const arg of e.args) {
      try {
        const v = evaluate(arg, scope)
        return e.name === "can" ? true : v
      } catch (err) {
        if (!(err instanceof HclError)) throw err
      }
    }
    return e.name === "can" ? false : fail(e.pos, "no argument of try() could be evaluated")
  }
  if (e.name === "convert" && scope.convert === true && e.args.length === 2) {
    // convert(value, list(string)): the second argument is a type, not a value
    const value = evaluate(e.args[0]!, scope)
    try {
      return convert(value, typeOf(e.args[1]!))
    } catch (err) {
      if (err instanceof TypeError) return fail(e.pos, `convert(): ${err.message}`)
      throw err
    }
  }
  const f = scope.functions[e.name]
  if (f === undefined) {
    if (scope.unsupported?.has(e.name)) return fail(e.pos, `function ${e.name}() is not supported by this CLI (Nomad has it; the job will work there)`)
    const hint = closestName(e.name, Object.keys(scope.functions))
    return fail(e.pos, `unknown function ${e.name}()${hint ? ` (did you mean ${hint}()?)` : ""}`)
  }
  let args = e.args.map((a) => evaluate(a, scope))
  if (e.expand) {
    const last = args[args.length - 1]
    if (!isList(last ?? null)) return fail(e.args[e.args.length - 1]!.pos, "the expanded argument (...) must be a list")
    args = [...args.slice(0, -1), ...(last as ReadonlyArray<Value>)]
  }
  try {
    return f(args)
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return fail(e.pos, `${e.name}(): ${err.message}`)
    throw err
  }
}
