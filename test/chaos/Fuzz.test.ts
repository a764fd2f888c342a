/**
 * Property-based fuzzing of StartTask through the real gRPC socket of the plugin executable, on
 * the chaos suite's private Podman: fast-check cases (support/hostile.ts) sent as Nomad sends them
 * (cty msgpack in a protobuf StartTaskRequest), plus protobuf requests with random bytes changed.
 *
 * Asserted: at least 99% of the hostile configs are INVALID_ARGUMENT, and those refused by the
 * driver's own checks name their field; no answer is INTERNAL for them; the harmless ones start;
 * every request is answered within its deadline; the plugin never crashes; its log stays bounded;
 * no container is left behind (storage-only ones included) once the started tasks are destroyed.
 */
import * as grpc from "@grpc/grpc-js"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { StartTaskRequest, StartTaskResponse } from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { makeTempDir, removeDir } from "../support/tmp.ts"
import { fuzzCase, type FuzzCase } from "./support/hostile.ts"
import { ChaosPlugin, REAPER_BOUND_MILLIS, rpc } from "./support/plugin.ts"
import { leftoversOf, removeContainers } from "./support/sandbox.ts"
import { settings } from "./support/settings.ts"
import { Tally } from "./support/tally.ts"
import { wireTask } from "./support/tasks.ts"

const root = makeTempDir("ndp-fuzz-")
const tally = new Tally("fuzz")
const allocs = new Set<string>()
let plugin: ChaosPlugin

beforeAll(async () => {
  plugin = await ChaosPlugin.start()
}, 120_000)

afterAll(async () => {
  await plugin?.kill()
  removeDir(root)
}, 120_000)

/** A little pool: `n` workers over `items`. */
const pool = async <A>(items: ReadonlyArray<A>, n: number, f: (a: A, i: number) => Promise<void>) => {
  let next = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++
      await f(items[i]!, i)
    }
  }))
}

const START_DEADLINE = 60_000

const runCase = async (c: FuzzCase): Promise<void> => {
  const { draft } = c
  const task = wireTask(root, {
    name: "fuzz",
    config: draft.config,
    wire: { ...draft.wire, env: { NOMAD_TASK_NAME: "fuzz", ...draft.env } }
  })
  allocs.add(task.allocId)
  const d = plugin.clients.driver
  const r = await rpc(d.startTask.bind(d), { task }, START_DEADLINE)
  const label = c.names.join(" + ") || "base"
  if (!r.ok && r.unanswered) {
    tally.add("unanswered-rpc", `StartTask ${label}`)
    return
  }
  if (r.ok) {
    tally.add(`${c.expect}→OK`, label)
    const destroyed = await rpc(d.destroyTask.bind(d), { taskId: task.id, force: true }, 60_000)
    if (!destroyed.ok) tally.add(destroyed.unanswered ? "unanswered-rpc" : "destroy-failed", `${label}: ${destroyed.ok ? "" : destroyed.details}`)
    return
  }
  tally.add(`${c.expect}→${grpc.status[r.code]}`, `${label}: ${r.details}`)
  if (c.expect === "invalid" && r.code === grpc.status.INVALID_ARGUMENT && c.field !== undefined && !r.details.includes(c.field)) {
    tally.add("invalid-field-not-named", `${label} (want ${c.field}): ${r.details}`)
  }
}

/** A valid StartTaskRequest with random bytes changed or cut: decodes, or is INVALID_ARGUMENT. */
const protoCase = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined })
})

describe("fuzzing StartTask through the plugin's gRPC socket", () => {
  it("hostile configs are INVALID_ARGUMENT naming the field; nothing hangs, crashes or leaks", async () => {
    const cases = fc.sample(fuzzCase(0.1), { numRuns: settings.fuzz, seed: settings.seed })
    const logBefore = plugin.logBytes
    await pool(cases, 4, runCase)

    // raw protobuf mutations: never INTERNAL, never a crash
    const protos = fc.sample(protoCase, { numRuns: Math.max(20, Math.floor(settings.fuzz / 10)), seed: settings.seed })
    const raw = new grpc.Client(`unix://${plugin.address}`, grpc.credentials.createInsecure())
    for (const p of protos) {
      const task = wireTask(root, { name: "proto", config: { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "exit 0"] } })
      allocs.add(task.allocId)
      const bytes = Buffer.from(StartTaskRequest.encode({ task }).finish())
      for (const [at, value] of p.flips) bytes[at % bytes.length] = value
      const sent = p.cut === undefined ? bytes : bytes.subarray(0, p.cut % bytes.length)
      const outcome = await new Promise<{ code: number; details: string; response?: Buffer }>((resolve) => {
        raw.makeUnaryRequest("/hashicorp.nomad.plugins.drivers.proto.Driver/StartTask", (b: Buffer) => b, (b: Buffer) => b, sent,
          new grpc.Metadata(), { deadline: Date.now() + START_DEADLINE },
          (err, response) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: "", ...(response ? { response } : {}) }))
      })
      tally.add(`proto→${grpc.status[outcome.code]}`, outcome.details)
      if (outcome.code === grpc.status.DEADLINE_EXCEEDED) tally.add("unanswered-rpc", "StartTask (mutated protobuf)")
      if (outcome.code === grpc.status.INTERNAL) tally.add("proto-internal", outcome.details)
      // a mutation that still decodes to a runnable task started a container: destroy it, by the id
      // the plugin answered with (a flipped byte may have changed the task's id)
      if (outcome.code === 0) {
        const d = plugin.clients.driver
        const started = outcome.response === undefined ? undefined : StartTaskResponse.decode(outcome.response).handle?.config?.id
        await rpc(d.destroyTask.bind(d), { taskId: started ?? task.id, force: true }, 60_000)
      }
    }
    raw.close()

    // what is left of the fuzzed allocations (storage-only containers included)
    const left = await leftoversOf(allocs, REAPER_BOUND_MILLIS)
    for (const ct of left) tally.add(ct.external ? "leaked-storage-container" : "leaked-container", `${ct.names[0]} (${ct.state})`)
    await removeContainers(left.map((ct) => ct.id))

    const invalid = [...tally.counts.entries()].filter(([k]) => k.startsWith("invalid→")).reduce((n, [, v]) => n + v, 0)
    const refused = tally.get("invalid→INVALID_ARGUMENT")
    tally.report({ cases: cases.length, protos: protos.length, invalid, refused, logBytes: plugin.logBytes - logBefore })

    expect(plugin.crashes).toEqual([])
    expect(refused / Math.max(1, invalid), "share of hostile configs answered INVALID_ARGUMENT").toBeGreaterThanOrEqual(0.99)
    tally.assertNone("invalid→INTERNAL")
    tally.assertNone("invalid→OK")
    tally.assertNone("invalid-field-not-named")
    tally.assertNone("proto-internal")
    tally.assertNone("destroy-failed")
    tally.assertNone("unanswered-rpc")
    tally.assertNone("leaked-container")
    tally.assertNone("leaked-storage-container")
    const valid = [...tally.counts.entries()].filter(([k]) => k.startsWith("valid→")).reduce((n, [, v]) => n + v, 0)
    expect(tally.get("valid→OK"), "harmless configs that started").toBe(valid)
    // hostile input must not flood the agent's log: a few KiB per case at most
    expect(plugin.logBytes - logBefore).toBeLessThan((cases.length + protos.length) * 4096)
  }, 3_600_000)
})
