/** Unit tests of the driver's pure helpers: stats deltas, the registry auth chain. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Platform from "../../layers/platform.ts"
import { type AuthServices, resolveAuth } from "../../src/driver/auth.ts"
import { emptyAccumulator, toSample } from "../../src/driver/stats.ts"
import { failOnOom } from "../../src/domain/errors.ts"
import { decodePluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import type { ContainerStats } from "../../src/services/Podman.ts"
import { tempDirForTest, writeFileIn } from "../support/tmp.ts"

/** The credential backends read a file and spawn a helper: Node's platform services. */
const run = <A, E>(eff: Effect.Effect<A, E, AuthServices>) => Effect.runPromise(eff.pipe(Effect.provide(Platform.layer)))

describe("stats deltas", () => {
  const sample = (ms: number, cpuNano: number, sysNano: number, mem: number): ContainerStats => ({
    containerId: "c",
    readAt: new Date(ms),
    cpuNano,
    cpuSystemNano: sysNano,
    systemNano: 0,
    memUsage: mem,
    memLimit: 0,
    pids: 1,
    netInput: 0,
    netOutput: 0,
    blockInput: 0,
    blockOutput: 0
  })
  it("computes percent of a core from sample-to-sample deltas, not from the first sample", () => {
    const [acc1, first] = toSample("t", emptyAccumulator, sample(1_000, 5e9, 1e9, 100), 2000)
    expect(first.cpu.percent).toBe(0)
    // 0.5 s of CPU in 1 s of wall time = 50 %, of which 0.1 s system
    const [acc2, second] = toSample("t", acc1, sample(2_000, 5.5e9, 1.1e9, 300), 2000)
    expect(second.cpu.percent).toBeCloseTo(50)
    expect(second.cpu.systemMode).toBeCloseTo(10)
    expect(second.cpu.userMode).toBeCloseTo(40)
    expect(second.cpu.totalTicks).toBeCloseTo(1000)
    expect(second.memory.maxUsage).toBe(300)
    const [, third] = toSample("t", acc2, sample(3_000, 5.5e9, 1.1e9, 200), 2000)
    expect(third.memory.usage).toBe(200)
    expect(third.memory.maxUsage).toBe(300)
  })
})

describe("registry auth chain", () => {
  it("task auth first, then the plugin auth file by registry host; never the other registries' entries", async () => {
    const file = writeFileIn(tempDirForTest("ndp-auth-"), "config.json", JSON.stringify({
      auths: {
        "registry.example:5000": { auth: Buffer.from("fileuser:filepass").toString("base64") },
        "other.example": { auth: Buffer.from("x:y").toString("base64") }
      }
    }))
    const plugin = await Effect.runPromise(decodePluginConfig({ auth: [{ config: file }] }))
    const withTask = await Effect.runPromise(decodeTaskConfig({ image: "registry.example:5000/a/b", auth: { username: "u", password: "p" } }))
    const withoutTask = await Effect.runPromise(decodeTaskConfig({ image: "registry.example:5000/a/b" }))
    expect(await run(resolveAuth("registry.example:5000/a/b", "registry.example:5000", withTask, plugin))).toMatchObject({ username: "u", password: "p" })
    expect(await run(resolveAuth("registry.example:5000/a/b", "registry.example:5000", withoutTask, plugin))).toMatchObject({ username: "fileuser", password: "filepass" })
    expect(await run(resolveAuth("nowhere.example/a", "nowhere.example", withoutTask, plugin))).toBeUndefined()
    // a short name: the registry is Podman's choice, so no file entry is offered
    expect(await run(resolveAuth("b:1", undefined, withoutTask, plugin))).toBeUndefined()
  })
  it("a failing helper fails the pull with reason auth, unless auth_soft_fail", async () => {
    const plugin = await Effect.runPromise(decodePluginConfig({ auth: [{ helper: "ndp-does-not-exist" }] }))
    const strict = await Effect.runPromise(decodeTaskConfig({ image: "quay.io/a/b" }))
    const soft = await Effect.runPromise(decodeTaskConfig({ image: "quay.io/a/b", auth_soft_fail: true }))
    const err = await run(Effect.flip(resolveAuth("quay.io/a/b", "quay.io", strict, plugin)))
    expect(err._tag).toBe("ImagePullError")
    expect(err.reason).toBe("auth")
    expect(await run(resolveAuth("quay.io/a/b", "quay.io", soft, plugin))).toBeUndefined()
  })
})

describe("failOnOom", () => {
  const result = { exitCode: 137, signal: 9, finishedAt: new Date(0) }
  it("fails with OomKilled naming the task when the OOM killer ended it; passes any other result through", async () => {
    const err = await Effect.runPromise(Effect.flip(failOnOom("t1")({ ...result, oomKilled: true })))
    expect(err._tag).toBe("OomKilled")
    expect(err.message).toBe("task t1 was killed by the OOM killer (exit code 137)")
    expect(await Effect.runPromise(failOnOom("t1")({ ...result, oomKilled: false }))).toMatchObject({ exitCode: 137 })
  })
})
