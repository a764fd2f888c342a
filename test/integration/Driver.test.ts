/**
 * The driver core end to end against the real Podman service the suite starts, through the public
 * layers (REST transport, in-memory log sink, static config): a task's life, its logs, signals,
 * exec, stats, limits and mounts. Image pulls, config errors, recovery and fingerprints:
 * DriverStartRecover.test.ts.
 *
 * Tasks whose test must act once the shell is set up (a trap installed) print "ready" first, and
 * the test waits for that line, never for a guessed delay.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { Driver } from "../../src/services/Driver.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import { cfg, httpText, libpod, ready, stderr, stdout, stdoutEventually, trackedTasks, sig } from "../support/driver.ts"
import { eventually } from "../support/eventually.ts"
import { tempDirScoped, writeFileIn } from "../support/tmp.ts"

const tasks = trackedTasks()
const task = tasks.task
const busybox = "localhost/busybox:latest"

// real Podman, real time
layer(tasks.layer, { excludeTestServices: true, timeout: "120 seconds" })("Driver against real Podman: running tasks", (it) => {
  it.effect("starts a task: env, labels, limits, logs on the right stream, exit code", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("basic", {
        env: { FOO: "bar", NOMAD_TASK_NAME: "basic" },
        resources: { memoryMb: 64, cpuShares: 512 },
        jobName: "job1",
        taskGroupName: "group1"
      })
      const s = yield* d.startTask(t, cfg({
        image: busybox,
        command: "/bin/sh",
        args: ["-c", "echo out-$FOO; echo err-line >&2; for i in $(seq 1 200); do echo line-$i; done; exit 3"]
      }))
      expect(s.state.containerName).toBe(`basic.${t.allocId}`)
      const result = yield* d.waitTask(t.id)
      expect(result.exitCode).toBe(3)
      expect(result.oomKilled).toBe(false)
      const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
      expect(inspect.body.Config.Env).toContain("FOO=bar")
      expect(inspect.body.Config.Labels["com.hashicorp.nomad.podman.alloc_id"]).toBe(t.allocId)
      expect(inspect.body.Config.Labels["com.hashicorp.nomad.task_name"]).toBe("basic")
      expect(inspect.body.Config.Labels["com.hashicorp.nomad.job_name"]).toBe("job1")
      expect(inspect.body.HostConfig.Memory).toBe(64 * 1024 * 1024)
      expect(inspect.body.HostConfig.CpuShares).toBe(512)
      // logs: the container printed and exited at once; every line arrives, in order, on its stream
      yield* stdoutEventually(t.id, (s) => expect(s).toContain("line-200"))
      const out = (yield* stdout(t.id)).split("\n").filter(Boolean)
      expect(out[0]).toBe("out-bar")
      expect(out.slice(1)).toEqual(Array.from({ length: 200 }, (_, i) => `line-${i + 1}`))
      expect(yield* stderr(t.id)).toBe("err-line\n")
      const status = yield* d.inspectTask(t.id)
      expect(status.state).toBe("exited")
      expect(status.exitResult?.exitCode).toBe(3)
      // waitTask can be called again
      expect((yield* d.waitTask(t.id)).exitCode).toBe(3)
    }))

  it.effect("a running task's burst of output reaches its log sink complete and in order (no exit needed)", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("burst")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "seq 1 300000 & seq 1 300000 >&2 & wait; exec sleep 300"], init: true }))
      const want = Array.from({ length: 300000 }, (_, i) => `${i + 1}`).join("\n") + "\n"
      const long = { timeout: "30 seconds", interval: "200 millis" } as const
      yield* eventually(Effect.map(stdout(t.id), (s) => expect(s.length).toBe(want.length)), long)
      expect(yield* stdout(t.id)).toBe(want)
      // stdout and stderr written at the same time: each stream complete and in order
      yield* eventually(Effect.map(stderr(t.id), (s) => expect(s.length).toBe(want.length)), long)
      expect(yield* stderr(t.id)).toBe(want)
      expect((yield* d.inspectTask(t.id)).state).toBe("running")
      yield* d.stopTask(t.id, 1_000, sig("SIGKILL"))
    }))

  it.effect("the last lines of a task that prints and exits at once are forwarded before destroy returns", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      for (let i = 0; i < 3; i++) {
        const t = task(`quick${i}`)
        yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "seq 1 2000; echo last-err >&2"] }))
        yield* d.waitTask(t.id)
        yield* d.destroyTask(t.id, true) // no waiting for the logs in between
        expect((yield* stdout(t.id)).split("\n").filter(Boolean).at(-1)).toBe("2000")
        expect(yield* stderr(t.id)).toBe("last-err\n")
      }
    }))

  it.effect("publishes a port that answers from the host", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const hostPort = 20000 + Math.floor(Math.random() * 20000)
      const t = task("web", { resources: { ports: [{ label: "http", value: hostPort, to: 8080, hostIp: "127.0.0.1" }] } })
      const s = yield* d.startTask(t, cfg({ image: "localhost/httpd:latest", ports: ["http"] }))
      expect(s.network?.portMap.http).toBe(8080)
      yield* eventually(Effect.map(httpText(`http://127.0.0.1:${hostPort}/`), (body) => expect(body).toContain("hello from busybox httpd")), {
        interval: "100 millis"
      })
      yield* d.stopTask(t.id, 2_000, sig("SIGTERM"))
      yield* d.destroyTask(t.id, false)
      expect((yield* libpod(`/containers/${s.state.containerId}/json`)).status).toBe(404)
    }))

  it.effect("stop honours the requested signal, then escalates to SIGKILL after the timeout", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("signals")
      yield* d.startTask(t, cfg({
        image: busybox,
        command: "/bin/sh",
        args: ["-c", "trap 'echo got-usr1; exit 42' USR1; trap '' TERM; echo ready; while true; do sleep 0.1; done"]
      }))
      yield* ready(t.id)
      yield* d.stopTask(t.id, 5_000, sig("SIGUSR1"))
      const r = yield* d.waitTask(t.id)
      expect(r.exitCode).toBe(42)
      yield* stdoutEventually(t.id, (s) => expect(s).toContain("got-usr1"), "5 seconds")

      const t2 = task("stubborn")
      yield* d.startTask(t2, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"] }))
      yield* ready(t2.id)
      const t0 = Date.now()
      yield* d.stopTask(t2.id, 500, sig("SIGTERM"))
      const r2 = yield* d.waitTask(t2.id)
      expect(r2.exitCode).toBe(137)
      expect(r2.signal).toBe(9)
      expect(Date.now() - t0).toBeLessThan(15_000)
    }))

  it.effect("signalTask delivers a signal to a running task", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("hup")
      yield* d.startTask(t, cfg({
        image: busybox,
        command: "/bin/sh",
        args: ["-c", "trap 'echo got-hup' HUP; echo ready; while true; do sleep 0.1; done"]
      }))
      yield* ready(t.id)
      yield* d.signalTask(t.id, sig("SIGHUP"))
      yield* stdoutEventually(t.id, (s) => expect(s).toContain("got-hup"), "5 seconds")
      yield* d.stopTask(t.id, 1_000, sig("SIGKILL"))
    }))

  it.effect("exec returns output and exit codes; streaming exec feeds stdin and closes it", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("exec")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sleep", args: ["300"], init: true }))
      const r = yield* d.execTask(t.id, ["/bin/sh", "-c", "echo hi; echo oops >&2; exit 5"], 10_000)
      expect(Buffer.from(r.stdout).toString()).toBe("hi\n")
      expect(Buffer.from(r.stderr).toString()).toBe("oops\n")
      expect(r.exitCode).toBe(5)
      const input = Stream.make(
        { _tag: "Stdin" as const, data: Buffer.from("hello stdin\n") },
        { _tag: "StdinClose" as const }
      )
      const out = yield* d.execStreaming(t.id, { command: ["/bin/cat"], tty: false }, input).pipe(Stream.runCollect)
      const text = out.filter((o) => o._tag === "Stdout").map((o) => Buffer.from((o as { data: Uint8Array }).data).toString()).join("")
      expect(text).toBe("hello stdin\n")
      expect(out.at(-1)).toEqual({ _tag: "Exited", exitCode: 0 })
      yield* d.stopTask(t.id, 2_000)
    }))

  it.effect("destroy(force) of a running task stops it and resolves pending waits", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("destroy-running")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sleep", args: ["300"], init: true, stop_timeout: "1s" }))
      const pending = yield* Effect.forkChild(d.waitTask(t.id), { startImmediately: true })
      const refused = yield* Effect.flip(d.destroyTask(t.id, false))
      expect(String(refused)).toMatch(/cannot destroy running task/)
      yield* d.destroyTask(t.id, true)
      const r = yield* Fiber.join(pending)
      expect(r.exitCode).toBe(137) // killed at once
      expect(r.signal).toBe(9)
      const gone = yield* Effect.flip(d.inspectTask(t.id))
      expect(String(gone)).toMatch(/task not found/)
    }))

  it.effect("streaming exec with a tty ends with the last requested terminal size, even when resizes race the start", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("exec-tty")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sleep", args: ["300"], init: true }))
      for (let i = 0; i < 3; i++) {
        const input = Stream.make(
          { _tag: "Resize" as const, height: 50, width: 40 },
          { _tag: "Resize" as const, height: 100 + i, width: 100 }
        )
        const out = yield* d.execStreaming(t.id, { command: ["/bin/sh", "-c", "sleep 1; stty size"], tty: true }, input).pipe(Stream.runCollect)
        const text = out.filter((o) => o._tag === "Stdout").map((o) => Buffer.from((o as { data: Uint8Array }).data).toString()).join("")
        expect(text).toBe(`${100 + i} 100\r\n`)
        expect(out.at(-1)).toEqual({ _tag: "Exited", exitCode: 0 })
      }
      yield* d.stopTask(t.id, 2_000)
    }))

  it.effect("reports stats samples with memory usage", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("stats")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "while true; do :; done"] }))
      // the agent's CPU topology (SetConfig) gives the MHz per core that TotalTicks needs
      yield* DriverConfig.use((c) => c.setAgent({ cpuMhzPerCore: 2000 }))
      // the first sample is sent at once, not an interval later: with a 60 s interval it must come
      // long before that (15 s allows for any load on the machine)
      const first = yield* d.taskStats(t.id, "60 seconds").pipe(Stream.take(1), Stream.runCollect, Effect.timeout("15 seconds"))
      expect(first).toHaveLength(1)
      const samples = yield* d.taskStats(t.id, 1_000).pipe(Stream.take(4), Stream.runCollect)
      expect(samples).toHaveLength(4)
      samples.shift()
      expect(samples[2]!.memory.usage).toBeGreaterThan(0)
      // a busy loop: some CPU, whatever else the machine does (the exact share depends on the load)
      expect(samples[2]!.cpu.percent).toBeGreaterThan(1)
      // the cgroup breakdown is read when Podman is local (it is here)
      expect(samples[2]!.memory.measured).toContain("RSS")
      expect(samples[2]!.memory.rss).toBeGreaterThan(0)
      expect(samples[2]!.memory.rss).toBeLessThanOrEqual(samples[2]!.memory.usage)
      expect(samples[2]!.cpu.measured).toContain("Throttled Periods")
      expect(samples[2]!.cpu.measured).toContain("Total Ticks")
      expect(samples[2]!.cpu.totalTicks).toBeCloseTo((samples[2]!.cpu.percent / 100) * 2000)
      // a stream keeps the cgroup's files open while it runs, and closes them when it ends
      const cgroupFds = () =>
        readdirSync("/proc/self/fd").filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`).startsWith("/sys/fs/cgroup/")
          } catch {
            return false
          }
        }).length
      const open = yield* d.taskStats(t.id, 1_000).pipe(
        Stream.take(2),
        Stream.mapEffect(() => Effect.sync(cgroupFds)),
        Stream.runCollect
      )
      expect(open[1]).toBeGreaterThan(0)
      expect(cgroupFds()).toBe(0)
      yield* d.stopTask(t.id, 500, sig("SIGKILL"))
    }))

  it.effect("reports an OOM kill", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("oom", { resources: { memoryMb: 16 } })
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"] }))
      const r = yield* d.waitTask(t.id)
      expect(r.oomKilled).toBe(true)
      expect(r.exitCode).toBe(137)
    }))

  it.effect("mounts the alloc, local and secrets dirs and the env reaches the process", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const allocDir = yield* tempDirScoped("ndp-alloc-")
      const t = task("mounts", { allocDir, env: { HELLO: "world" } })
      execFileSync("mkdir", ["-p", path.join(allocDir, "alloc"), path.join(allocDir, t.name, "secrets")])
      writeFileIn(allocDir, `${t.name}/local/file.txt`, "from-local\n")
      yield* d.startTask(t, cfg({
        image: busybox,
        command: "/bin/sh",
        args: ["-c", "cat /local/file.txt; echo $HELLO; echo shared > /alloc/out.txt"]
      }))
      expect((yield* d.waitTask(t.id)).exitCode).toBe(0)
      yield* stdoutEventually(t.id, (s) => expect(s).toBe("from-local\nworld\n"), "5 seconds")
      expect(readFileSync(path.join(allocDir, "alloc", "out.txt"), "utf8")).toBe("shared\n")
    }))
})
