/**
 * Flat memory: the per-task state of a failed or destroyed task is released. The plugin executable
 * runs a few thousand StartTasks that fail at every stage (the decoder, the translation, Podman's
 * create, Podman's start after the container was created, the image pull) and a few that start
 * and are destroyed; its RSS and heap after a full GC (memProbe.cjs, through NODE_OPTIONS) must end
 * within 10 MiB of where they were after a warm-up round.
 *
 * The readings along the way still creep up a little (about 0.5 KiB of heap per failing start on
 * the decoder path, 2 KiB on Podman's create/start refusals). Heap snapshots of the executable
 * before and after 600-2000 more failing starts show that creep is V8's compiled code (optimised
 * code, deopt data, feedback vectors: it levels off once the hot paths are compiled), with no
 * per-start object left behind (a few dozen objects in all).
 */
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTempDir, removeDir } from "../support/tmp.ts"
import { ChaosPlugin, type MemoryReading, REAPER_BOUND_MILLIS, rpc } from "./support/plugin.ts"
import { leftoversOf, removeContainers } from "./support/sandbox.ts"
import { settings } from "./support/settings.ts"
import { Tally } from "./support/tally.ts"
import { wireTask } from "./support/tasks.ts"

const root = makeTempDir("ndp-mem-")
const tally = new Tally("memory")
const allocs = new Set<string>()
let plugin: ChaosPlugin

beforeAll(async () => {
  plugin = await ChaosPlugin.start({ memoryProbe: true })
}, 120_000)

afterAll(async () => {
  await plugin?.kill()
  removeDir(root)
}, 120_000)

const MiB = 1024 * 1024
const busybox = "localhost/busybox:latest"

/** Ways for a StartTask to fail, at every stage, and one way to start and be destroyed. */
const kinds: ReadonlyArray<{ readonly name: string; readonly config: Record<string, unknown>; readonly env?: Record<string, string> }> = [
  { name: "decoder", config: { image: busybox, cap_add: ["FOO"], args: ["x".repeat(10_000)] } },
  { name: "translation", config: { image: busybox }, env: { "A=B": "x".repeat(100_000) } },
  { name: "create", config: { image: busybox, command: "/bin/true", volumes: ["/no/such/source:/data"] } },
  { name: "start", config: { image: busybox, command: "/no/such/command" } },
  { name: "pull", config: { image: "127.0.0.1:1/chaos/nosuch:latest", image_pull_timeout: "5s" } },
  { name: "destroyed", config: { image: busybox, command: "/bin/sh", args: ["-c", "exit 0"] } }
]

/** CHAOS_MEMORY_KINDS=decoder,start runs only those kinds (to find which path holds memory). */
const only = process.env.CHAOS_MEMORY_KINDS?.split(",")
const chosen = only === undefined ? kinds : kinds.filter((k) => only.includes(k.name))

const start = async (i: number) => {
  // mostly failures; one in twenty starts and is destroyed
  const kind = only !== undefined ? chosen[i % chosen.length]! : i % 20 === 19 ? kinds[5]! : kinds[i % 5]!
  const task = wireTask(root, {
    name: "mem",
    config: kind.config,
    wire: { env: { NOMAD_TASK_NAME: "mem", ...kind.env } }
  })
  allocs.add(task.allocId)
  const d = plugin.clients.driver
  const r = await rpc(d.startTask.bind(d), { task }, 60_000)
  if (!r.ok && r.unanswered) tally.add("unanswered-rpc", kind.name)
  else tally.add(`${kind.name}→${r.ok ? "OK" : grpc.status[r.code]}`)
  if (r.ok) {
    await rpc(d.waitTask.bind(d), { taskId: task.id }, 60_000)
    const destroyed = await rpc(d.destroyTask.bind(d), { taskId: task.id, force: true }, 60_000)
    if (!destroyed.ok) tally.add("destroy-failed", destroyed.details)
  }
}

const run = async (from: number, n: number) => {
  let next = from
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < from + n) await start(next++)
  }))
}

const mib = (m: MemoryReading) => ({
  rss: +(m.rss / MiB).toFixed(1),
  heapTotal: +(m.heapTotal / MiB).toFixed(1),
  heapUsed: +(m.heapUsed / MiB).toFixed(1),
  external: +(m.external / MiB).toFixed(1),
  arrayBuffers: +(m.arrayBuffers / MiB).toFixed(1)
})

describe("flat memory under failing starts", () => {
  it("RSS and heap after a GC end within 10 MiB of where they started", async () => {
    const warmUp = Math.max(50, Math.floor(settings.memoryStarts / 5))
    await run(0, warmUp)
    const before = await plugin.memory()
    // readings along the way: a leak grows with every round, a warm-up levels off
    const readings = [mib(before)]
    const chunk = Math.max(50, Math.ceil(settings.memoryStarts / 5))
    for (let done = 0; done < settings.memoryStarts; done += chunk) {
      await run(warmUp + done, Math.min(chunk, settings.memoryStarts - done))
      readings.push(mib(await plugin.memory()))
    }
    const after = await plugin.memory()

    const left = await leftoversOf(allocs, REAPER_BOUND_MILLIS)
    for (const ct of left) tally.add(ct.external ? "leaked-storage-container" : "leaked-container", `${ct.names[0]} (${ct.state})`)
    await removeContainers(left.map((ct) => ct.id))

    tally.report({ warmUp, starts: settings.memoryStarts, readingsMiB: readings })
    expect(plugin.crashes).toEqual([])
    tally.assertNone("unanswered-rpc")
    tally.assertNone("destroy-failed")
    tally.assertNone("leaked-container")
    tally.assertNone("leaked-storage-container")
    expect(after.heapUsed - before.heapUsed, "heap growth (bytes)").toBeLessThan(10 * MiB)
    // RSS also counts what V8 and malloc keep outside the heap (compiled code, freed pages not yet
    // given back): after the small profile's short warm-up, with the rest of `npm test` running
    // beside it, that alone moved RSS by up to 16 MiB while the heap grew 1 MiB. The small profile
    // therefore bounds RSS loosely (a gross leak); the full profile (`npm run chaos`, a warm-up of
    // 600 starts) holds it to the 10 MiB of the guarantee.
    const rssBound = settings.profile === "full" ? 10 * MiB : 32 * MiB
    expect(after.rss - before.rss, "RSS growth (bytes)").toBeLessThan(rssBound)
  }, 3_600_000)
})
