/**
 * Reading a task out of what a user hands the CLI: a Nomad job file (HCL, HCL-JSON or API JSON), a
 * bare `config { ... }` block, or just the config attributes, evaluated as `nomad job run` would:
 * variables (`-var`, `-var-file`, `NOMAD_VAR_*`), locals and functions (./hcl/).
 *
 * HCL goes through HashiCorp's own parser first (@cdktf/hcl2json, HCL compiled to WebAssembly,
 * loaded lazily: it takes a few hundred milliseconds), so a syntax error is reported the way HCL
 * reports it, one line per diagnostic. The CLI's own reader (./hcl/parse.ts) then gives the
 * structure with positions for evaluation and for `file:line:col` reports.
 */
import { Effect, FileSystem } from "effect"
import { type Diagnostic, diagnostic, Diagnostics } from "./diagnostics.ts"
import { apiJobTasks, configOnlyTask, hclJobTasks, isJsonObj, type JsonObj, nomadShapeConfig, pickTask, type TaskSource } from "./extract.ts"
import { type Body, HclError } from "./hcl/ast.ts"
import { type Document, EvalFailure, evaluateDocument, type Node } from "./hcl/document.ts"
import { evaluate, type Scope } from "./hcl/eval.ts"
import { parseHclBody, parseTemplate } from "./hcl/parse.ts"
import { jobScope, Problems, type VariableSources } from "./hcl/variables.ts"

export type { TaskSource } from "./extract.ts"

/** How to read a job: which task, and the variable values given on the command line. */
export interface LoadOptions {
  readonly task?: string
  /** `-var name=value`, in order. */
  readonly vars?: ReadonlyArray<string>
  /** `-var-file` paths, in order. */
  readonly varFiles?: ReadonlyArray<string>
  /** The environment, for `NOMAD_VAR_*`. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Reads a file as text; a failure is a diagnostic naming the file. */
export const readText = (file: string): Effect.Effect<string, Diagnostics, FileSystem.FileSystem> =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) => fs.readFileString(file)),
    Effect.mapError((e) =>
      diagnostic({
        file,
        reason: `cannot read: ${
          e.reason._tag === "NotFound" ? "no such file" : e.reason._tag === "PermissionDenied" ? "permission denied" : e.message
        }`
      })
    )
  )

/**
 * HCL's own verdict on the syntax: nothing, or its diagnostics, one per line. hcl2json reports them
 * as one string (`parse config: [f:5,10-6,1: Summary; Detail, f:…]`), split here.
 */
export const hclSyntax = (file: string, text: string): Effect.Effect<void, Diagnostics> =>
  Effect.tryPromise({
    try: async () => {
      const mod: { parse: (name: string, contents: string) => Promise<unknown> } = await import("@cdktf/hcl2json")
      await mod.parse("input.hcl", text)
    },
    catch: (e) => {
      const message = e instanceof Error ? e.message : String(e)
      const found = [...message.matchAll(/input\.hcl:(\d+),(\d+)(?:-(?:\d+,)?\d+)?: (.*?)(?=, input\.hcl:\d+,\d+|\]?$)/gs)]
      const diagnostics: Array<Diagnostic> = found.length > 0
        ? found.map((m) => ({ file, pos: { line: Number(m[1]), col: Number(m[2]), offset: offsetOf(text, Number(m[1]), Number(m[2])) }, reason: tidy(m[3]!) }))
        : [{ file, reason: `HCL: ${message.replace(/^parse config: /, "")}` }]
      // HCL reports a cascade after the first error: the first few lines say it all
      return new Diagnostics({ diagnostics: diagnostics.slice(0, 3) })
    }
  })

/** `Summary; Detail.` → `Summary: Detail` on one line. */
const tidy = (s: string): string => s.replace(/\s+/g, " ").replace(/; /, ": ").replace(/\.$/, "").trim()

const offsetOf = (text: string, line: number, col: number): number => {
  let offset = 0
  for (let l = 1; l < line; l++) offset = text.indexOf("\n", offset) + 1
  return offset + col - 1
}

const parseBody = (file: string, text: string): Effect.Effect<Body, Diagnostics> =>
  Effect.try({
    try: () => parseHclBody(text),
    catch: (e) =>
      e instanceof HclError
        ? diagnostic({ file, pos: e.pos, reason: `${e.detail} (HCL accepts this file but this CLI's reader does not: please report it)` })
        : diagnostic({ file, reason: String(e) })
  })

const problemsToDiagnostics = (p: Problems): Diagnostics =>
  new Diagnostics({ diagnostics: p.problems.map((x) => ({ ...(x.file !== undefined ? { file: x.file } : {}), ...(x.pos ? { pos: x.pos } : {}), reason: x.reason })) })

/** Runs a synchronous step that throws `Diagnostics`, `Problems` or `HclError`. */
const sync = <A>(file: string, f: () => A): Effect.Effect<A, Diagnostics> =>
  Effect.try({
    try: f,
    catch: (e) =>
      e instanceof Diagnostics ? e
      : e instanceof Problems ? problemsToDiagnostics(e)
      : e instanceof HclError ? diagnostic({ file, pos: e.pos, reason: e.detail })
      : diagnostic({ file, reason: e instanceof Error ? e.message : String(e) })
  })

const VARIABLE_BLOCKS: ReadonlySet<string> = new Set(["variable", "variables", "locals"])

/** Finds the task in an evaluated HCL document (or an HCL-JSON one, without positions). */
const fromDocument = (file: string, doc: Document, wanted: string | undefined, shape: (b: JsonObj | Record<string, Node>) => Record<string, unknown>): TaskSource => {
  const top = doc.tree
  const keys = Object.keys(top)
  if ("job" in top) {
    const jobs = top["job"]
    const count = isJsonObj(jobs) ? Object.values(jobs).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0) : 0
    if (count !== 1) throw new Diagnostics({ diagnostics: [{ file, reason: `expected one job, found ${count}` }] })
    return pickTask(file, hclJobTasks(file, top, doc.positions, shape), wanted)
  }
  if (keys.length === 1 && keys[0] === "config") {
    const blocks = Array.isArray(top["config"]) ? top["config"] : [top["config"]]
    if (blocks.length !== 1 || !isJsonObj(blocks[0])) throw new Diagnostics({ diagnostics: [{ file, reason: `expected one config block, found ${blocks.length}` }] })
    return configOnlyTask(file, blocks[0] as Record<string, Node>, doc.positions, "config", shape)
  }
  return configOnlyTask(file, top, doc.positions, "", shape)
}

/** Evaluates every string of an HCL-JSON document as a template, in the job scope. */
const evaluateJson = (v: unknown, scope: Scope): Node => {
  if (typeof v === "string") {
    try {
      return evaluate(parseTemplate(v), scope)
    } catch (e) {
      if (e instanceof HclError) return new EvalFailure(e)
      throw e
    }
  }
  if (Array.isArray(v)) return v.map((x) => evaluateJson(x, scope))
  if (isJsonObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evaluateJson(x, scope)]))
  return v as Node
}

/** Reads `file` (HCL or JSON), evaluates it with the variables given, and finds the task in it. */
export const loadTask = (file: string, options: LoadOptions = {}): Effect.Effect<TaskSource, Diagnostics, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const text = yield* readText(file)
    const varFiles = yield* Effect.forEach(options.varFiles ?? [], (f) => Effect.map(readText(f), (t) => ({ file: f, text: t })))
    const sources: VariableSources = { args: options.vars ?? [], files: varFiles, env: options.env ?? {} }
    if (looksLikeJson(file, text)) {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => diagnostic({ file, reason: `JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
      if (!isJsonObj(parsed)) return yield* diagnostic({ file, reason: "expected an object (a job, a config block or config attributes)" })
      if (isJsonObj(parsed["Job"]) || Array.isArray(parsed["TaskGroups"])) {
        if (sources.args.length > 0 || sources.files.length > 0) return yield* diagnostic({ file, reason: "an API job (JSON) has no variables: -var and -var-file apply to HCL jobs" })
        const job = isJsonObj(parsed["Job"]) ? parsed["Job"] : parsed
        return yield* sync(file, () => pickTask(file, apiJobTasks(file, job), options.task))
      }
      // HCL-JSON: strings are templates, evaluated as the job parser does (no variable blocks here)
      const scope = yield* sync(file, () => jobScope(file, { attributes: [], blocks: [] }, sources))
      const doc: Document = { tree: evaluateJson(parsed, scope) as Record<string, Node>, positions: new Map() }
      return yield* sync(file, () => fromDocument(file, doc, options.task, (b) => ({ ...b })))
    }
    yield* hclSyntax(file, text)
    const body = yield* parseBody(file, text)
    const scope = yield* sync(file, () => jobScope(file, body, sources))
    const doc = evaluateDocument(body, scope, VARIABLE_BLOCKS)
    return yield* sync(file, () => fromDocument(file, doc, options.task, nomadShapeConfig))
  })

/** Whether the file is JSON: it starts with `{` (as Nomad decides) or is named `.json`. */
const looksLikeJson = (file: string, text: string): boolean => file.endsWith(".json") || text.trimStart().startsWith("{")
