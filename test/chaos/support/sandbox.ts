/**
 * The chaos suite's private Podman (globalSetup.ts): its address, restarts of its API service, and
 * the containers it holds, storage-only ones included (`podman ps -a --external`, which the API
 * does not show: what an interrupted create leaves behind).
 */
import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)
const script = path.resolve(import.meta.dirname, "../../support/sandbox.sh")

export const chaosSandbox = () => {
  const dir = process.env.CHAOS_SANDBOX_DIR
  const socket = process.env.CHAOS_PODMAN_SOCKET
  if (!dir || !socket) throw new Error("CHAOS_SANDBOX_DIR/CHAOS_PODMAN_SOCKET: run the chaos project (its global setup starts the sandbox)")
  return { dir, socket }
}

/** Stops the sandbox's API service with `signal` and starts it again; resolves once it answers. */
export const restartPodman = async (signal: "TERM" | "KILL"): Promise<void> => {
  await run("bash", [script, "restart-service", chaosSandbox().dir, signal], { timeout: 120_000 })
}

export interface ListedContainer {
  readonly id: string
  readonly names: ReadonlyArray<string>
  readonly state: string
  /** Not a libpod container: storage only (an interrupted create). */
  readonly external: boolean
}

/** Every container of the sandbox, storage-only ones included. */
export const listContainers = async (): Promise<ReadonlyArray<ListedContainer>> => {
  const { stdout } = await run("bash", [script, "podman", chaosSandbox().dir, "ps", "-a", "--external", "--format", "json"], {
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024
  })
  const rows = JSON.parse(stdout || "[]") as Array<{ Id: string; Names?: Array<string>; State?: string; IsInfra?: boolean; Status?: string }>
  return rows.map((r) => ({
    id: r.Id,
    names: r.Names ?? [],
    state: r.State ?? "",
    external: (r.State ?? "").toLowerCase() === "storage" || /storage/i.test(r.Status ?? "")
  }))
}

/** Removes containers by id, storage-only ones included (cleanup after a run; never fails). */
export const removeContainers = async (ids: ReadonlyArray<string>): Promise<void> => {
  if (ids.length === 0) return
  const dir = chaosSandbox().dir
  await run("bash", [script, "podman", dir, "rm", "-f", "-t", "0", ...ids], { timeout: 120_000 }).catch(() => undefined)
  await run("bash", [script, "podman", dir, "rm", "-f", "--storage", ...ids], { timeout: 120_000 }).catch(() => undefined)
}
