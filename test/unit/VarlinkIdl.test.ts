/**
 * The varlink interface description parser and value checker: every construct of the language,
 * documentation comments, error positions, and our own io.podman subset description.
 */
import { describe, expect, it } from "@effect/vitest"
import { checkValue, formatType, parseVarlinkInterface, VarlinkIdlParseError, validateCall } from "../../layers/varlink/index.ts"
import { ioPodmanSubset } from "../../layers/podman-varlink/index.ts"

const EXAMPLE = `# The garden service.
# Two lines of interface documentation.
interface org.example.garden

# A plant.
type Plant (
  name: string,   # trailing comment
  height: float,
  tags: []string,
  notes: [string]string,
  seen: [string](),
  kind: (tree, bush, herb),
  parent: ?Plant,
  extra: ?object,
  pos: (x: int, y: int),
  history: ?[]?[string]int
)

type Season (spring, summer, autumn, winter)

# Plants a plant.
method Sow(plant: Plant, season: ?Season) -> (id: int)
method List() -> (plants: []Plant)

error NoRoom (needed: int)
error Unknown ()
`

describe("parseVarlinkInterface", () => {
  const iface = parseVarlinkInterface(EXAMPLE)

  it("reads the interface name, docs and members", () => {
    expect(iface.name).toBe("org.example.garden")
    expect(iface.doc).toBe("The garden service.\nTwo lines of interface documentation.")
    expect([...iface.types.keys()]).toEqual(["Plant", "Season"])
    expect([...iface.methods.keys()]).toEqual(["Sow", "List"])
    expect([...iface.errors.keys()]).toEqual(["NoRoom", "Unknown"])
    expect(iface.types.get("Plant")!.doc).toBe("A plant.")
    expect(iface.methods.get("Sow")!.doc).toBe("Plants a plant.")
    expect(iface.errors.get("Unknown")!.parameters.fields).toEqual([])
  })

  it("reads every type form", () => {
    const plant = iface.types.get("Plant")!.type
    expect(plant.kind).toBe("struct")
    const fields = plant.kind === "struct" ? Object.fromEntries(plant.fields.map((f) => [f.name, formatType(f.type)])) : {}
    expect(fields).toEqual({
      name: "string",
      height: "float",
      tags: "[]string",
      notes: "[string]string",
      seen: "[string]()",
      kind: "(tree, bush, herb)",
      parent: "?Plant",
      extra: "?object",
      pos: "(x: int, y: int)",
      history: "?[]?[string]int"
    })
    expect(iface.types.get("Season")!.type).toEqual({ kind: "enum", values: ["spring", "summer", "autumn", "winter"] })
    expect(formatType(iface.methods.get("Sow")!.input)).toBe("(plant: Plant, season: ?Season)")
  })

  it("reports errors with line and column", () => {
    const cases: Array<[string, RegExp]> = [
      ["interface org.x\nmethod A() -> (a: strin g)", /line 2/],
      ["interface noDots\nmethod A() -> ()", /invalid interface name/],
      ["interface org.x\nmethod A() -> (a: ??string)", /optional/],
      ["interface org.x\nmethod A() -> (a: Missing)", /undefined type Missing/],
      ["interface org.x\nmethod A() -> ()\nmethod A() -> ()", /defined twice/],
      ["interface org.x\nmethod A() -> (a: int, a: int)", /duplicate field/],
      ["interface org.x\nmethod A() (a: int)", /expected "->"/],
      ["interface org.x\nmethod a() -> ()", /invalid member name/],
      ["interface org.x\ntype T (a, b: int)\nmethod A() -> ()", /mix|needs a type/],
      ["interface org.x\nmethod A() -> (a: int", /end of description/],
      ["interface org.x\nmethod A() -> (a: int) $", /unexpected character/]
    ]
    for (const [src, re] of cases) {
      let err: unknown
      try {
        parseVarlinkInterface(src)
      } catch (e) {
        err = e
      }
      expect(err, src).toBeInstanceOf(VarlinkIdlParseError)
      expect((err as VarlinkIdlParseError).message, src).toMatch(re)
    }
    try {
      parseVarlinkInterface("interface org.x\nmethod A() -> (a: strin g)")
    } catch (e) {
      expect((e as VarlinkIdlParseError).line).toBe(2)
      expect((e as VarlinkIdlParseError).column).toBe(19) // at "strin": not a type
    }
  })
})

describe("checkValue / validateCall", () => {
  const iface = parseVarlinkInterface(EXAMPLE)
  const plant = { name: "oak", height: 3.5, tags: [], notes: {}, seen: { a: {} }, kind: "tree", pos: { x: 1, y: 2 } }

  it("accepts well-typed values, with optional fields absent or null", () => {
    expect(checkValue(iface, { kind: "named", name: "Plant" }, plant)).toEqual([])
    expect(checkValue(iface, { kind: "named", name: "Plant" }, { ...plant, parent: null, history: [null, { a: 1 }], extra: { any: ["thing"] } })).toEqual([])
  })

  it("reports wrong types, missing and unknown fields with their paths", () => {
    const issues = checkValue(iface, { kind: "named", name: "Plant" }, { ...plant, height: "tall", kind: "cactus", pos: { x: 1.5 }, zzz: 1, tags: [1] })
    expect(issues.map((i) => `${i.path}: ${i.detail}`)).toEqual([
      "$.height: expected float",
      "$.tags[0]: expected string",
      "$.kind: expected one of tree, bush, herb",
      "$.pos.x: expected int",
      "$.pos.y: missing",
      "$.zzz: unknown field"
    ])
  })

  it("validateCall answers what the service would: MethodNotFound, InvalidParameter; unknown interfaces pass", () => {
    const known = new Map([[iface.name, iface]])
    expect(validateCall(known, "org.example.garden.Sow", { plant })).toBeUndefined()
    expect(validateCall(known, "org.example.garden.Dig", {})).toMatchObject({ error: "org.varlink.service.MethodNotFound", parameters: { method: "Dig" } })
    expect(validateCall(known, "org.example.garden.Sow", { plant, season: "monsoon" })).toMatchObject({
      error: "org.varlink.service.InvalidParameter",
      parameters: { parameter: "season" }
    })
    expect(validateCall(known, "org.other.X", { anything: 1 })).toBeUndefined()
    expect(validateCall(known, "nodot", {})).toMatchObject({ error: "org.varlink.service.InvalidParameter", parameters: { parameter: "method" } })
  })

  it("parses our io.podman subset description", () => {
    expect(ioPodmanSubset.name).toBe("io.podman")
    for (const m of ["GetVersion", "CreateContainer", "ExecContainer", "GetContainersLogs", "WaitContainer", "GetContainerStats"]) {
      expect(ioPodmanSubset.methods.has(m), m).toBe(true)
    }
    expect(formatType(ioPodmanSubset.methods.get("KillContainer")!.input)).toBe("(name: string, signal: int)")
  })
})
