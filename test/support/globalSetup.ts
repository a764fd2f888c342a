/**
 * Vitest global setup of the `integration` and `e2e` projects: starts one private Podman API
 * service, builds the test images and starts a private registry (htpasswd auth) for the whole run,
 * then tears everything down by PID.
 *
 * Both projects list this file, and vitest runs a project's global setup once per project that
 * has files in the run; the sandbox lives in the main process (`globalThis`), so the second
 * project reuses the first one's and the last teardown stops it: one sandbox per run.
 *
 * The environment it exports (PODMAN_SOCKET, SANDBOX_*) is inherited by the test workers.
 * Set NDP_SANDBOX_ENV=<file> to reuse an already running sandbox (written by `sandbox.sh start`).
 */
import { execFileSync } from "node:child_process"
import * as net from "node:net"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

const script = path.resolve(import.meta.dirname, "sandbox.sh")

const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
  )

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

interface Sandbox {
  readonly env: Record<string, string>
  /** Projects still using it. */
  users: number
  readonly stop: () => void
}

const KEY = Symbol.for("nomad-driver-podman/test-sandbox")
const shared = globalThis as { [KEY]?: Promise<Sandbox> }

const start = async (): Promise<Sandbox> => {
  if (process.env.NDP_SANDBOX_ENV) {
    return { env: parseEnv(readFileSync(process.env.NDP_SANDBOX_ENV, "utf8")), users: 0, stop: () => {} }
  }
  // Short path: unix socket paths must stay under 108 bytes.
  const dir = mkdtempSync("/tmp/ndp-")
  rmSync(dir, { recursive: true })
  let out: string
  try {
    out = execFileSync("bash", [script, "start", dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      // a free port per run, so several suites (and developers) can run side by side
      env: { ...process.env, SANDBOX_REGISTRY_PORT: String(await freePort()) }
    })
  } catch (e) {
    execFileSync("bash", [script, "stop", dir], { stdio: "inherit" })
    throw new Error(`The integration and e2e tests need a real Podman (scripts/setup.sh installs it): ${String(e)}`)
  }
  const stop = () => {
    // No test may leave a container behind: list what is left before tearing the service down.
    const left = execFileSync("curl", ["-s", "--max-time", "10", "--unix-socket", `${dir}/podman.sock`,
      "http://d/v4.0.0/libpod/containers/json?all=true"], { encoding: "utf8" })
    const names = (JSON.parse(left || "[]") as Array<{ Names?: Array<string> }>).map((c) => c.Names?.[0] ?? "?")
    execFileSync("bash", [script, "stop", dir], { stdio: "inherit" })
    if (names.length > 0) {
      throw new Error(`tests left ${names.length} container(s) behind: ${names.join(", ")}`)
    }
  }
  return { env: parseEnv(out), users: 0, stop }
}

export default async function setup(project: TestProject) {
  const sandbox = await (shared[KEY] ??= start())
  sandbox.users++
  Object.assign(process.env, sandbox.env)
  project.provide("sandbox", sandbox.env)
  return () => {
    if (--sandbox.users > 0) return
    delete shared[KEY]
    sandbox.stop()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    sandbox: Record<string, string>
  }
}
