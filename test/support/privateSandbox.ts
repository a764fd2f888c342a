/**
 * A private Podman sandbox (service + registry) for one test file, for tests that must not touch the
 * shared one: stopping and starting the Podman service (an outage), a reaper or image GC that would
 * take other files' containers and images for its own. Started with test/support/sandbox.sh in a
 * fresh directory on a free registry port, stopped (by PID, everything removed) in `stop`.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

const script = path.resolve(import.meta.dirname, "sandbox.sh")

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

export interface PrivateSandbox {
  readonly dir: string
  /** `unix:///…/podman.sock` */
  readonly socket: string
  /** `127.0.0.1:<port>` */
  readonly registry: string
  /** The environment the Podman CLI needs to work on this sandbox's storage (local mode). */
  readonly cliEnv: Record<string, string>
  readonly serviceStop: () => void
  readonly serviceStart: () => void
  readonly stop: () => void
}

/** Starts a sandbox; `extraInsecure` (host:port) is listed as an insecure registry too. */
export const startPrivateSandbox = async (options: { readonly extraInsecure?: string } = {}): Promise<PrivateSandbox> => {
  // short path: unix socket paths must stay under 108 bytes
  const dir = mkdtempSync("/tmp/ndq-")
  rmSync(dir, { recursive: true })
  const port = await freePort()
  const run = (cmd: string) =>
    execFileSync("bash", [script, cmd, dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, SANDBOX_REGISTRY_PORT: String(port), ...(options.extraInsecure ? { SANDBOX_EXTRA_INSECURE: options.extraInsecure } : {}) }
    })
  try {
    run("start")
  } catch (e) {
    run("stop")
    throw e
  }
  return {
    dir,
    socket: `unix://${dir}/podman.sock`,
    registry: `127.0.0.1:${port}`,
    cliEnv: {
      CONTAINERS_CONF: `${dir}/containers.conf`,
      CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`,
      CONTAINERS_REGISTRIES_CONF: `${dir}/registries.conf`,
      TMPDIR: `${dir}/imgtmp`,
      HOME: `${dir}/home`
    },
    serviceStop: () => void run("service-stop"),
    serviceStart: () => void run("service-start"),
    stop: () => void run("stop")
  }
}
