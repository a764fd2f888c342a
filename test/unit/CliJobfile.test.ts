/**
 * Reading a task from the files users write: HCL job files (through the real HCL parser), a bare
 * config block, bare attributes, and JSON jobs. The config must come out in the shape Nomad sends
 * (docs/protocol.md#configs-from-hcl-to-messagepack: blocks and object literals become lists of objects in HCL; JSON as written).
 */
import { Effect, Exit } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { formatDiagnostic } from "../../src/cli/diagnostics.ts"
import { nomadShapeConfig } from "../../src/cli/extract.ts"
import { interpolateConfig, interpolateEnv, taskScope } from "../../src/cli/interpolate.ts"
import { loadTask, type LoadOptions, type TaskSource } from "../../src/cli/jobfile.ts"

const dir = mkdtempSync(path.join(tmpdir(), "ndp-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

const opts = (task?: string): LoadOptions => (task !== undefined ? { task } : {})
const load = (file: string, task?: string): Promise<TaskSource> => Effect.runPromise(loadTask(file, opts(task)).pipe(Effect.provide(NodeFileSystem.layer)))
const loadError = async (file: string, task?: string): Promise<string> => {
  const exit = await Effect.runPromiseExit(loadTask(file, opts(task)).pipe(Effect.provide(NodeFileSystem.layer)))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const e = exit.cause.reasons.find((r) => r._tag === "Fail")
  return e !== undefined && e._tag === "Fail" ? e.error.diagnostics.map(formatDiagnostic).join("\n") : String(exit.cause)
}

const twoTasks = `
job "web" {
  group "g" {
    network {
      port "http" {
        static = 8080
        to     = 80
      }
      port "dyn" {}
    }
    task "sidecar" {
      driver = "exec"
      config {
        command = "/bin/true"
      }
    }
    task "app" {
      driver = "podman"
      user   = "nobody"
      config {
        image  = "docker://docker.io/library/nginx:1"
        ports  = ["http"]
        labels = { tier = "web" }
        logging {
          driver  = "journald"
          options = { tag = "app" }
        }
        args = ["$\${NOMAD_TASK_NAME}", "\${NOMAD_ALLOC_ID}"]
      }
      env {
        A = "1"
      }
      resources {
        cpu        = 250
        memory     = 128
        memory_max = 256
      }
    }
  }
}
`

describe("HCL job files", () => {
  it("finds the one podman task, with its job, group, env, resources, user and ports", async () => {
    const src = await load(write("two.nomad.hcl", twoTasks))
    expect(src.taskName).toBe("app")
    expect(src.jobName).toBe("web")
    expect(src.groupName).toBe("g")
    expect(src.driver).toBe("podman")
    expect(src.user).toBe("nobody")
    expect(src.env).toEqual({ A: "1" })
    expect([src.cpu, src.memory, src.memoryMax]).toEqual([250, 128, 256])
    expect(src.network).toEqual({ mode: "host", ports: [{ label: "http", static: 8080, to: 80 }, { label: "dyn" }] })
  })

  it("shapes the config as Nomad's HCL2 job parser does", async () => {
    const src = await load(write("two.nomad.hcl", twoTasks))
    expect(src.rawConfig).toEqual({
      image: "docker://docker.io/library/nginx:1",
      ports: ["http"],
      labels: [{ tier: "web" }],
      logging: [{ driver: "journald", options: [{ tag: "app" }] }],
      // `$${` is HCL's escape for a literal `${`; an unknown `${X}` stays for the client to interpolate
      args: ["${NOMAD_TASK_NAME}", "${NOMAD_ALLOC_ID}"]
    })
  })

  it("--task picks a task by name; a non-matching name fails with the list of tasks", async () => {
    const file = write("two.nomad.hcl", twoTasks)
    expect((await load(file, "sidecar")).driver).toBe("exec")
    expect(await loadError(file, "nope")).toMatch(/no task named "nope" \(tasks: sidecar, app\)/)
  })

  it("two podman tasks need --task", async () => {
    const file = write("dup.nomad.hcl", twoTasks.replace(`driver = "exec"`, `driver = "podman"`))
    expect(await loadError(file)).toMatch(/2 podman tasks \(sidecar, app\); choose one with --task NAME/)
  })

  it("a job without podman tasks fails", async () => {
    const file = write("none.nomad.hcl", twoTasks.replace(`driver = "podman"`, `driver = "docker"`))
    expect(await loadError(file)).toMatch(/no task with driver = "podman"/)
  })

  it("an HCL syntax error is HCL's own message, one line at its position", async () => {
    const file = write("broken.hcl", `config {\n  image = \n}\n`)
    expect(await loadError(file)).toBe(`${file}:2:11: Invalid expression: Expected the start of an expression, but found an invalid expression token`)
  })

  it("a bare config block and bare attributes", async () => {
    const block = await load(write("block.hcl", `config {\n  image = "a"\n  sysctl = { "net.core.somaxconn" = "16" }\n}\n`))
    expect(block.taskName).toBe("main")
    expect(block.rawConfig).toEqual({ image: "a", sysctl: [{ "net.core.somaxconn": "16" }] })
    const attrs = await load(write("attrs.hcl", `image = "b"\nprivileged = true\npids_limit = 5\n`))
    expect(attrs.rawConfig).toEqual({ image: "b", privileged: true, pids_limit: 5 })
  })
})

describe("JSON files", () => {
  it("an API job (nomad job run -json)", async () => {
    const file = write("job.json", JSON.stringify({
      Job: {
        ID: "j",
        Name: "j",
        TaskGroups: [{
          Name: "g",
          Networks: [{ ReservedPorts: [{ Label: "http", Value: 8080, To: 80 }], DynamicPorts: [{ Label: "d", Value: 0, To: 0 }] }],
          Tasks: [{ Name: "t", Driver: "podman", Config: { image: "x", labels: { a: "b" } }, Env: { E: "1" }, Resources: { CPU: 10, MemoryMB: 20 } }]
        }]
      }
    }))
    const src = await load(file)
    expect(src).toMatchObject({ taskName: "t", jobName: "j", groupName: "g", env: { E: "1" }, cpu: 10, memory: 20 })
    // JSON configs are passed as written: no list wrapping
    expect(src.rawConfig).toEqual({ image: "x", labels: { a: "b" } })
    expect(src.network.ports).toEqual([{ label: "http", static: 8080, to: 80 }, { label: "d" }])
  })

  it("bare attributes and an invalid JSON file", async () => {
    expect((await load(write("c.json", `{"image": "y", "args": ["1"]}`))).rawConfig).toEqual({ image: "y", args: ["1"] })
    expect(await loadError(write("bad.json", `{"image": `))).toMatch(/JSON:/)
  })

  it("a missing file", async () => {
    expect(await loadError(path.join(dir, "missing.hcl"))).toMatch(/cannot read/)
  })
})

describe("pure helpers", () => {
  it("nomadShapeConfig wraps object attributes, keeps block lists", () => {
    expect(nomadShapeConfig({ a: { b: 1 }, l: [{ x: 1 }], s: "v", n: 1 })).toEqual({ a: [{ b: 1 }], l: [{ x: 1 }], s: "v", n: 1 })
  })

  it("a JSON file that is not an object is refused", async () => {
    expect(await loadError(write("arr.json", "[1, 2]"))).toMatch(/expected an object/)
  })

  it("the env block: known variables resolved, the rest left as written (Nomad's env builder is lenient)", () => {
    expect(interpolateEnv("${X}-${Y}-${env.X}", { X: "1" })).toBe("1-${Y}-1")
  })

  it("the config: every string interpolated as the client does; an unknown reference is an issue on its field", () => {
    const r = interpolateConfig(
      { a: ["${X}-x", "$${X}", "${upper(X)}"], b: [{ c: "${attr.kernel.name}" }], d: "${NOPE}", n: 3 },
      taskScope({ X: "one" })
    )
    expect(r.config).toEqual({ a: ["one-x", "${X}", "ONE"], b: [{ c: process.platform }], d: "${NOPE}", n: 3 })
    expect(r.issues).toEqual([{ field: "d", reason: expect.stringMatching(/^unknown variable "NOPE"/) }])
  })
})
