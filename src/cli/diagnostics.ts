/**
 * What the CLI reports when a file, a variable or a config is wrong: one line per problem,
 * `file:line:col: field: reason` (the parts that are known), sorted by position, on stderr.
 */
import { Data } from "effect"
import type { Pos } from "./hcl/ast.ts"

/** One problem; `file` and `pos` when it is in a file, `field` when it concerns a config option. */
export interface Diagnostic {
  readonly file?: string
  readonly pos?: Pos
  readonly field?: string
  readonly reason: string
}

/** The CLI's failure: the problems found, all reported at once. */
export class Diagnostics extends Data.TaggedError("Diagnostics")<{ readonly diagnostics: ReadonlyArray<Diagnostic> }> {
  override get message() {
    return this.diagnostics.map(formatDiagnostic).join("\n")
  }
}

/** A failure with one problem. */
export const diagnostic = (d: Diagnostic): Diagnostics => new Diagnostics({ diagnostics: [d] })

/** `file:line:col: field: reason`. */
export const formatDiagnostic = (d: Diagnostic): string => {
  const where = d.file !== undefined && d.file !== ""
    ? `${d.file}${d.pos ? `:${d.pos.line}:${d.pos.col}` : ""}: `
    : d.pos
    ? `${d.pos.line}:${d.pos.col}: `
    : ""
  return `${where}${d.field !== undefined && d.field !== "" ? `${d.field}: ` : ""}${d.reason}`
}

/** By file (in order of first appearance), then position; problems without a position last, as found. */
export const sortDiagnostics = (ds: ReadonlyArray<Diagnostic>): ReadonlyArray<Diagnostic> => {
  const files = [...new Set(ds.map((d) => d.file ?? ""))]
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) =>
      files.indexOf(a.d.file ?? "") - files.indexOf(b.d.file ?? "") ||
      (a.d.pos?.offset ?? Number.MAX_SAFE_INTEGER) - (b.d.pos?.offset ?? Number.MAX_SAFE_INTEGER) ||
      a.i - b.i
    )
    .map(({ d }) => d)
}
