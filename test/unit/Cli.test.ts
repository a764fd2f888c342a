/**
 * The human CLI in-process: help, version, validate (good and bad configs), plan (the spec a task
 * becomes). `run` and `doctor` need Podman: see test/integration/CliRun.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { exitCodeOf } from "../../src/cli/run.ts"
import pkg from "../../package.json" with { type: "json" }
import { cli } from "./CliSupport.ts"

const dir = mkdtempSync(path.join(tmpdir(), "ndp-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const write = (name: string, text: string): string => {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

const job = (config: string, group = "") => `
job "shop" {
  group "front" {
${group}
    task "web" {
      driver = "podman"
      config {
${config}
      }
      env {
        COLOR = "blue"
      }
    }
  }
}
`

describe("help and version", () => {
  it("--help prints the commands", async () => {
    const r = await cli(["--help"])
    expect(r.code).toBe(0)
    for (const c of ["validate", "plan", "run", "doctor", "version"]) expect(r.stdout).toContain(`nomad-driver-podman ${c}`)
  })

  it("a usage error exits 2 with a hint", async () => {
    const r = await cli(["validate"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/missing <file>/)
    expect(r.stderr).toMatch(/--help/)
  })

  it("version prints the package version, the commit (unknown when not built) and the Node version", async () => {
    const r = await cli(["version"])
    expect(r.code).toBe(0)
    expect(r.stdout.split("\n")).toEqual([`nomad-driver-podman ${pkg.version}`, "commit unknown", `node ${process.version}`])
  })
})

describe("validate", () => {
  it("a good job file is valid", async () => {
    const network = `network {\n  port "db" { to = 6379 }\n}`
    const r = await cli(["validate", write("good.nomad.hcl", job(`image = "docker.io/library/redis:7"\nports = ["db"]\nlabels = { a = "b" }`, network))])
    expect(r).toMatchObject({ code: 0, stdout: "valid" })
  })

  it("checks the config against the job as StartTask would: a port the group does not define is refused", async () => {
    const r = await cli(["validate", write("noport.nomad.hcl", job(`image = "docker.io/library/redis:7"\nports = ["db"]`))])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/noport\.nomad\.hcl:\d+:\d+: ports\[0\]: port "db" not found: the group's network block defines no ports$/)
  })

  it("a bad config names each field and exits 1", async () => {
    const r = await cli(["validate", write("bad.nomad.hcl", job(`image = "x"\nports = "db"\nno_such_option = true`))])
    expect(r.code).toBe(1)
    const lines = r.stderr.split("\n")
    expect(lines.some((l) => / ports: /.test(l))).toBe(true)
    expect(lines.some((l) => / no_such_option: unknown option/.test(l))).toBe(true)
    expect(r.stdout).toBe("")
  })

  it("a missing image is reported on the image field", async () => {
    const r = await cli(["validate", write("noimage.hcl", `config {\n  command = "/bin/true"\n}\n`)])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/noimage\.hcl:1:1: image: is required/)
  })

  it("a task of another driver is refused", async () => {
    const r = await cli(["validate", "--task", "web", write("docker.nomad.hcl", job(`image = "x"`).replace(`"podman"`, `"docker"`))])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/uses driver "docker", not "podman"/)
  })

  it("an unreadable file exits 1 with the reason", async () => {
    const r = await cli(["validate", path.join(dir, "nope.hcl")])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/nope\.hcl: cannot read: no such file/)
  })
})

describe("plan", () => {
  it("prints the container spec: name <task>.<alloc>, image without docker://, env with the job's env", async () => {
    const r = await cli(["plan", write("plan.nomad.hcl", job(`image = "docker://docker.io/library/busybox:1.36"\ncommand = "/bin/sh"\nargs = ["-c", "echo $\${COLOR}"]`))])
    expect(r.code).toBe(0)
    const spec = JSON.parse(r.stdout) as { name: string; image: string; env: Record<string, string>; labels?: Record<string, string> }
    // deterministic: a fixed alloc id unless --alloc-id
    expect(spec.name).toBe("web.00000000-0000-4000-8000-000000000000")
    const allocId = spec.name.slice("web.".length)
    expect(spec.image).toBe("docker.io/library/busybox:1.36")
    expect(spec.env["COLOR"]).toBe("blue")
    expect(spec.env["NOMAD_TASK_NAME"]).toBe("web")
    expect(spec.env["NOMAD_JOB_NAME"]).toBe("shop")
    expect(spec.env["NOMAD_ALLOC_ID"]).toBe(allocId)
  })

  it("an invalid config prints the issues instead of a spec", async () => {
    const r = await cli(["plan", write("planbad.hcl", `image = "x"\ncap_add = 5\n`)])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/planbad\.hcl:2:1: cap_add: /)
  })
})

describe("exit codes of run", () => {
  it("the container's code, or 128 + signal", () => {
    const base = { oomKilled: false, finishedAt: new Date() }
    expect(exitCodeOf({ ...base, exitCode: 3, signal: 0 })).toBe(3)
    expect(exitCodeOf({ ...base, exitCode: 0, signal: 9 })).toBe(137)
    expect(exitCodeOf({ ...base, exitCode: 0, signal: 0 })).toBe(0)
  })
})
