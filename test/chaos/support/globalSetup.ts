/**
 * Vitest global setup of the `chaos` project: a PRIVATE Podman sandbox (test/support/sandbox.sh,
 * no registry) that only the chaos suite uses, because it kills and restarts that sandbox's API
 * service; never the sandbox the integration and e2e projects share. Its address reaches the test
 * workers as CHAOS_SANDBOX_DIR and CHAOS_PODMAN_SOCKET (PODMAN_SOCKET stays the shared one's).
 *
 * Set CHAOS_SANDBOX_ENV=<file> (written by `sandbox.sh start`) to use a sandbox already running.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"

const script = path.resolve(import.meta.dirname, "../../support/sandbox.sh")

const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
  )

export default function setup() {
  if (process.env.CHAOS_SANDBOX_ENV) {
    const env = parseEnv(readFileSync(process.env.CHAOS_SANDBOX_ENV, "utf8"))
    process.env.CHAOS_SANDBOX_DIR = env.SANDBOX_DIR
    process.env.CHAOS_PODMAN_SOCKET = env.PODMAN_SOCKET
    return () => {}
  }
  // Short path: unix socket paths must stay under 108 bytes.
  const dir = mkdtempSync("/tmp/ndp-chaos-")
  rmSync(dir, { recursive: true })
  let out: string
  try {
    out = execFileSync("bash", [script, "start", dir, "--no-registry"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  } catch (e) {
    execFileSync("bash", [script, "stop", dir], { stdio: "inherit" })
    throw new Error(`The chaos suite needs a real Podman (scripts/setup.sh installs it): ${String(e)}`)
  }
  const env = parseEnv(out)
  process.env.CHAOS_SANDBOX_DIR = env.SANDBOX_DIR
  process.env.CHAOS_PODMAN_SOCKET = env.PODMAN_SOCKET
  return () => {
    execFileSync("bash", [script, "stop", dir], { stdio: "inherit" })
  }
}
