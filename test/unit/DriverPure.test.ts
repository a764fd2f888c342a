/** Unit tests of the driver's pure helpers: durations, signals, stats deltas, image sources, auth lookup. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { registryHost, resolveAuth } from "../../src/driver/auth.ts"
import { imageSource } from "../../src/driver/images.ts"
import { emptyAccumulator, toSample } from "../../src/driver/stats.ts"
import { parseGoDuration, signalName, signalNumber } from "../../src/driver/util.ts"
import { decodePluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import type { ContainerStats } from "../../src/services/Podman.ts"

describe("parseGoDuration", () => {
  it.each([
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["300ms", 300],
    ["1.5s", 1_500],
    ["60s", 60_000],
    ["10", 10_000]
  ])("%s → %d ms", (text, ms) => expect(parseGoDuration(text)).toBe(ms))
  it.each(["", "5x", "m5", "5m junk"])("rejects %j", (text) => expect(parseGoDuration(text)).toBeUndefined())
})

describe("signals", () => {
  it("normalises names and numbers", () => {
    expect(signalNumber("SIGTERM")).toBe(15)
    expect(signalNumber("term")).toBe(15)
    expect(signalNumber("9")).toBe(9)
    expect(signalName(10)).toBe("SIGUSR1")
    expect(signalName("HUP")).toBe("SIGHUP")
    expect(signalName("SIGNOPE")).toBeUndefined()
  })
})

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

describe("image sources", () => {
  it("classifies archives and registry references", () => {
    expect(imageSource("oci-archive:/tmp/a.tar")).toEqual({ _tag: "archive", format: "oci-archive", location: "/tmp/a.tar" })
    expect(imageSource("docker-archive:/tmp/a.tar:img")).toEqual({ _tag: "archive", format: "docker-archive", location: "/tmp/a.tar" })
    expect(imageSource("docker-archive:https://h:8/a.tar")).toEqual({ _tag: "archive", format: "docker-archive", location: "https://h:8/a.tar" })
    expect(imageSource("docker://docker.io/library/redis:7")).toEqual({ _tag: "registry", ref: "docker.io/library/redis:7" })
    expect(imageSource("redis:7")).toEqual({ _tag: "registry", ref: "redis:7" })
  })
  it("finds the registry host, including host:port without a tag", () => {
    expect(registryHost("127.0.0.1:5000/test/busybox")).toBe("127.0.0.1:5000")
    expect(registryHost("quay.io/a/b:1")).toBe("quay.io")
    expect(registryHost("redis:7")).toBe("docker.io")
    expect(registryHost("localhost/busybox:latest")).toBe("localhost")
  })
})

describe("registry auth chain", () => {
  it("task auth first, then the plugin auth file by registry host; never the other registries' entries", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ndp-auth-"))
    try {
      const file = path.join(dir, "config.json")
      writeFileSync(file, JSON.stringify({
        auths: {
          "registry.example:5000": { auth: Buffer.from("fileuser:filepass").toString("base64") },
          "other.example": { auth: Buffer.from("x:y").toString("base64") }
        }
      }))
      const plugin = await Effect.runPromise(decodePluginConfig({ auth: [{ config: file }] }))
      const withTask = await Effect.runPromise(decodeTaskConfig({ image: "registry.example:5000/a/b", auth: [{ username: "u", password: "p" }] }))
      const withoutTask = await Effect.runPromise(decodeTaskConfig({ image: "registry.example:5000/a/b" }))
      expect(await Effect.runPromise(resolveAuth("registry.example:5000/a/b", withTask, plugin))).toMatchObject({ username: "u", password: "p" })
      expect(await Effect.runPromise(resolveAuth("registry.example:5000/a/b", withoutTask, plugin))).toMatchObject({ username: "fileuser", password: "filepass" })
      expect(await Effect.runPromise(resolveAuth("nowhere.example/a", withoutTask, plugin))).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it("a failing helper fails the pull with reason auth, unless auth_soft_fail", async () => {
    const plugin = await Effect.runPromise(decodePluginConfig({ auth: [{ helper: "ndp-does-not-exist" }] }))
    const strict = await Effect.runPromise(decodeTaskConfig({ image: "quay.io/a/b" }))
    const soft = await Effect.runPromise(decodeTaskConfig({ image: "quay.io/a/b", auth_soft_fail: true }))
    const err = await Effect.runPromise(Effect.flip(resolveAuth("quay.io/a/b", strict, plugin)))
    expect(err._tag).toBe("ImagePullError")
    expect(err.reason).toBe("auth")
    expect(await Effect.runPromise(resolveAuth("quay.io/a/b", soft, plugin))).toBeUndefined()
  })
})
