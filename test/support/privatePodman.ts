/**
 * A Podman API service of the test's own (test/support/sandbox.sh, no registry), for tests that stop
 * and restart the service: the suite's shared service must never go down under other test files.
 * The service runs exactly as the sandbox script runs it (same environment, cwd, socket), so a
 * restarted one finds the same storage and containers; `sandbox.sh stop` tears it down by the PID
 * in `service.pid`, which `startService` keeps current.
 */
import { execFileSync, spawn } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { REPO_ROOT } from "./processes.ts"

const script = path.join(REPO_ROOT, "test/support/sandbox.sh")

export interface PrivatePodman {
  readonly dir: string
  /** `unix://…/podman.sock` */
  readonly socket: string
  /** SIGKILLs the API service (containers and their conmons keep running) and waits until it is gone. */
  readonly stopService: Effect.Effect<void>
  /** Starts the API service again and waits until it answers. */
  readonly startService: Effect.Effect<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const ping = (dir: string) => {
  try {
    execFileSync("curl", ["-fsS", "--max-time", "2", "--unix-socket", `${dir}/podman.sock`, "http://d/_ping"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** Starts a private sandbox for the Scope's lifetime (stopped, containers and all, when it closes). */
export const privatePodman: Effect.Effect<PrivatePodman, never, import("effect").Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    // Short: unix socket paths must stay under 108 bytes.
    const dir = `/tmp/ndp-pp-${process.pid}-${Math.random().toString(36).slice(2, 7)}`
    execFileSync("bash", [script, "start", dir, "--no-registry"], { stdio: ["ignore", "ignore", "inherit"] })
    return dir
  }),
  (dir) => Effect.sync(() => execFileSync("bash", [script, "stop", dir], { stdio: "inherit" }))
).pipe(Effect.map((dir): PrivatePodman => {
  const pidFile = `${dir}/service.pid`
  const stopService = Effect.promise(async () => {
    const pid = Number(readFileSync(pidFile, "utf8").trim())
    if (alive(pid)) process.kill(pid, "SIGKILL")
    while (alive(pid)) await sleep(20)
    rmSync(`${dir}/podman.sock`, { force: true })
  })
  const startService = Effect.promise(async () => {
    // As sandbox.sh runs it: the sandbox's config files, from the sandbox directory (conmon
    // inherits the cwd), in its own session.
    const env = {
      ...process.env,
      CONTAINERS_CONF: `${dir}/containers.conf`,
      CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`,
      CONTAINERS_REGISTRIES_CONF: `${dir}/registries.conf`,
      TMPDIR: `${dir}/imgtmp`,
      REGISTRY_AUTH_FILE: `${dir}/auth.json`,
      HOME: `${dir}/home`
    }
    const child = spawn("podman", ["system", "service", "--time=0", `unix://${dir}/podman.sock`], {
      cwd: dir,
      env,
      detached: true,
      stdio: "ignore"
    })
    child.unref()
    writeFileSync(pidFile, `${child.pid}\n`)
    for (let i = 0; i < 400 && !ping(dir); i++) await sleep(50)
    if (!ping(dir)) throw new Error(`the private Podman service in ${dir} did not come back`)
  })
  return { dir, socket: `unix://${dir}/podman.sock`, stopService, startService }
}))
