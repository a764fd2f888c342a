/**
 * The driver core end to end against the real Podman service the suite starts: every operation
 * Nomad calls, through the public layers (REST transport, in-memory log sink, static config).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Fiber, Layer, ManagedRuntime, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { makeNomadTask, type NomadTask } from "../../src/domain/NomadTask.ts"
import { driverLayer } from "../../src/driver/layers.ts"
import { Driver } from "../../src/services/Driver.ts"
import { Podman } from "../../src/services/Podman.ts"
import { libpod as libpodRequest, removeContainer } from "../support/libpod.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import type { Fingerprint, TaskEvent } from "../../src/domain/results.ts"
import { decodeTaskConfig, type TaskConfigInput } from "../../src/domain/TaskConfig.ts"

const socket = process.env.PODMAN_SOCKET!
const registry = process.env.SANDBOX_REGISTRY!

const makeRuntime = (config: Partial<PluginConfig> = {}) => {
  // `socket` blocks and `socket_path` are mutually exclusive: set socket_path only without blocks
  const sockets: Partial<PluginConfig> = config.socket?.length ? {} : { socket_path: socket }
  const layer = driverLayer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        ConfigLayers.layerStatic({ ...defaultPluginConfig, ...sockets, ...config }),
        LogSinks.layerMemory
      )
    )
  )
  return ManagedRuntime.make(layer)
}

type Rt = ReturnType<typeof makeRuntime>
let rt: Rt
const run = <A, E>(eff: Effect.Effect<A, E, Driver | Podman | LogSinks.MemoryLogSink | DriverConfig>) => rt.runPromise(eff)
const driver = <A, E>(f: (d: Driver["Service"]) => Effect.Effect<A, E>) => run(Driver.use(f))
/** A task config decoded as an embedder would (startTask takes the typed config). */
const cfg = (input: TaskConfigInput) => Effect.runSync(decodeTaskConfig(input))

const started: Array<string> = []
const task = (name: string, extra: Partial<Parameters<typeof makeNomadTask>[0]> = {}): NomadTask => {
  const t = makeNomadTask({ name, ...extra })
  started.push(t.id)
  return t
}

/** Raw libpod GET for assertions (the shared test helper). */
const libpod = async (p: string): Promise<{ status: number; body: any }> => {
  const r = await libpodRequest("GET", `/v4.0.0/libpod${p}`)
  return { status: r.status, body: r.json }
}

/** Raw libpod GET returning the body text (JSON lines endpoints). */
const libpodText = async (p: string): Promise<string> => (await libpodRequest("GET", `/v4.0.0/libpod${p}`)).text

const stdout = (taskId: string) => run(LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stdout")))
const stderr = (taskId: string) => run(LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stderr")))

beforeAll(() => {
  rt = makeRuntime()
})

afterAll(async () => {
  for (const id of started) {
    await driver((d) => d.destroyTask(id, true)).catch(() => undefined)
  }
  await rt.dispose()
})

describe("Driver against real Podman", () => {
  it("starts a task: env, labels, limits, logs on the right stream, exit code", async () => {
    const t = task("basic", {
      env: { FOO: "bar", NOMAD_TASK_NAME: "basic" },
      resources: { memoryMb: 64, cpuShares: 512 },
      jobName: "job1",
      taskGroupName: "group1"
    })
    const s = await driver((d) =>
      d.startTask(t, cfg({
        image: "localhost/busybox:latest",
        command: "/bin/sh",
        args: ["-c", "echo out-$FOO; echo err-line >&2; for i in $(seq 1 200); do echo line-$i; done; exit 3"]
      }))
    )
    expect(s.state.containerName).toBe(`basic-${t.allocId}`)
    const result = await driver((d) => d.waitTask(t.id))
    expect(result.exitCode).toBe(3)
    expect(result.oomKilled).toBe(false)
    const inspect = await libpod(`/containers/${s.state.containerId}/json`)
    expect(inspect.body.Config.Env).toContain("FOO=bar")
    expect(inspect.body.Config.Labels["com.hashicorp.nomad.alloc_id"]).toBe(t.allocId)
    expect(inspect.body.Config.Labels["com.hashicorp.nomad.task_name"]).toBe("basic")
    expect(inspect.body.Config.Labels["com.hashicorp.nomad.job_name"]).toBe("job1")
    expect(inspect.body.HostConfig.Memory).toBe(64 * 1024 * 1024)
    expect(inspect.body.HostConfig.CpuShares).toBe(512)
    // logs: the container printed and exited at once; every line arrives, in order, on its stream
    await expect.poll(() => stdout(t.id), { timeout: 10_000 }).toContain("line-200")
    const out = (await stdout(t.id)).split("\n").filter(Boolean)
    expect(out[0]).toBe("out-bar")
    expect(out.slice(1)).toEqual(Array.from({ length: 200 }, (_, i) => `line-${i + 1}`))
    expect(await stderr(t.id)).toBe("err-line\n")
    const status = await driver((d) => d.inspectTask(t.id))
    expect(status.state).toBe("exited")
    expect(status.exitResult?.exitCode).toBe(3)
    // waitTask can be called again
    expect((await driver((d) => d.waitTask(t.id))).exitCode).toBe(3)
  })

  it("a running task's burst of output reaches its log sink complete and in order (no exit needed)", async () => {
    const t = task("burst")
    await driver((d) =>
      d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "seq 1 300000 & seq 1 300000 >&2 & wait; exec sleep 300"], init: true }))
    )
    const want = Array.from({ length: 300000 }, (_, i) => `${i + 1}`).join("\n") + "\n"
    await expect.poll(async () => (await stdout(t.id)).length, { timeout: 30_000, interval: 200 }).toBe(want.length)
    expect(await stdout(t.id)).toBe(want)
    // stdout and stderr written at the same time: each stream complete and in order
    await expect.poll(async () => (await stderr(t.id)).length, { timeout: 30_000, interval: 200 }).toBe(want.length)
    expect(await stderr(t.id)).toBe(want)
    expect((await driver((d) => d.inspectTask(t.id))).state).toBe("running")
    await driver((d) => d.stopTask(t.id, 1_000, "SIGKILL"))
  })

  it("the last lines of a task that prints and exits at once are forwarded before destroy returns", async () => {
    for (let i = 0; i < 3; i++) {
      const t = task(`quick${i}`)
      await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "seq 1 2000; echo last-err >&2"] })))
      await driver((d) => d.waitTask(t.id))
      await driver((d) => d.destroyTask(t.id, true)) // no waiting for the logs in between
      expect((await stdout(t.id)).split("\n").filter(Boolean).at(-1)).toBe("2000")
      expect(await stderr(t.id)).toBe("last-err\n")
    }
  })

  it("publishes a port that answers from the host", async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000)
    const t = task("web", { resources: { ports: [{ label: "http", value: hostPort, to: 8080, hostIp: "127.0.0.1" }] } })
    const s = await driver((d) => d.startTask(t, cfg({ image: "localhost/httpd:latest", ports: ["http"] })))
    expect(s.network?.portMap.http).toBe(8080)
    await expect
      .poll(
        () =>
          new Promise<string>((resolve) => {
            http.get(`http://127.0.0.1:${hostPort}/`, (res) => {
              let d = ""
              res.on("data", (c) => (d += c))
              res.on("end", () => resolve(d))
            }).on("error", () => resolve(""))
          }),
        { timeout: 10_000 }
      )
      .toContain("hello from busybox httpd")
    await driver((d) => d.stopTask(t.id, 2_000, "SIGTERM"))
    await driver((d) => d.destroyTask(t.id, false))
    expect((await libpod(`/containers/${s.state.containerId}/json`)).status).toBe(404)
  })

  it("stop honours the requested signal, then escalates to SIGKILL after the timeout", async () => {
    const t = task("signals")
    await driver((d) =>
      d.startTask(t, cfg({
        image: "localhost/busybox:latest",
        command: "/bin/sh",
        args: ["-c", "trap 'echo got-usr1; exit 42' USR1; trap '' TERM; while true; do sleep 0.1; done"]
      }))
    )
    await new Promise((r) => setTimeout(r, 500))
    await driver((d) => d.stopTask(t.id, 5_000, "SIGUSR1"))
    const r = await driver((d) => d.waitTask(t.id))
    expect(r.exitCode).toBe(42)
    await expect.poll(() => stdout(t.id), { timeout: 5_000 }).toContain("got-usr1")

    const t2 = task("stubborn")
    await driver((d) =>
      d.startTask(t2, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "trap '' TERM; while true; do sleep 0.1; done"] }))
    )
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    await driver((d) => d.stopTask(t2.id, 500, "SIGTERM"))
    const r2 = await driver((d) => d.waitTask(t2.id))
    expect(r2.exitCode).toBe(137)
    expect(r2.signal).toBe(9)
    expect(Date.now() - t0).toBeLessThan(15_000)
  })

  it("signalTask delivers a signal to a running task", async () => {
    const t = task("hup")
    await driver((d) =>
      d.startTask(t, cfg({
        image: "localhost/busybox:latest",
        command: "/bin/sh",
        args: ["-c", "trap 'echo got-hup' HUP; while true; do sleep 0.1; done"]
      }))
    )
    await new Promise((r) => setTimeout(r, 500))
    await driver((d) => d.signalTask(t.id, "SIGHUP"))
    await expect.poll(() => stdout(t.id), { timeout: 5_000 }).toContain("got-hup")
    await driver((d) => d.stopTask(t.id, 1_000, "SIGKILL"))
  })

  it("exec returns output and exit codes; streaming exec feeds stdin and closes it", async () => {
    const t = task("exec")
    await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true })))
    const r = await driver((d) => d.execTask(t.id, ["/bin/sh", "-c", "echo hi; echo oops >&2; exit 5"], 10_000))
    expect(Buffer.from(r.stdout).toString()).toBe("hi\n")
    expect(Buffer.from(r.stderr).toString()).toBe("oops\n")
    expect(r.exitCode).toBe(5)
    const input = Stream.make(
      { _tag: "Stdin" as const, data: Buffer.from("hello stdin\n") },
      { _tag: "StdinClose" as const }
    )
    const out = await driver((d) =>
      d.execStreaming(t.id, { command: ["/bin/cat"], tty: false }, input).pipe(Stream.runCollect)
    )
    const text = out.filter((o) => o._tag === "Stdout").map((o) => Buffer.from((o as { data: Uint8Array }).data).toString()).join("")
    expect(text).toBe("hello stdin\n")
    expect(out.at(-1)).toEqual({ _tag: "Exited", exitCode: 0 })
    await driver((d) => d.stopTask(t.id, 2_000, ""))
  })

  it("destroy(force) of a running task stops it and resolves pending waits", async () => {
    const t = task("destroy-running")
    await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true, stop_timeout: "1s" })))
    const pending = driver((d) => d.waitTask(t.id))
    await expect(driver((d) => d.destroyTask(t.id, false))).rejects.toThrow(/cannot destroy running task/)
    await driver((d) => d.destroyTask(t.id, true))
    const r = await pending
    expect(r.exitCode).toBe(137) // killed at once
    expect(r.signal).toBe(9)
    await expect(driver((d) => d.inspectTask(t.id))).rejects.toThrow(/task not found/)
  })

  it("streaming exec with a tty ends with the last requested terminal size, even when resizes race the start", async () => {
    const t = task("exec-tty")
    await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true })))
    for (let i = 0; i < 3; i++) {
      const input = Stream.make(
        { _tag: "Resize" as const, height: 50, width: 40 },
        { _tag: "Resize" as const, height: 100 + i, width: 100 }
      )
      const out = await driver((d) =>
        d.execStreaming(t.id, { command: ["/bin/sh", "-c", "sleep 1; stty size"], tty: true }, input).pipe(Stream.runCollect)
      )
      const text = out.filter((o) => o._tag === "Stdout").map((o) => Buffer.from((o as { data: Uint8Array }).data).toString()).join("")
      expect(text).toBe(`${100 + i} 100\r\n`)
      expect(out.at(-1)).toEqual({ _tag: "Exited", exitCode: 0 })
    }
    await driver((d) => d.stopTask(t.id, 2_000, ""))
  })

  it("reports stats samples with memory usage", async () => {
    const t = task("stats")
    await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "while true; do :; done"] })))
    // the agent's CPU topology (SetConfig) gives the MHz per core that TotalTicks needs
    await run(DriverConfig.use((c) => c.setAgent({ cpuMhzPerCore: 2000 })))
    const t0 = Date.now()
    const firstAt: Array<number> = []
    const samples = await driver((d) =>
      d.taskStats(t.id, 1_000).pipe(Stream.tap(() => Effect.sync(() => firstAt.push(Date.now() - t0))), Stream.take(4), Stream.runCollect)
    )
    expect(samples).toHaveLength(4)
    // the first sample is sent at once, not an interval later
    expect(firstAt[0]).toBeLessThan(900)
    samples.shift()
    expect(samples[2]!.memory.usage).toBeGreaterThan(0)
    expect(samples[2]!.cpu.percent).toBeGreaterThan(20)
    // the cgroup breakdown is read when Podman is local (it is here)
    expect(samples[2]!.memory.measured).toContain("RSS")
    expect(samples[2]!.memory.rss).toBeGreaterThan(0)
    expect(samples[2]!.memory.rss).toBeLessThanOrEqual(samples[2]!.memory.usage)
    expect(samples[2]!.cpu.measured).toContain("Throttled Periods")
    expect(samples[2]!.cpu.measured).toContain("Total Ticks")
    expect(samples[2]!.cpu.totalTicks).toBeCloseTo((samples[2]!.cpu.percent / 100) * 2000)
    await driver((d) => d.stopTask(t.id, 500, "SIGKILL"))
  })

  it("reports an OOM kill", async () => {
    const t = task("oom", { resources: { memoryMb: 16 } })
    await driver((d) =>
      d.startTask(t, cfg({
        image: "localhost/busybox:latest",
        command: "/bin/sh",
        args: ["-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]
      }))
    )
    const r = await driver((d) => d.waitTask(t.id))
    expect(r.oomKilled).toBe(true)
    expect(r.exitCode).toBe(137)
  })

  it("mounts the alloc, local and secrets dirs and the env reaches the process", async () => {
    const allocDir = mkdtempSync(path.join(tmpdir(), "ndp-alloc-"))
    try {
      const t = task("mounts", { allocDir, env: { HELLO: "world" } })
      execFileSync("mkdir", ["-p", path.join(allocDir, "alloc"), path.join(allocDir, t.name, "local"), path.join(allocDir, t.name, "secrets")])
      writeFileSync(path.join(allocDir, t.name, "local", "file.txt"), "from-local\n")
      await driver((d) =>
        d.startTask(t, cfg({
          image: "localhost/busybox:latest",
          command: "/bin/sh",
          args: ["-c", "cat /local/file.txt; echo $HELLO; echo shared > /alloc/out.txt"]
        }))
      )
      expect((await driver((d) => d.waitTask(t.id))).exitCode).toBe(0)
      await expect.poll(() => stdout(t.id), { timeout: 5_000 }).toBe("from-local\nworld\n")
      expect(execFileSync("cat", [path.join(allocDir, "alloc", "out.txt")]).toString()).toBe("shared\n")
    } finally {
      rmSync(allocDir, { recursive: true, force: true })
    }
  })

  it("pulls from a registry: right credentials, wrong credentials, missing image, unreachable registry", async () => {
    const ok = task("pull-ok")
    await driver((d) =>
      d.startTask(ok, cfg({
        image: `${registry}/test/busybox:latest`,
        force_pull: true,
        auth: { username: "testuser", password: "testpass", tls_verify: false },
        command: "/bin/true"
      }))
    )
    expect((await driver((d) => d.waitTask(ok.id))).exitCode).toBe(0)

    const attempt = (name: string, config: TaskConfigInput) =>
      rt.runPromiseExit(Driver.use((d) => d.startTask(task(name), cfg(config))))
    const failureOf = async (name: string, config: TaskConfigInput) => {
      const exit = await attempt(name, config)
      expect(exit._tag).toBe("Failure")
      return JSON.parse(JSON.stringify((exit as any).cause.reasons[0].error)) as { _tag: string; reason: string; image: string }
    }
    const wrong = await failureOf("pull-wrong", {
      image: `${registry}/test/httpd:latest`,
      auth: { username: "testuser", password: "nope", tls_verify: false }
    })
    expect(wrong).toMatchObject({ _tag: "ImagePullError", reason: "auth" })
    expect(JSON.stringify(wrong)).not.toContain("nope")
    const missing = await failureOf("pull-missing", {
      image: `${registry}/test/nope:latest`,
      auth: { username: "testuser", password: "testpass", tls_verify: false }
    })
    expect(missing).toMatchObject({ _tag: "ImagePullError", reason: "not-found" })
    const unreachable = await failureOf("pull-unreachable", { image: "127.0.0.1:1/test/busybox:latest", auth: { tls_verify: false } })
    expect(unreachable).toMatchObject({ _tag: "ImagePullError", reason: "unreachable" })
  })

  it("concurrent starts of one image share one pull, and pull progress arrives as task events", async () => {
    const image = `${registry}/test/httpd:latest`
    const auth = { username: "testuser", password: "testpass", tls_verify: false }
    const tasks = [task("dedupe-a"), task("dedupe-b"), task("dedupe-c")]
    const since = new Date()
    const events = await run(
      Effect.gen(function*() {
        const d = yield* Driver
        const collected: Array<TaskEvent> = []
        const collector = yield* d.taskEvents.pipe(
          Stream.runForEach((e) => Effect.sync(() => collected.push(e))),
          Effect.forkChild
        )
        yield* Effect.sleep(50)
        yield* Effect.forEach(tasks, (t) => d.startTask(t, cfg({ image, force_pull: true, auth, command: "/bin/true" })), {
          concurrency: "unbounded"
        })
        yield* Fiber.interrupt(collector)
        return collected
      })
    )
    for (const t of tasks) {
      expect(events.some((e) => e.taskId === t.id && e.allocId === t.allocId && e.taskName === t.name && /Pulling image/.test(e.message))).toBe(true)
    }
    // Podman records one `pull` image event per pull actually made
    const history = await libpodText(
      `/events?stream=false&since=${Math.floor(since.getTime() / 1000) - 1}&filters=${encodeURIComponent(JSON.stringify({ type: ["image"], event: ["pull"] }))}`
    )
    const pulls = history.split("\n").filter((l) => l.includes("test/httpd")).length
    expect(pulls).toBe(1)
  })

  it("a task config the task rejects is a typed error naming the field and leaves nothing behind", async () => {
    const t = task("bad")
    const exit = await rt.runPromiseExit(Driver.use((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", ports: ["nope"] }))))
    expect(exit._tag).toBe("Failure")
    expect(String((exit as any).cause.reasons[0].error.message)).toContain("ports[0]")
    const list = await libpod(`/containers/json?all=true&filters=${encodeURIComponent(JSON.stringify({ label: [`com.hashicorp.nomad.alloc_id=${t.allocId}`] }))}`)
    expect(list.body).toEqual([])
  })

  it("a start that fails after create removes the container (nothing left)", async () => {
    const t = task("badcmd")
    const exit = await rt.runPromiseExit(
      Driver.use((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/no/such/binary" })))
    )
    expect(exit._tag).toBe("Failure")
    expect((await libpod(`/containers/badcmd-${t.allocId}/json`)).status).toBe(404)
  })

  it("recovers a running task in a new driver instance from its DriverState", async () => {
    const t = task("recover")
    const s = await driver((d) =>
      d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"] }))
    )
    // a second, independent driver (as after a plugin restart)
    const rt2 = makeRuntime()
    try {
      await rt2.runPromise(Driver.use((d) => d.recoverTask(s.state)))
      await rt2.runPromise(Driver.use((d) => d.recoverTask(s.state))) // idempotent
      const status = await rt2.runPromise(Driver.use((d) => d.inspectTask(t.id)))
      expect(status.state).toBe("running")
      await rt2.runPromise(Driver.use((d) => d.stopTask(t.id, 5_000, "SIGTERM")))
      const r = await rt2.runPromise(Driver.use((d) => d.waitTask(t.id)))
      expect(r.exitCode).toBe(0)
      await rt2.runPromise(Driver.use((d) => d.destroyTask(t.id, false)))
      expect((await libpod(`/containers/${s.state.containerId}/json`)).status).toBe(404)
    } finally {
      await rt2.dispose()
    }
  })

  it("recovers a task whose container exited while no plugin ran; recover_stopped restarts it", async () => {
    const t = task("recover-exited")
    const s = await driver((d) =>
      d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "sleep 0.3; exit 4"] }))
    )
    await driver((d) => d.waitTask(t.id))
    // a fresh driver (plugin restart) learns the exit from Podman
    const rtA = makeRuntime()
    try {
      await rtA.runPromise(Driver.use((d) => d.recoverTask(s.state)))
      const r = await rtA.runPromise(Driver.use((d) => d.waitTask(t.id)))
      expect(r.exitCode).toBe(4)
      expect((await rtA.runPromise(Driver.use((d) => d.inspectTask(t.id)))).state).toBe("exited")
    } finally {
      await rtA.dispose()
    }
    // with recover_stopped the container is started again and runs to its next exit
    const rtB = makeRuntime({ recover_stopped: true })
    try {
      await rtB.runPromise(Driver.use((d) => d.recoverTask(s.state)))
      const r = await rtB.runPromise(Driver.use((d) => d.waitTask(t.id)))
      expect(r.exitCode).toBe(4)
      const inspect = await libpod(`/containers/${s.state.containerId}/json`)
      expect(inspect.body.RestartCount ?? 0).toBeGreaterThanOrEqual(0)
      expect(new Date(inspect.body.State.StartedAt).getTime()).toBeGreaterThan(new Date(s.state.startedAt).getTime())
    } finally {
      await rtB.dispose()
    }
  })

  it("recovering a task whose container is gone is TaskNotFound", async () => {
    const t = task("recover-gone")
    const s = await driver((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/true" })))
    await driver((d) => d.waitTask(t.id))
    await driver((d) => d.destroyTask(t.id, true))
    const rtC = makeRuntime()
    try {
      const exit = await rtC.runPromiseExit(Driver.use((d) => d.recoverTask(s.state)))
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("TaskNotFound")
    } finally {
      await rtC.dispose()
    }
  })

  it("gc.container = false keeps the container after destroy", async () => {
    const rt3 = makeRuntime({ gc: { container: false } })
    const t = makeNomadTask({ name: "keep" })
    try {
      const s = await rt3.runPromise(
        Driver.use((d) => d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/true" })))
      )
      await rt3.runPromise(Driver.use((d) => d.waitTask(t.id)))
      await rt3.runPromise(Driver.use((d) => d.destroyTask(t.id, false)))
      const after = await libpod(`/containers/${s.state.containerId}/json`)
      expect(after.status).toBe(200)
      await removeContainer(s.state.containerId)
    } finally {
      await rt3.dispose()
    }
  })

  it("fingerprints the socket as healthy with driver.podman attributes", async () => {
    const fp = await driver((d) => d.fingerprint.pipe(Stream.take(1), Stream.runCollect))
    expect(fp[0]!.health).toBe("healthy")
    expect(fp[0]!.attributes["driver.podman"]).toBe(true)
    expect(fp[0]!.attributes["driver.podman.version"]).toMatch(/^\d+\.\d+/)
  })

  it("fingerprint: several sockets, partial health, and a config change is reported without waiting for the period", async () => {
    const rt4 = makeRuntime({
      socket: [{ name: "default", socket_path: socket }, { name: "other", socket_path: "unix:///tmp/ndp-no-such-dir/podman.sock" }]
    })
    try {
      const seen = await rt4.runPromise(
        Effect.gen(function*() {
          const d = yield* Driver
          const config = yield* DriverConfig
          const fps: Array<Fingerprint> = []
          yield* d.fingerprint.pipe(
            Stream.tap((fp) =>
              Effect.gen(function*() {
                fps.push(fp)
                if (fps.length === 1) {
                  const current = yield* config.get
                  yield* config.set({ ...current, socket: [{ name: "default", socket_path: socket }] })
                }
              })
            ),
            Stream.take(2),
            Stream.runDrain,
            Effect.timeout(15_000)
          )
          return fps
        })
      )
      expect(seen[0]!.health).toBe("unhealthy")
      expect(seen[0]!.healthDescription).toContain("other")
      expect(seen[0]!.attributes["driver.podman.other.health"]).toBe("unhealthy")
      expect(seen[0]!.attributes["driver.podman.health"]).toBe("healthy")
      expect(seen[1]!.health).toBe("healthy")
    } finally {
      await rt4.dispose()
    }
  })
})
