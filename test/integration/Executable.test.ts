/**
 * The shipped executable, dist/nomad-driver-podman (build it with `npm run build`), run as Nomad
 * runs a plugin: bare environment (`PATH=/usr/bin:/bin`, no node on it), working directory `/`.
 * Plugin mode itself is exercised by the e2e suite; here only that it starts and handshakes.
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import pkg from "../../package.json" with { type: "json" }
import { MAGIC_COOKIE as COOKIE } from "../support/nomad/launch.ts"
import { type ProcessResult, REPO_ROOT, runProcess } from "../support/processes.ts"

const root = REPO_ROOT
const exe = path.join(root, "dist/nomad-driver-podman")
const socket = process.env["PODMAN_SOCKET"]!

/** Runs the executable under a bare environment from `/`. */
const runExe = async (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}): Promise<ProcessResult> => {
  requireExe()
  return runProcess([exe, ...args], { cwd: "/", env: { PATH: "/usr/bin:/bin", ...extraEnv }, timeoutMillis: 60_000 })
}

/** Each test fails (not skips) when the executable has not been built. */
const requireExe = (): void => {
  if (!existsSync(exe)) throw new Error(`${exe} does not exist: run \`npm run build\` before this test`)
  if ((statSync(exe).mode & 0o111) === 0) throw new Error(`${exe} is not executable`)
}

describe("dist/nomad-driver-podman", () => {
  it("version: plugin version, the commit it was built from and the embedded Node 22, with no node on PATH", async () => {
    const r = await runExe(["version"])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toBe(`nomad-driver-podman ${pkg.version}`)
    // built from this checkout (`npm run build` before the suite)
    expect(lines[1]).toBe(`commit ${execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim()}`)
    expect(lines[2]).toMatch(/^node v22\./)
  })

  it("without the cookie and without arguments it prints the CLI help", async () => {
    const r = await runExe([])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("Usage:")
    expect(r.stdout).toContain("nomad-driver-podman validate <file>")
  })

  it("a wrong cookie is refused on stderr with exit 1, nothing on stdout", async () => {
    const r = await runExe([], { NOMAD_PLUGIN_MAGIC_COOKIE: "wrong" })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/This binary is a plugin/)
  })

  it("validates an example with the embedded HCL parser", async () => {
    const r = await runExe(["validate", path.join(root, "examples/redis.nomad.hcl")])
    expect(r).toMatchObject({ code: 0, stdout: "valid\n" })
  })

  it("runs examples/hello.nomad.hcl on Podman and exits with the container's code", async () => {
    const r = await runExe(["run", path.join(root, "examples/hello.nomad.hcl"), "--socket-path", socket])
    expect(r.stdout.split("\n")).toContain("hello from nomad-driver-podman")
    expect(r.stderr.split("\n")).toContain("task hello says bye")
    expect(r.stderr).toMatch(/task hello exited with code 0/)
    expect(r.code).toBe(0)
  })

  it("with the cookie it prints the go-plugin handshake line first", async () => {
    requireExe()
    const child = spawn(exe, [], {
      cwd: "/",
      env: { PATH: "/usr/bin:/bin", NOMAD_PLUGIN_MAGIC_COOKIE: COOKIE, PLUGIN_PROTOCOL_VERSIONS: "2", PLUGIN_MIN_PORT: "10000", PLUGIN_MAX_PORT: "25000" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ""
        let err = ""
        const timer = setTimeout(() => reject(new Error(`no handshake within 20 s; stderr: ${err}`)), 20_000)
        child.stderr.on("data", (d: Buffer) => (err += d.toString()))
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString()
          const nl = out.indexOf("\n")
          if (nl !== -1) {
            clearTimeout(timer)
            resolve(out.slice(0, nl))
          }
        })
        child.on("close", (code) => {
          clearTimeout(timer)
          reject(new Error(`exited (${code}) before the handshake; stderr: ${err}`))
        })
      })
      expect(line).toMatch(/^1\|2\|unix\|\/[^|]+\|grpc\|?$/)
    } finally {
      // SIGTERM lets the plugin remove its socket; SIGKILL if it does not exit.
      const closed = new Promise<void>((resolve) => child.once("close", () => resolve()))
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000)
      await closed
      clearTimeout(timer)
    }
  })
})
