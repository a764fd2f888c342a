/**
 * A parser of HCL's native syntax (the `.hcl` job and agent files), producing the positioned tree
 * of ./ast.ts. The CLI first runs HashiCorp's own parser on a file (@cdktf/hcl2json, see
 * ../jobfile.ts), so syntax errors are HCL's; this parser exists because that one returns neither
 * positions nor the expressions' structure, and the CLI needs both: to evaluate variables, locals
 * and functions as Nomad's job parser does, and to report a field's problem at `file:line:col`.
 *
 * It follows the HCL native syntax specification: bodies of attributes and labelled blocks;
 * expressions with HCL's operator precedence, conditionals, function calls (with `...`), tuple and
 * object constructors, `for` expressions, splats, indexes and attribute access; `#`, `//` and
 * `/* … *\/` comments (./scanner.ts). Quoted templates and heredocs are parsed by ./template.ts.
 */
import type { Attribute, Block, Body, Expr, Pos, Step } from "./ast.ts"
import { isDigit, isIdPart, isIdStart } from "./scanner.ts"
import { TemplateParser } from "./template.ts"

/** Parses a whole file (or a `-var-file`) into its body. */
export const parseHclBody = (text: string): Body => {
  return new Parser(text).body(true)
}

/** Parses one expression (a `-var` value of a complex type). */
export const parseHclExpression = (text: string): Expr => {
  const p = new Parser(text)
  p.nesting = 1
  const e = p.expr()
  p.skip()
  if (!p.atEnd()) throw p.error(`unexpected ${p.describeHere()} after the expression`)
  return e
}

/** Parses a string as a bare template (Nomad's interpolation of `${…}` in task config values). */
export const parseTemplate = (text: string): Expr => {
  const p = new Parser(text)
  const pos = p.pos()
  const { parts } = p.templateParts({ quoted: false, end: text.length, flush: 0 }, [])
  return { k: "template", parts, pos }
}
class Parser extends TemplateParser {
  body(top: boolean): Body {
    const attributes: Array<Attribute> = []
    const blocks: Array<Block> = []
    const seen = new Map<string, Pos>()
    const saved = this.nesting
    this.nesting = 0
    for (;;) {
      this.skip(true)
      if (this.atEnd()) {
        if (!top) throw this.error("missing \"}\" to close a block")
        break
      }
      if (this.peek() === "}") {
        if (top) throw this.error("unexpected \"}\"")
        break
      }
      const pos = this.pos()
      const name = this.ident()
      this.skip(false)
      if (this.peek() === "=" && this.peek(1) !== "=") {
        this.advance()
        const expr = this.expr()
        const prev = seen.get(name)
        if (prev !== undefined) throw this.error(`attribute "${name}" is defined twice (first at line ${prev.line})`, pos)
        seen.set(name, pos)
        attributes.push({ name, pos, expr })
      } else {
        const labels: Array<string> = []
        for (;;) {
          this.skip(false)
          if (this.peek() === "\"") labels.push(this.labelString())
          else if (isIdStart(this.peek())) labels.push(this.ident())
          else break
        }
        if (this.peek() !== "{") {
          throw this.error(`expected "=" or a block after "${name}", found ${this.describeHere()}`)
        }
        this.advance()
        const body = this.body(false)
        this.advance() // "}"
        blocks.push({ type: name, labels, pos, body })
      }
      this.skip(false)
      if (!this.atEnd() && this.peek() !== "\n" && this.peek() !== "}") {
        throw this.error(`expected a newline after "${name}", found ${this.describeHere()}`)
      }
    }
    this.nesting = saved
    return { attributes, blocks }
  }

  labelString(): string {
    const e = this.quoted()
    if (e.k !== "template" || e.parts.some((p) => p.k !== "text")) throw this.error("a block label cannot contain interpolations", e.pos)
    return e.parts.map((p) => (p.k === "text" ? p.text : "")).join("")
  }

  // ---- expressions -----------------------------------------------------------------------------

  expr(): Expr {
    this.skip()
    const pos = this.pos()
    const cond = this.binary(0)
    this.skip()
    if (this.peek() === "?") {
      this.advance()
      const then = this.expr()
      this.expect(":")
      const otherwise = this.expr()
      return { k: "conditional", cond, then, else: otherwise, pos }
    }
    return cond
  }

  static readonly levels: ReadonlyArray<ReadonlyArray<string>> = [
    ["||"],
    ["&&"],
    ["==", "!="],
    ["<=", ">=", "<", ">"],
    ["+", "-"],
    ["*", "/", "%"]
  ]

  binary(level: number): Expr {
    if (level >= Parser.levels.length) return this.unary()
    let left = this.binary(level + 1)
    for (;;) {
      this.skip()
      const op = Parser.levels[level]!.find((o) => this.startsWith(o))
      // `=>` (for expressions) and `<<` (heredocs) are not comparisons
      if (op === undefined || this.startsWith("=>")) return left
      const pos = this.pos()
      this.advance(op.length)
      const right = this.binary(level + 1)
      left = { k: "binary", op, left, right, pos }
    }
  }

  unary(): Expr {
    this.skip()
    const c = this.peek()
    if (c === "-" || c === "!") {
      const pos = this.pos()
      this.advance()
      const operand = this.unary()
      if (c === "-" && operand.k === "literal" && typeof operand.value === "number") return { ...operand, value: -operand.value, pos }
      return { k: "unary", op: c, operand, pos }
    }
    return this.postfix(this.primary())
  }

  postfix(target: Expr): Expr {
    let e = target
    for (;;) {
      // No blank skipping before a step: `a .b` is not HCL, and a newline ends the expression.
      const pos = this.pos()
      if (this.startsWith(".*") || this.startsWith("[*]")) {
        this.advance(this.peek() === "." ? 2 : 3)
        const each: Array<Step> = []
        for (;;) {
          const step = this.step()
          if (step === undefined) break
          each.push(step)
        }
        e = { k: "splat", target: e, each, pos }
        continue
      }
      const step = this.step()
      if (step === undefined) return e
      e = e.k === "scope" && (step.k === "attr" || isStaticKey(step.key))
        ? { ...e, steps: [...e.steps, step], source: this.src.slice(e.pos.offset, this.i) }
        : { k: "traverse", target: e, step, pos }
    }
  }

  /** `.name`, `.0` or `[expr]`, or nothing. */
  step(): Step | undefined {
    let pos = this.pos()
    if (this.startsWith("...")) return undefined
    if (this.peek() === "." && this.peek(1) !== "*") {
      this.advance()
      pos = this.pos()
      if (isDigit(this.peek())) {
        const start = this.i
        while (isDigit(this.peek())) this.advance()
        return { k: "index", key: { k: "literal", value: Number(this.src.slice(start, this.i)), pos }, pos }
      }
      return { k: "attr", name: this.ident(), pos }
    }
    if (this.peek() === "[" && this.peek(1) !== "*") {
      this.advance()
      this.nesting++
      const key = this.expr()
      this.expect("]")
      this.nesting--
      return { k: "index", key, pos }
    }
    return undefined
  }

  primary(): Expr {
    this.skip()
    const pos = this.pos()
    const c = this.peek()
    if (c === undefined) throw this.error("expected an expression, found end of file")
    if (isDigit(c)) return this.number()
    if (c === "\"") return this.quoted()
    if (this.startsWith("<<")) return this.heredoc()
    if (c === "(") {
      this.advance()
      this.nesting++
      const expr = this.expr()
      this.expect(")")
      this.nesting--
      return { k: "paren", expr, pos }
    }
    if (c === "[") return this.tuple()
    if (c === "{") return this.object()
    if (isIdStart(c)) {
      const name = this.ident()
      if (name === "true" || name === "false") return { k: "literal", value: name === "true", pos }
      if (name === "null") return { k: "literal", value: null, pos }
      const save = { i: this.i, line: this.line, col: this.col }
      this.skip(false)
      if (this.peek() === "(") return this.call(name, pos)
      if (this.startsWith("::")) throw this.error(`provider functions (${name}::…) are not supported`, pos)
      Object.assign(this, save)
      return { k: "scope", root: name, steps: [], source: name, pos }
    }
    throw this.error(`expected an expression, found ${this.describeHere()}`)
  }

  number(): Expr {
    const pos = this.pos()
    const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.i))!
    this.advance(m[0].length)
    return { k: "literal", value: Number(m[0]), pos }
  }

  call(name: string, pos: Pos): Expr {
    this.advance() // (
    this.nesting++
    const args: Array<Expr> = []
    let expand = false
    for (;;) {
      this.skip()
      if (this.peek() === ")") break
      args.push(this.expr())
      this.skip()
      if (this.startsWith("...")) {
        this.advance(3)
        expand = true
        this.skip()
        if (this.peek() !== ")") throw this.error("the expanded argument (...) must be the last one")
        break
      }
      if (this.peek() === ",") this.advance()
      else if (this.peek() !== ")") throw this.error(`expected "," or ")" in the arguments of ${name}(), found ${this.describeHere()}`)
    }
    this.expect(")")
    this.nesting--
    return { k: "call", name, args, expand, pos }
  }

  /** After `[` or `{`: is this a `for` expression? */
  atFor(): boolean {
    this.skip()
    return this.startsWith("for") && /\s/.test(this.peek(3) ?? "")
  }

  tuple(): Expr {
    const pos = this.pos()
    this.advance()
    this.nesting++
    if (this.atFor()) return this.forExpr(pos, "]")
    const items: Array<Expr> = []
    for (;;) {
      this.skip()
      if (this.peek() === "]") break
      items.push(this.expr())
      this.skip()
      if (this.peek() === ",") this.advance()
      else if (this.peek() !== "]") throw this.error(`expected "," or "]" in a list, found ${this.describeHere()}`)
    }
    this.advance()
    this.nesting--
    return { k: "tuple", items, pos }
  }

  object(): Expr {
    const pos = this.pos()
    this.advance()
    this.nesting++
    if (this.atFor()) return this.forExpr(pos, "}")
    const items: Array<{ key: Expr; value: Expr; pos: Pos }> = []
    for (;;) {
      this.skip()
      if (this.peek() === "}") break
      const itemPos = this.pos()
      let key = this.expr()
      // a bare name as a key is the name itself, not a variable
      if (key.k === "scope" && key.steps.length === 0) key = { k: "literal", value: key.root, pos: key.pos }
      this.skip()
      if ((this.peek() === "=" && this.peek(1) !== "=") || this.peek() === ":") this.advance()
      else throw this.error(`expected "=" after an object key, found ${this.describeHere()}`)
      const value = this.expr()
      items.push({ key, value, pos: itemPos })
      this.skip()
      if (this.peek() === ",") this.advance()
    }
    this.advance()
    this.nesting--
    return { k: "object", items, pos }
  }

  forExpr(pos: Pos, close: "]" | "}"): Expr {
    this.advance(3)
    this.skip()
    let keyVar: string | undefined
    let valVar = this.ident()
    this.skip()
    if (this.peek() === ",") {
      this.advance()
      this.skip()
      keyVar = valVar
      valVar = this.ident()
    }
    this.skip()
    if (!this.startsWith("in") || isIdPart(this.peek(2))) throw this.error(`expected "in" in a for expression, found ${this.describeHere()}`)
    this.advance(2)
    const coll = this.expr()
    this.expect(":")
    let keyExpr: Expr | undefined
    let valExpr = this.expr()
    if (close === "}") {
      this.expect("=>")
      keyExpr = valExpr
      valExpr = this.expr()
    }
    this.skip()
    let group = false
    if (this.startsWith("...")) {
      this.advance(3)
      group = true
    }
    this.skip()
    let cond: Expr | undefined
    if (this.startsWith("if") && !isIdPart(this.peek(2))) {
      this.advance(2)
      cond = this.expr()
    }
    this.expect(close)
    this.nesting--
    return {
      k: "for",
      ...(keyVar !== undefined ? { keyVar } : {}),
      valVar,
      coll,
      ...(keyExpr !== undefined ? { keyExpr } : {}),
      valExpr,
      ...(cond !== undefined ? { cond } : {}),
      group,
      pos
    }
  }

}


const isStaticKey = (e: Expr): boolean => e.k === "literal" || (e.k === "template" && e.parts.every((p) => p.k === "text"))
