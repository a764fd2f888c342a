/**
 * The whole driver with the varlink transport SELECTED by configuration: the plugin's socket is
 * `varlink:unix:<socket of the test-only io.podman service>`, so the Podman layer builds the client
 * with makeVarlinkClient; the test service runs every call on the real Podman REST service of the
 * test run. Start, logs, wait (exit code), inspect, stats, exec, stop and destroy of real containers.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { makeNomadTask, type NomadTask } from "../../src/domain/NomadTask.ts"
import { decodeTaskConfig, type TaskConfigInput } from "../../src/domain/TaskConfig.ts"
import { driverLayer } from "../../layers/stacks.ts"
import { Driver } from "../../src/services/Driver.ts"
import { Podman } from "../../src/services/Podman.ts"
import { sig } from "../support/driver.ts"
import { libpod, podmanSocketPath } from "../support/libpod.ts"
import { type PodmanVarlinkService, startPodmanVarlinkService } from "../support/varlink/PodmanVarlinkService.ts"

const PODMAN_SOCKET = process.env.PODMAN_SOCKET ?? ""
let dir = ""
let service: PodmanVarlinkService
let rt: ManagedRuntime.ManagedRuntime<Driver | Podman | LogSinks.MemoryLogSink, never>
const started: Array<string> = []

// The shipped driver layer: a `varlink:` socket selects makeVarlinkClient by configuration alone.
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "pvd-"))
  service = await startPodmanVarlinkService(path.join(dir, "io.podman"), PODMAN_SOCKET)
  rt = makeRuntime()
})

afterAll(async () => {
  for (const id of started) await rt.runPromise(Driver.use((d) => d.destroyTask(id, true))).catch(() => undefined)
  await rt?.dispose()
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A driver whose only socket is the varlink test service (as the plugin config would select it). */
const makeRuntime = () =>
  ManagedRuntime.make(
    driverLayer.pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: `varlink:${service.address}` }),
          LogSinks.layerMemory
        )
      )
    )
  )

const run = <A, E>(eff: Effect.Effect<A, E, Driver | Podman | LogSinks.MemoryLogSink>) => rt.runPromise(eff)
const driver = <A, E>(f: (d: Driver["Service"]) => Effect.Effect<A, E>) => run(Driver.use(f))
/** A task config decoded as an embedder would (startTask takes the typed config). */
const cfg = (input: TaskConfigInput) => Effect.runSync(decodeTaskConfig(input))
const stdout = (taskId: string) => run(LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stdout")))
const stderr = (taskId: string) => run(LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stderr")))
const task = (name: string): NomadTask => {
  const t = makeNomadTask({ name })
  started.push(t.id)
  return t
}
const libpodStatus = async (id: string) => (await libpod("GET", `/v4.0.0/libpod/containers/${id}/json`, undefined, podmanSocketPath(PODMAN_SOCKET))).status

describe("Driver with the varlink transport selected", () => {
  it("the configured socket is served by the varlink client", async () => {
    const client = await run(Podman.use((p) => p.client()))
    expect(client.capabilities.transport).toBe("varlink")
    expect(client.address).toBe(`varlink:${service.address}`)
    expect((await run(client.ping)).apiVersion).toBe("1")
  })

  it("start, logs on the right stream, wait with the exit code, inspect, destroy", async () => {
    const t = task("vl-basic")
    const before = service.calls.length
    const s = await driver((d) =>
      d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "echo out-line; echo err-line >&2; exit 3"] }))
    )
    const result = await driver((d) => d.waitTask(t.id))
    expect(result.exitCode).toBe(3)
    await expect.poll(() => stdout(t.id), { timeout: 10_000 }).toContain("out-line")
    await expect.poll(() => stderr(t.id), { timeout: 10_000 }).toContain("err-line")
    const status = await driver((d) => d.inspectTask(t.id))
    expect(status.state).toBe("exited")
    expect(status.exitResult?.exitCode).toBe(3)
    // the calls really went over io.podman
    const calls = service.calls.slice(before)
    expect(calls).toContain("io.podman.CreateContainer")
    expect(calls).toContain("io.podman.StartContainer")
    await driver((d) => d.destroyTask(t.id, false))
    expect(await libpodStatus(s.state.containerId)).toBe(404)
  })

  it("six running tasks (each following its log and waiting) leave the connection pool free", async () => {
    const ts = Array.from({ length: 6 }, (_, i) => task(`vl-many-${i}`))
    await Promise.all(ts.map((t) =>
      driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", `echo hello-${t.name}; exec sleep 300`], init: true })))
    ))
    for (const t of ts) {
      await expect.poll(() => stdout(t.id), { timeout: 10_000 }).toContain(`hello-${t.name}`)
      expect((await driver((d) => d.inspectTask(t.id))).state).toBe("running")
    }
    await Promise.all(ts.map((t) => driver((d) => d.stopTask(t.id, 2_000, sig("SIGTERM")))))
    for (const t of ts) {
      expect((await driver((d) => d.waitTask(t.id))).exitCode).toBe(143)
      await driver((d) => d.destroyTask(t.id, false))
    }
  })

  it("exec, stats, stop and destroy of a running task", async () => {
    const t = task("vl-running")
    const s = await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true })))
    const r = await driver((d) => d.execTask(t.id, ["/bin/sh", "-c", "echo hi; echo oops >&2; exit 5"], 10_000))
    expect(Buffer.from(r.stdout).toString()).toBe("hi\n")
    expect(Buffer.from(r.stderr).toString()).toBe("oops\n")
    expect(r.exitCode).toBe(5)
    const samples = await driver((d) => d.taskStats(t.id, 300).pipe(Stream.take(2), Stream.runCollect))
    expect(samples.length).toBe(2)
    expect(samples[1]!.memory.usage).toBeGreaterThan(0)
    await driver((d) => d.stopTask(t.id, 2_000, sig("SIGTERM")))
    const exit = await driver((d) => d.waitTask(t.id))
    expect(exit.exitCode).toBe(143) // catatonit (init) forwards SIGTERM to sleep
    await driver((d) => d.destroyTask(t.id, false))
    expect(await libpodStatus(s.state.containerId)).toBe(404)
  })

  it("recover: a new driver instance re-attaches over varlink from the DriverState, then waits, stops and destroys", async () => {
    const t = task("vl-recover")
    const s = await driver((d) =>
      d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true }))
    )
    const rt2 = makeRuntime()
    try {
      const on2 = <A, E>(f: (d: Driver["Service"]) => Effect.Effect<A, E>) => rt2.runPromise(Driver.use(f))
      await on2((d) => d.recoverTask(s.state))
      await on2((d) => d.recoverTask(s.state)) // idempotent
      expect((await on2((d) => d.inspectTask(t.id))).state).toBe("running")
      await on2((d) => d.stopTask(t.id, 2_000, sig("SIGTERM")))
      expect((await on2((d) => d.waitTask(t.id))).exitCode).toBe(143)
      await on2((d) => d.destroyTask(t.id, false))
      expect(await libpodStatus(s.state.containerId)).toBe(404)
    } finally {
      await rt2.dispose()
    }
  })
})
