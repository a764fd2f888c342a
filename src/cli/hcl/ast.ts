/**
 * The syntax tree of HCL's native syntax as the CLI's parser (./parse.ts) produces it: bodies of
 * attributes and blocks, and expressions, every node with its position in the file so that a
 * problem found later (an unknown variable, a bad option value) can be reported as `file:line:col`.
 */

/** A position in a file: 1-based line and column (in characters), and the offset. */
export interface Pos {
  readonly line: number
  readonly col: number
  readonly offset: number
}

/** A failure of parsing or evaluation, at a position. */
export class HclError extends Error {
  override readonly name = "HclError"
  constructor(readonly pos: Pos, readonly detail: string) {
    super(detail)
  }
}

export interface Attribute {
  readonly name: string
  readonly pos: Pos
  readonly expr: Expr
}

export interface Block {
  readonly type: string
  readonly labels: ReadonlyArray<string>
  readonly pos: Pos
  readonly body: Body
}

export interface Body {
  readonly attributes: ReadonlyArray<Attribute>
  readonly blocks: ReadonlyArray<Block>
}

/** A part of a template: literal text, an interpolation, or a directive (`%{if}`/`%{for}`). */
export type TemplatePart =
  | { readonly k: "text"; readonly text: string }
  | { readonly k: "interp"; readonly expr: Expr }
  | { readonly k: "if"; readonly cond: Expr; readonly then: ReadonlyArray<TemplatePart>; readonly else: ReadonlyArray<TemplatePart>; readonly pos: Pos }
  | { readonly k: "for"; readonly keyVar?: string; readonly valVar: string; readonly coll: Expr; readonly body: ReadonlyArray<TemplatePart>; readonly pos: Pos }

/** One traversal step after a root or an expression: `.name`, `[key]`. */
export type Step =
  | { readonly k: "attr"; readonly name: string; readonly pos: Pos }
  | { readonly k: "index"; readonly key: Expr; readonly pos: Pos }

export type Expr =
  | { readonly k: "literal"; readonly value: null | boolean | number | string; readonly pos: Pos }
  | { readonly k: "template"; readonly parts: ReadonlyArray<TemplatePart>; readonly pos: Pos }
  | { readonly k: "tuple"; readonly items: ReadonlyArray<Expr>; readonly pos: Pos }
  | {
    readonly k: "object"
    readonly items: ReadonlyArray<{ readonly key: Expr; readonly value: Expr; readonly pos: Pos }>
    readonly pos: Pos
  }
  /** A variable and its traversal (`var.image`, `NOMAD_TASK_NAME`, `attr.kernel.name`); `source` is the text as written. */
  | { readonly k: "scope"; readonly root: string; readonly steps: ReadonlyArray<Step>; readonly source: string; readonly pos: Pos }
  | { readonly k: "traverse"; readonly target: Expr; readonly step: Step; readonly pos: Pos }
  /** `list[*].name` or `list.*.name`: `each` applies to every element (the symbol `*` stands for it). */
  | { readonly k: "splat"; readonly target: Expr; readonly each: ReadonlyArray<Step>; readonly pos: Pos }
  | { readonly k: "call"; readonly name: string; readonly args: ReadonlyArray<Expr>; readonly expand: boolean; readonly pos: Pos }
  | { readonly k: "unary"; readonly op: "-" | "!"; readonly operand: Expr; readonly pos: Pos }
  | { readonly k: "binary"; readonly op: string; readonly left: Expr; readonly right: Expr; readonly pos: Pos }
  | { readonly k: "conditional"; readonly cond: Expr; readonly then: Expr; readonly else: Expr; readonly pos: Pos }
  | {
    readonly k: "for"
    readonly keyVar?: string
    readonly valVar: string
    readonly coll: Expr
    readonly keyExpr?: Expr
    readonly valExpr: Expr
    readonly cond?: Expr
    readonly group: boolean
    readonly pos: Pos
  }
  /** `(expr)`: kept so that an object key in parentheses is evaluated, not taken as a name. */
  | { readonly k: "paren"; readonly expr: Expr; readonly pos: Pos }
