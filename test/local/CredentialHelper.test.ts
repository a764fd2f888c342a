/**
 * The registry credential helper backend (`docker-credential-<helper> get`) with a real helper
 * process: a FAKE helper script on PATH that answers for one server and fails for others.
 */
import { chmodSync } from "node:fs"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Platform from "../../layers/platform.ts"
import { type AuthServices, resolveAuth } from "../../src/driver/auth.ts"
import { decodePluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { tempDirForTest, writeFileIn } from "../support/tmp.ts"

const run = <A, E>(eff: Effect.Effect<A, E, AuthServices>) => Effect.runPromise(eff.pipe(Effect.provide(Platform.layer)))

const originalPath = process.env.PATH
afterEach(() => {
  process.env.PATH = originalPath
})

describe("credential helper", () => {
  it("sends the server on stdin and uses the answer; a failing helper is an auth error", async () => {
    const dir = tempDirForTest("ndp-helper-")
    const script = writeFileIn(dir, "docker-credential-ndpfake", [
      "#!/bin/sh",
      "read server",
      'if [ "$server" = "registry.example:5000" ]; then',
      '  printf \'{"ServerURL":"%s","Username":"helperuser","Secret":"helpersecret"}\' "$server"',
      "else",
      '  echo "credentials not found in native keychain" >&2; exit 1',
      "fi"
    ].join("\n") + "\n")
    chmodSync(script, 0o755)
    process.env.PATH = `${dir}:${originalPath}`
    const plugin = await Effect.runPromise(decodePluginConfig({ auth: [{ helper: "ndpfake" }] }))
    const task = await Effect.runPromise(decodeTaskConfig({ image: "registry.example:5000/a/b" }))
    expect(await run(resolveAuth("registry.example:5000/a/b", "registry.example:5000", task, plugin)))
      .toEqual({ username: "helperuser", password: "helpersecret", serverAddress: "registry.example:5000" })
    const err = await run(Effect.flip(resolveAuth("other.example/a", "other.example", task, plugin)))
    expect(err.reason).toBe("auth")
    expect(err.detail).toContain("exited with code 1")
    expect(err.message).not.toContain("helpersecret")
  })
})
