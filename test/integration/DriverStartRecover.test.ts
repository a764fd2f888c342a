/**
 * The driver core against the real Podman service the suite starts: image pulls from the suite's
 * registry (credentials, failures, one pull shared by concurrent starts), config errors that leave
 * nothing behind, recovery by a second driver instance (as after a plugin restart), garbage
 * collection and fingerprints. A task's life itself: Driver.test.ts.
 */
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import type { Fingerprint, TaskEvent } from "../../src/domain/results.ts"
import { Driver } from "../../src/services/Driver.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import { cfg, libpod, libpodText, ready, startFailure, trackedTasks, withDriver, sig } from "../support/driver.ts"
import { removeContainer } from "../support/libpod.ts"

const socket = process.env.PODMAN_SOCKET!
const registry = process.env.SANDBOX_REGISTRY!
const tasks = trackedTasks()
const task = tasks.task
const busybox = "localhost/busybox:latest"

// real Podman, real time
layer(tasks.layer, { excludeTestServices: true, timeout: "120 seconds" })("Driver against real Podman: start and recovery", (it) => {
  it.effect("pulls from a registry: right credentials, wrong credentials, missing image, unreachable registry", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const ok = task("pull-ok")
      yield* d.startTask(ok, cfg({
        image: `${registry}/test/busybox:latest`,
        force_pull: true,
        auth: { username: "testuser", password: "testpass", tls_verify: false },
        command: "/bin/true"
      }))
      expect((yield* d.waitTask(ok.id)).exitCode).toBe(0)

      const wrong = yield* startFailure(task("pull-wrong"), {
        image: `${registry}/test/httpd:latest`,
        auth: { username: "testuser", password: "nope", tls_verify: false }
      })
      expect(wrong).toMatchObject({ _tag: "ImagePullError", reason: "auth" })
      expect(JSON.stringify(wrong)).not.toContain("nope")
      const missing = yield* startFailure(task("pull-missing"), {
        image: `${registry}/test/nope:latest`,
        auth: { username: "testuser", password: "testpass", tls_verify: false }
      })
      expect(missing).toMatchObject({ _tag: "ImagePullError", reason: "not-found" })
      const unreachable = yield* startFailure(task("pull-unreachable"), { image: "127.0.0.1:1/test/busybox:latest", auth: { tls_verify: false } })
      expect(unreachable).toMatchObject({ _tag: "ImagePullError", reason: "unreachable" })
    }))

  it.effect("concurrent starts of one image share one pull, and pull progress arrives as task events", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const image = `${registry}/test/httpd:latest`
      const auth = { username: "testuser", password: "testpass", tls_verify: false }
      const tasks = [task("dedupe-a"), task("dedupe-b"), task("dedupe-c")]
      const since = new Date()
      const events: Array<TaskEvent> = []
      // Started at once, the collector subscribes to the events before forkChild returns (the
      // subscription is synchronous; only waiting for the first event suspends it).
      const collector = yield* d.taskEvents.pipe(
        Stream.runForEach((e) => Effect.sync(() => events.push(e))),
        Effect.forkChild({ startImmediately: true })
      )
      yield* Effect.forEach(tasks, (t) => d.startTask(t, cfg({ image, force_pull: true, auth, command: "/bin/true" })), {
        concurrency: "unbounded"
      })
      yield* Fiber.interrupt(collector)
      for (const t of tasks) {
        expect(events.some((e) => e.taskId === t.id && e.allocId === t.allocId && e.taskName === t.name && /Pulling image/.test(e.message))).toBe(true)
      }
      // Podman records one `pull` image event per pull actually made
      const history = yield* libpodText(
        `/events?stream=false&since=${Math.floor(since.getTime() / 1000) - 1}&filters=${encodeURIComponent(JSON.stringify({ type: ["image"], event: ["pull"] }))}`
      )
      const pulls = history.split("\n").filter((l) => l.includes("test/httpd")).length
      expect(pulls).toBe(1)
    }))

  it.effect("a bad task config is a typed error naming the field and leaves nothing behind", () =>
    Effect.gen(function*() {
      const t = task("bad")
      const exit = yield* Effect.exit(Driver.use((d) => d.startTask(t, cfg({ image: busybox, ports: ["nope"] }))))
      expect(exit._tag).toBe("Failure")
      expect(String((exit as any).cause.reasons[0].error.message)).toContain("ports[0]")
      const list = yield* libpod(`/containers/json?all=true&filters=${encodeURIComponent(JSON.stringify({ label: [`com.hashicorp.nomad.podman.alloc_id=${t.allocId}`] }))}`)
      expect(list.body).toEqual([])
    }))

  it.effect("a start that fails after create removes the container (nothing left)", () =>
    Effect.gen(function*() {
      const t = task("badcmd")
      const exit = yield* Effect.exit(Driver.use((d) => d.startTask(t, cfg({ image: busybox, command: "/no/such/binary" }))))
      expect(exit._tag).toBe("Failure")
      expect((yield* libpod(`/containers/badcmd.${t.allocId}/json`)).status).toBe(404)
    }))

  it.effect("recovers a running task in a new driver instance from its DriverState", () =>
    Effect.gen(function*() {
      const t = task("recover")
      const s = yield* Driver.use((d) =>
        d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"] }))
      )
      yield* ready(t.id)
      // a second, independent driver (as after a plugin restart)
      yield* withDriver({}, Effect.gen(function*() {
        const d2 = yield* Driver
        yield* d2.recoverTask(s.state)
        yield* d2.recoverTask(s.state) // idempotent
        const status = yield* d2.inspectTask(t.id)
        expect(status.state).toBe("running")
        yield* d2.stopTask(t.id, 5_000, sig("SIGTERM"))
        const r = yield* d2.waitTask(t.id)
        expect(r.exitCode).toBe(0)
        yield* d2.destroyTask(t.id, false)
        expect((yield* libpod(`/containers/${s.state.containerId}/json`)).status).toBe(404)
      }))
    }))

  it.effect("recovers a task whose container exited while no plugin ran; recover_stopped restarts it", () =>
    Effect.gen(function*() {
      const t = task("recover-exited")
      const s = yield* Driver.use((d) => d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "sleep 0.3; exit 4"] })))
      yield* Driver.use((d) => d.waitTask(t.id))
      // a fresh driver (plugin restart) learns the exit from Podman
      yield* withDriver({}, Effect.gen(function*() {
        const dA = yield* Driver
        yield* dA.recoverTask(s.state)
        const r = yield* dA.waitTask(t.id)
        expect(r.exitCode).toBe(4)
        expect((yield* dA.inspectTask(t.id)).state).toBe("exited")
      }))
      // with recover_stopped the container is started again and runs to its next exit
      yield* withDriver({ recover_stopped: true }, Effect.gen(function*() {
        const dB = yield* Driver
        yield* dB.recoverTask(s.state)
        const r = yield* dB.waitTask(t.id)
        expect(r.exitCode).toBe(4)
        const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
        expect(inspect.body.RestartCount ?? 0).toBeGreaterThanOrEqual(0)
        expect(new Date(inspect.body.State.StartedAt).getTime()).toBeGreaterThan(new Date(s.state.startedAt).getTime())
      }))
    }))

  it.effect("recovering a task whose container is gone is TaskNotFound", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("recover-gone")
      const s = yield* d.startTask(t, cfg({ image: busybox, command: "/bin/true" }))
      yield* d.waitTask(t.id)
      yield* d.destroyTask(t.id, true)
      const exit = yield* withDriver({}, Effect.exit(Driver.use((dC) => dC.recoverTask(s.state))))
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("TaskNotFound")
    }))

  it.effect("gc.container = false keeps the container after destroy", () =>
    withDriver({ gc: { ...defaultPluginConfig.gc, container: false } }, Effect.gen(function*() {
      const d3 = yield* Driver
      const t = makeNomadTask({ name: "keep" })
      const s = yield* d3.startTask(t, cfg({ image: busybox, command: "/bin/true" }))
      yield* d3.waitTask(t.id)
      yield* d3.destroyTask(t.id, false)
      const after = yield* libpod(`/containers/${s.state.containerId}/json`)
      expect(after.status).toBe(200)
      yield* Effect.promise(() => removeContainer(s.state.containerId))
    })))

  it.effect("fingerprints the socket as healthy with driver.podman attributes", () =>
    Effect.gen(function*() {
      const fp = yield* Driver.use((d) => d.fingerprint.pipe(Stream.take(1), Stream.runCollect))
      expect(fp[0]!.health).toBe("healthy")
      expect(fp[0]!.attributes["driver.podman"]).toBe(true)
      expect(fp[0]!.attributes["driver.podman.version"]).toMatch(/^\d+\.\d+/)
    }))

  it.effect("fingerprint: several sockets, partial health, and a config change is reported without waiting for the period", () =>
    Effect.gen(function*() {
      const sockets = [{ name: "default", socket_path: socket }, { name: "other", socket_path: "unix:///tmp/ndp-no-such-dir/podman.sock" }]
      const seen = yield* withDriver({ socket: sockets }, Effect.gen(function*() {
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
      }))
      expect(seen[0]!.health).toBe("unhealthy")
      expect(seen[0]!.healthDescription).toContain("other")
      expect(seen[0]!.attributes["driver.podman.other.health"]).toBe("unhealthy")
      expect(seen[0]!.attributes["driver.podman.health"]).toBe("healthy")
      expect(seen[1]!.health).toBe("healthy")
    }))
})
