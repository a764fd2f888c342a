/** The embedding example runs as a plain Node program with only the public API. */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")

describe("examples/embed.ts", () => {
  it("runs a container through the public API, logs to the terminal, reports the exit code", () => {
    const r = spawnSync(path.join(root, "node_modules/.bin/tsx"), ["examples/embed.ts", "localhost/busybox:latest"], {
      cwd: root,
      env: { ...process.env, PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}` },
      encoding: "utf8",
      timeout: 60_000
    })
    expect(r.stdout).toContain("hello from an embedded driver")
    expect(r.stderr).toContain("to-stderr")
    expect(r.stdout).toContain("exit code 7")
    expect(r.status).toBe(7)
  })
})
