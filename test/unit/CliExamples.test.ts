/**
 * Every example job in examples/ must pass `validate`, and `plan` must turn it into a spec; the
 * example agent config's plugin block must decode as the plugin's config.
 */
import { Effect } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { readdirSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPluginConfig } from "../../src/cli/pluginfile.ts"
import { cli } from "./CliSupport.ts"

const examples = path.resolve(import.meta.dirname, "../../examples")
const jobs = readdirSync(examples).filter((f) => /\.nomad\.(hcl|json)$/.test(f)).sort()

describe("examples", () => {
  it("there are example jobs, including the one that runs here", () => {
    expect(jobs).toEqual(expect.arrayContaining(["hello.nomad.hcl", "redis.nomad.hcl", "batch.nomad.hcl", "ports.nomad.hcl", "auth-volumes.nomad.hcl", "variables.nomad.hcl"]))
  })

  for (const job of jobs) {
    it(`validate ${job}`, async () => {
      const r = await cli(["validate", path.join(examples, job)])
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "valid", stderr: "" })
    })

    it(`plan ${job}`, async () => {
      const r = await cli(["plan", path.join(examples, job)])
      expect(r.code).toBe(0)
      const spec = JSON.parse(r.stdout) as { name: string; image: string }
      expect(spec.image).not.toMatch(/^docker:\/\//)
      expect(spec.name).toMatch(/\.00000000-0000-4000-8000-000000000000$/)
    })
  }
})

describe("examples/agent.hcl", () => {
  it("has a plugin block for nomad-driver-podman whose config the plugin accepts", async () => {
    const file = path.join(examples, "agent.hcl")
    const config = await Effect.runPromise(loadPluginConfig(file).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(await cli(["validate", "--plugin-config", file])).toMatchObject({ code: 0, stdout: "valid", stderr: "" })
    expect(config.socket_path).toBe("unix:///run/podman/podman.sock")
    expect(config.volumes).toEqual({ enabled: true, selinuxlabel: "z" })
    expect(config.gc.container).toBe(true)
    expect(config.extra_labels).toContain("job_name")
  })
})
