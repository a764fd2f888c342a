/**
 * The CLI's HCL evaluation (src/cli/hcl): the native syntax with positions, expressions and
 * templates as HCL evaluates them, the functions of Nomad's job files, and variables/locals with
 * jobspec2's sources, precedence, types and errors.
 */
import { describe, expect, it } from "vitest"
import { HclError } from "../../src/cli/hcl/ast.ts"
import { evaluateDocument, EvalFailure } from "../../src/cli/hcl/document.ts"
import { evaluate, type Scope } from "../../src/cli/hcl/eval.ts"
import { jobFunctions, unsupportedFunctions } from "../../src/cli/hcl/functions.ts"
import { parseHclBody, parseHclExpression } from "../../src/cli/hcl/parse.ts"
import { jobScope, Problems, type VariableSources } from "../../src/cli/hcl/variables.ts"
import type { Value } from "../../src/cli/hcl/values.ts"

const scope: Scope = {
  variables: { var: { name: "w", list: [{ n: 1 }, { n: 2 }], m: { b: 2, a: 1 } } },
  functions: jobFunctions,
  unsupported: unsupportedFunctions,
  convert: true,
  unknown: (s) => `\${${s}}`
}
const ev = (text: string, s: Scope = scope): Value => evaluate(parseHclExpression(text), s)
const evError = (text: string, s: Scope = scope): string => {
  try {
    ev(text, s)
  } catch (e) {
    if (e instanceof HclError) return `${e.pos.line}:${e.pos.col}: ${e.detail}`
    throw e
  }
  throw new Error(`no error for ${text}`)
}

describe("expressions", () => {
  it.each<readonly [string, Value]>([
    [`1 + 2 * 3`, 7],
    [`(1 + 2) * 3`, 9],
    [`10 % 4 == 2 && !false`, true],
    [`-5 + 1`, -4],
    [`"1" + 1`, 2],
    [`3 > 2 ? "yes" : "no"`, "yes"],
    [`"x-\${upper(var.name)}-$\${LIT}-%%{y}"`, "x-W-${LIT}-%{y}"],
    [`"\\"q\\"\\t\\u00e9"`, "\"q\"\té"],
    [`"\${1}"`, 1],
    [`[for s in ["a", "b", "c"] : upper(s) if s != "b"]`, ["A", "C"]],
    [`{ for k, v in var.m : k => v * 10 }`, { a: 10, b: 20 }],
    [`{ for s in ["a", "b", "a"] : s => s... }`, { a: ["a", "a"], b: ["b"] }],
    [`var.list[*].n`, [1, 2]],
    [`var.list.1.n`, 2],
    [`var.m["a"]`, 1],
    [`"%{ for x in [1, 2] }[\${x}]%{ endfor }%{ if true }!%{ else }?%{ endif }"`, "[1][2]!"],
    [`"a \${~ "b" ~} c"`, "abc"],
    [`{ "a.b" = 1, c = 2, (var.name) = 3 }`, { "a.b": 1, c: 2, w: 3 }],
    [`try(var.nope, "fallback")`, "fallback"],
    [`can(var.nope)`, false],
    [`convert(["1", "2"], list(number))`, [1, 2]],
    [`concat(["a"], [["b"], ["c"]]...)`, ["a", "b", "c"]],
    [`"\${NOMAD_TASK_NAME}-\${attr.kernel.name}"`, "${NOMAD_TASK_NAME}-${attr.kernel.name}"]
  ])("%s", (text, want) => {
    expect(ev(text)).toEqual(want)
  })

  it("heredocs: plain and indented (<<-), with interpolation", () => {
    const body = parseHclBody(`a = <<EOT\nhello \${var.name}\n  two\nEOT\nb = <<-EOT\n    x\n      y\n    EOT\n`)
    expect(body.attributes.map((a) => evaluate(a.expr, scope))).toEqual(["hello w\n  two\n", "x\n  y\n"])
  })

  it("errors name what is wrong, at its position, with did-you-mean", () => {
    expect(evError(`var.nmae`)).toBe(`1:5: var has no variable named "nmae" (did you mean "name"?)`)
    expect(evError(`uper("x")`)).toBe(`1:1: unknown function uper() (did you mean upper()?)`)
    expect(evError(`file("x")`)).toBe(`1:1: function file() is not supported by this CLI (Nomad has it; the job will work there)`)
    expect(evError(`"a\${[1]}"`)).toBe(`1:5: a template cannot include a list (use join() or jsonencode())`)
    expect(evError(`var.list[5]`)).toBe(`1:9: index 5 is out of range (the list has 2 elements)`)
    expect(evError(`1 / 0`)).toBe(`1:3: division by zero`)
  })
})

describe("functions", () => {
  it.each<readonly [string, Value]>([
    [`format("%s-%03d-%.2f-%q-%v", "a", 7, 1.5, "q", true)`, `a-007-1.50-"q"-true`],
    [`join(",", ["a", "b"], ["c"])`, "a,b,c"],
    [`split(",", "a,b")`, ["a", "b"]],
    [`replace("a-b-c", "-", "+")`, "a+b+c"],
    [`replace("a1b22", "/[0-9]+/", "#")`, "a#b#"],
    [`regex_replace("v1.2", "([0-9])", "<$1>")`, "v<1>.<2>"],
    [`lookup({ a = 1 }, "b", 2)`, 2],
    [`merge({ a = 1 }, { a = 2, b = 3 })`, { a: 2, b: 3 }],
    [`keys({ b = 1, a = 2 })`, ["a", "b"]],
    [`values({ b = 1, a = 2 })`, [2, 1]],
    [`length("héllo") + length([1]) + length({ a = 1 })`, 7],
    [`element(["a", "b"], 3)`, "b"],
    [`distinct(flatten([["a"], ["a", ["b"]]]))`, ["a", "b"]],
    [`range(3)`, [0, 1, 2]],
    [`zipmap(["a"], [1])`, { a: 1 }],
    [`jsonencode({ b = [1, "x"], a = null })`, `{"a":null,"b":[1,"x"]}`],
    [`jsondecode("{\\"a\\": [1]}")`, { a: [1] }],
    [`base64decode(base64encode("hé"))`, "hé"],
    [`sha256("x")`, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"],
    [`trimsuffix(trimprefix(trimspace("  ab.c  "), "a"), ".c")`, "b"],
    [`title("hello world-wide")`, "Hello World-Wide"],
    [`substr("hello", 1, 3)`, "ell"],
    [`coalesce("", "x")`, "x"],
    [`parseint("ff", 16)`, 255],
    [`max(1, 5, 3) - min(4, 2)`, 3],
    [`urlencode("a b&c")`, "a+b%26c"],
    [`indent(2, "a\\nb")`, "a\n  b"]
  ])("%s", (text, want) => {
    expect(ev(text)).toEqual(want)
  })
})

const sources = (s: Partial<VariableSources> = {}): VariableSources => ({ args: [], files: [], env: {}, ...s })
const problems = (text: string, s: Partial<VariableSources> = {}): ReadonlyArray<string> => {
  try {
    jobScope("job.hcl", parseHclBody(text), sources(s))
  } catch (e) {
    if (e instanceof Problems) return e.problems.map((p) => `${p.file ?? "-"}:${p.pos ? `${p.pos.line}:${p.pos.col}` : "-"}: ${p.reason}`)
    throw e
  }
  return []
}

describe("variables and locals", () => {
  const decl = `variable "n" {\n  type    = number\n  default = 1\n}\nvariable "l" {\n  type    = list(string)\n  default = []\n}\nvariables {\n  plain = "p"\n}\n`

  it("default < NOMAD_VAR_* < -var-file (in order) < -var (in order); text parsed by the type", () => {
    const s = jobScope("job.hcl", parseHclBody(decl), sources({
      env: { NOMAD_VAR_n: "2", NOMAD_VAR_l: `["env"]`, NOMAD_VAR_unknown: "ignored" },
      files: [{ file: "a.vars", text: "n = 3\n" }, { file: "b.vars", text: "n = 4\nplain = \"file\"\n" }],
      args: ["n=5", "n=6", `l=["a", "b"]`]
    }))
    expect(s.variables["var"]).toEqual({ n: 6, l: ["a", "b"], plain: "file" })
  })

  it("the problems: unset, undeclared, wrong type, bad default, a declaration in a var file, a failed validation", () => {
    const job = `${decl}variable "unset" {}\nvariable "bad" {\n  type    = number\n  default = "x"\n}\nvariable "v" {\n  default = "no"\n  validation {\n    condition     = var.v == "yes"\n    error_message = "Must be yes."\n  }\n}\n`
    expect(problems(job, { args: ["n=abc", "zzz=1"], files: [{ file: "f.vars", text: `variable "x" {}\nq = 1\n` }] })).toEqual([
      `job.hcl:15:3: variable "bad": the default is not a number: a number is required, got "x"`,
      `f.vars:1:1: a var file assigns values; declare variable "x" in the job file and write x = <value> here`,
      `f.vars:2:1: variable "q" is set but the job does not declare it`,
      `-:-: -var n: a number is required, got "abc" (variable "n" is a number)`,
      `-:-: -var zzz: the job declares no variable "zzz" (it declares n, l, plain, unset, bad, v)`,
      `job.hcl:12:1: variable "unset" has no value: give it a default, or set it with -var unset=…, a -var-file or NOMAD_VAR_unset`,
      `job.hcl:17:1: variable "v": Must be yes.`
    ])
  })

  it("defaults are literal values: no variables, no functions", () => {
    expect(problems(`variable "a" {\n  default = upper("x")\n}\n`)).toEqual([
      `job.hcl:2:13: variable "a": default: unknown function upper()`
    ])
  })

  it("locals in any order, over variables and functions; a cycle is reported", () => {
    const s = jobScope("job.hcl", parseHclBody(`locals {\n  b = "\${local.a}-b"\n  a = upper(var.x)\n}\nvariable "x" {\n  default = "x"\n}\n`), sources())
    expect(s.variables["local"]).toEqual({ a: "X", b: "X-b" })
    expect(problems(`locals {\n  a = local.b\n  b = local.a\n}\n`)).toEqual([
      `job.hcl:2:13: local.a: local has no local value named "b"`,
      `job.hcl:3:13: local.b: local has no local value named "a"`
    ])
  })
})

describe("documents", () => {
  it("blocks nest by type and label; positions for attributes, blocks and literal elements", () => {
    const doc = evaluateDocument(parseHclBody(`job "j" {\n  group "g" {\n    x = ["a", "b"]\n    b {\n      y = 1\n    }\n    b {\n      y = 2\n    }\n  }\n}\n`), scope)
    expect(doc.tree).toEqual({ job: { j: [{ group: { g: [{ x: ["a", "b"], b: [{ y: 1 }, { y: 2 }] }] } }] } })
    expect(doc.positions.get("job.j.group.g.x[1]")).toMatchObject({ line: 3, col: 15 })
    expect(doc.positions.get("job.j.group.g.b.y")).toMatchObject({ line: 5, col: 7 })
    expect(doc.positions.get("job.j.group.g.b[1].y")).toMatchObject({ line: 8, col: 7 })
  })

  it("a failed attribute stays where it is: only reading it fails", () => {
    const doc = evaluateDocument(parseHclBody(`ok = 1\nbad = file("x")\n`), scope)
    expect(doc.tree["ok"]).toBe(1)
    expect(doc.tree["bad"]).toBeInstanceOf(EvalFailure)
  })
})
