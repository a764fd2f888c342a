/**
 * The chaos suite's private Podman (globalSetup.ts): its address, restarts of its API service, and
 * the containers it holds, storage-only ones included (`podman ps -a --external`, which the API
 * does not show: what an interrupted create leaves behind).
 */
import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { LABEL_ALLOC_ID } from "../../../src/translate/index.ts"
import { chaosAllocOf } from "./tasks.ts"

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
  /**
   * The allocation it belongs to: the driver's alloc_id label, else (storage-only containers have
   * no labels) the `<task>.<alloc id>` name, when it is a chaos allocation.
   */
  readonly allocId: string | undefined
}

/** Every container of the sandbox, storage-only ones included. */
export const listContainers = async (): Promise<ReadonlyArray<ListedContainer>> => {
  const { stdout } = await run("bash", [script, "podman", chaosSandbox().dir, "ps", "-a", "--external", "--format", "json"], {
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024
  })
  const rows = JSON.parse(stdout || "[]") as Array<{
    Id: string; Names?: Array<string>; State?: string; Status?: string; Labels?: Record<string, string> | null
  }>
  return rows.map((r) => {
    const names = r.Names ?? []
    return {
      id: r.Id,
      names,
      state: r.State ?? "",
      external: (r.State ?? "").toLowerCase() === "storage" || /storage/i.test(r.Status ?? ""),
      allocId: r.Labels?.[LABEL_ALLOC_ID] ?? names.map(chaosAllocOf).find((a) => a !== undefined)
    }
  })
}

/** The containers (storage-only ones included) of these allocations. */
export const containersOf = async (allocs: ReadonlySet<string>): Promise<ReadonlyArray<ListedContainer>> =>
  (await listContainers()).filter((ct) => ct.allocId !== undefined && allocs.has(ct.allocId))

/**
 * The containers of these allocations still there after `boundMillis` (eventual removal and the
 * reaper may take a while; none left answers at once).
 */
export const leftoversOf = async (allocs: ReadonlySet<string>, boundMillis: number): Promise<ReadonlyArray<ListedContainer>> => {
  const until = Date.now() + boundMillis
  for (;;) {
    const left = await containersOf(allocs)
    if (left.length === 0 || Date.now() >= until) return left
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}

/** Removes containers by id, storage-only ones included (cleanup after a run; never fails). */
export const removeContainers = async (ids: ReadonlyArray<string>): Promise<void> => {
  if (ids.length === 0) return
  const dir = chaosSandbox().dir
  await run("bash", [script, "podman", dir, "rm", "-f", "-t", "0", ...ids], { timeout: 120_000 }).catch(() => undefined)
  await run("bash", [script, "podman", dir, "rm", "-f", "--storage", ...ids], { timeout: 120_000 }).catch(() => undefined)
}
