/**
 * Every example job in examples/ must pass `validate`, and `plan` must turn it into a spec.
 */
import { readdirSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli } from "./CliSupport.ts"

const examples = path.resolve(import.meta.dirname, "../../examples")
const jobs = readdirSync(examples).filter((f) => /\.nomad\.(hcl|json)$/.test(f)).sort()

describe("examples", () => {
  it("there are example jobs, including the one that runs here", () => {
    expect(jobs).toEqual(expect.arrayContaining(["hello.nomad.hcl", "redis.nomad.hcl", "batch.nomad.hcl", "ports.nomad.hcl", "auth-volumes.nomad.hcl"]))
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
      expect(spec.name).toMatch(/-[0-9a-f-]{36}$/)
    })
  }
})
