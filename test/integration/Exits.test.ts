/**
 * Exit detection against real Podman (docs/podman.md, "Exits"): both ways a client learns an exit
 * (conmon's exit file, `wait`) give the true code of a task that exits at once,
 * one that runs a while, one that exited before anyone watched, and one killed by a signal; through
 * the driver, 20 tasks exiting at the same moment, a plugin restart (recovery) before and after the
 * exit, and Podman service restarts (a private service of this file's own, so the suite's shared
 * one never goes down). Exits are triggered by a file in a mounted directory, not by time.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as ConfigLayers from "../../layers/config/index.ts"
import { type ExitFiles, makeExitFiles } from "../../layers/conmon/ExitFiles.ts"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import * as Platform from "../../layers/platform.ts"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { makeRestClient } from "../../layers/podman-rest/index.ts"
import type { ExitMode } from "../../layers/podman-rest/exits.ts"
import * as DriverCore from "../../src/driver/DriverCore.ts"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { Driver } from "../../src/services/Driver.ts"
import type { PodmanClient } from "../../src/services/Podman.ts"
import { cfg, trackedTasks, withDriver } from "../support/driver.ts"
import { eventually } from "../support/eventually.ts"
import { privatePodman } from "../support/privatePodman.ts"
import { tempDirScoped } from "../support/tmp.ts"

const SOCKET = process.env.PODMAN_SOCKET ?? ""
const BUSYBOX = "localhost/busybox:latest"
const run = Math.random().toString(36).slice(2, 8)
let seq = 0

/** A shell loop that exits with `code` once `<dir>/go` exists. */
const onTrigger = (dir: string, code: number) => ["/bin/sh", "-c", `until [ -e ${dir}/go ]; do sleep 0.05; done; exit ${code}`]

const trigger = (hostDir: string) => Effect.sync(() => writeFileSync(path.join(hostDir, "go"), ""))

/** Whether conmon of container `id` still runs (it outlives the exit by Podman's cleanup). */
const conmonRuns = (id: string) => {
  try {
    execFileSync("pgrep", ["-f", `conmon .*-c ${id}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** A container of the test, removed when the Scope closes. */
const container = (client: PodmanClient, command: ReadonlyArray<string>, hostDir?: string) =>
  Effect.acquireRelease(
    client.containerCreate({
      name: `exits-${run}-${seq++}`,
      image: BUSYBOX,
      command: [...command],
      env: {},
      labels: {},
      netns: { nsmode: "none" },
      ...(hostDir !== undefined ? { mounts: [{ type: "bind", source: hostDir, destination: "/t", options: ["rbind"] }] } : {})
    } satisfies ContainerSpec).pipe(Effect.map((r) => r.id)),
    (id) => Effect.ignore(client.containerRemove(id, { force: true, volumes: true, timeoutSeconds: 0 }))
  )

/** A REST client over the shared sandbox detecting exits one way. */
const restClient = (mode: "files" | ExitMode) =>
  Effect.gen(function*() {
    const exitFiles = mode === "files" ? yield* makeExitFiles : undefined
    return yield* makeRestClient({
      socketName: "default",
      address: SOCKET,
      timeoutMillis: 30_000,
      exits: mode === "files" ? "auto" : mode,
      ...(exitFiles !== undefined ? { exitFiles } : {})
    })
  }).pipe(Effect.provide(Platform.layer))

describe("PodmanClient.awaitExit against real Podman", () => {
  for (const mode of ["files", "wait"] as const) {
    it.live(`${mode}: at once, after a while, before the watch, by a signal`, () =>
      Effect.scoped(Effect.gen(function*() {
        const c = yield* restClient(mode)
        const dir = yield* tempDirScoped("ndp-exits-")

        const atOnce = yield* container(c, ["/bin/sh", "-c", "exit 3"])
        yield* c.containerStart(atOnce)
        expect(yield* c.awaitExit(atOnce)).toMatchObject({ exitCode: 3, oomKilled: false })

        const later = yield* container(c, onTrigger("/t", 7), dir)
        yield* c.containerStart(later)
        const waiting = yield* Effect.forkChild(c.awaitExit(later))
        yield* trigger(dir)
        const exit = yield* Fiber.join(waiting)
        expect(exit).toMatchObject({ exitCode: 7, oomKilled: false })
        expect(exit.finishedAt).toBeInstanceOf(Date)

        // Exited and cleaned up by Podman before anyone watched: Podman's record answers.
        const before = yield* container(c, ["/bin/sh", "-c", "exit 5"])
        yield* c.containerStart(before)
        expect(yield* c.containerWait(before)).toBe(5)
        expect(yield* c.awaitExit(before)).toMatchObject({ exitCode: 5 })

        const killed = yield* container(c, ["/bin/sleep", "300"])
        yield* c.containerStart(killed)
        const killedExit = yield* Effect.forkChild(c.awaitExit(killed))
        yield* c.containerKill(killed, "SIGKILL")
        expect(yield* Fiber.join(killedExit)).toMatchObject({ exitCode: 137 })

        expect((yield* Effect.flip(c.awaitExit(`exits-${run}-no-such`))).reason._tag).toBe("NotFound")
      })), 120_000)
  }
})

const tasks = trackedTasks()

/** A Nomad task in `allocDir` (alloc/ is mounted at /alloc) that exits with `code` once alloc/go exists. */
const triggerTask = (allocDir: string, name: string, code: number) => {
  for (const d of ["alloc", `${name}/local`, `${name}/secrets`]) mkdirSync(path.join(allocDir, d), { recursive: true })
  return {
    task: tasks.task(name, { allocDir }),
    config: cfg({ image: BUSYBOX, command: "/bin/sh", args: ["-c", `until [ -e /alloc/go ]; do sleep 0.05; done; exit ${code}`], network_mode: "none" })
  }
}

layer(tasks.layer, { excludeTestServices: true, timeout: "240 seconds" })("WaitTask against real Podman", (it) => {
  it.effect("20 tasks exiting at the same moment each get their own code", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const allocDir = yield* tempDirScoped("ndp-exits20-")
      const all = Array.from({ length: 20 }, (_, i) => triggerTask(allocDir, `many${i}`, i + 1))
      yield* Effect.forEach(all, ({ task, config }) => d.startTask(task, config), { concurrency: "unbounded", discard: true })
      const waits = yield* Effect.forEach(all, ({ task }) => Effect.forkChild(d.waitTask(task.id)))
      yield* trigger(path.join(allocDir, "alloc"))
      const codes = yield* Effect.forEach(waits, (w) => Fiber.join(w).pipe(Effect.map((r) => r.exitCode)))
      expect(codes).toEqual(all.map((_, i) => i + 1))
      yield* Effect.forEach(all, ({ task }) => d.destroyTask(task.id, true), { discard: true })
    }))

  it.effect("a task that exits before its watcher starts, and tasks that exit while no plugin runs", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const quick = tasks.task("quick")
      yield* d.startTask(quick, cfg({ image: BUSYBOX, command: "/bin/sh", args: ["-c", "exit 42"], network_mode: "none" }))
      expect((yield* d.waitTask(quick.id)).exitCode).toBe(42)
      yield* d.destroyTask(quick.id, true)

      const allocDir = yield* tempDirScoped("ndp-exitsrec-")
      const first = triggerTask(allocDir, "gone1", 21)
      const second = triggerTask(allocDir, "gone2", 22)
      const config: Partial<PluginConfig> = { socket_path: SOCKET }
      // The first plugin starts both and goes away (its watchers stop; the containers run on).
      const states = yield* withDriver(config, Driver.use((a) =>
        Effect.all([a.startTask(first.task, first.config), a.startTask(second.task, second.config)]).pipe(
          Effect.map((started) => started.map((s) => s.state))
        )))
      // Both exit while no plugin runs, and Podman's cleanup has run before the next plugin recovers them.
      yield* trigger(path.join(allocDir, "alloc"))
      yield* eventually(
        Effect.sync(() => expect(states.some((s) => conmonRuns(s.containerId))).toBe(false)),
        { timeout: "30 seconds" }
      )
      yield* withDriver(config, Driver.use((b) =>
        Effect.gen(function*() {
          yield* Effect.forEach(states, (s) => b.recoverTask(s), { discard: true })
          expect((yield* b.waitTask(first.task.id)).exitCode).toBe(21)
          expect((yield* b.waitTask(second.task.id)).exitCode).toBe(22)
          yield* Effect.forEach(states, (s) => b.destroyTask(s.taskId, true), { discard: true })
        })))
    }))

  it.effect("a task recovered while it runs reports its exit", () =>
    Effect.gen(function*() {
      const allocDir = yield* tempDirScoped("ndp-exitsrun-")
      const t = triggerTask(allocDir, "running", 23)
      const config: Partial<PluginConfig> = { socket_path: SOCKET }
      const state = yield* withDriver(config, Driver.use((a) => Effect.map(a.startTask(t.task, t.config), (s) => s.state)))
      yield* withDriver(config, Driver.use((b) =>
        Effect.gen(function*() {
          yield* b.recoverTask(state)
          expect((yield* b.inspectTask(t.task.id)).state).toBe("running")
          const wait = yield* Effect.forkChild(b.waitTask(t.task.id))
          yield* trigger(path.join(allocDir, "alloc"))
          expect((yield* Fiber.join(wait)).exitCode).toBe(23)
          yield* b.destroyTask(t.task.id, true)
        })))
    }))
})

/** ExitFiles that records which containers' exit files are watched. */
const spyOn = (files: ExitFiles, watched: Set<string>): ExitFiles => ({
  ...files,
  watch: (dir, id) => Effect.tap(files.watch(dir, id), (w) => Effect.sync(() => Option.isSome(w) && watched.add(id)))
})

/** A driver over the private service, its REST client detecting exits one way. */
const privateDriver = (socket: string, mode: ExitMode, watched: Set<string>) =>
  DriverCore.layer.pipe(
    Layer.provideMerge(PodmanLayers.layer({
      rest: (o) => makeRestClient({ ...o, exits: mode, ...(o.exitFiles !== undefined ? { exitFiles: spyOn(o.exitFiles, watched) } : {}) })
    })),
    Layer.provide(Layer.mergeAll(HostFilesLayers.layer, Platform.layer)),
    Layer.provideMerge(Layer.mergeAll(ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: socket }), LogSinks.layerMemory))
  )

describe("WaitTask while the Podman service is down (a private service)", () => {
  it.live("answers the true code of every exit, with and without conmon's files", () =>
    Effect.scoped(Effect.gen(function*() {
      const podman = yield* privatePodman
      const allocDir = yield* tempDirScoped("ndp-exitsdown-")
      const alloc = path.join(allocDir, "alloc")
      const watched = new Set<string>()
      let n = 0
      /** Starts a task that exits with `code` once alloc/<its name> exists. */
      const start = (code: number) =>
        Effect.gen(function*() {
          const d = yield* Driver
          const name = `down${n++}`
          for (const dd of ["alloc", `${name}/local`, `${name}/secrets`]) mkdirSync(path.join(allocDir, dd), { recursive: true })
          const task = makeNomadTask({ name, allocDir })
          const started = yield* d.startTask(task, cfg({
            image: BUSYBOX,
            command: "/bin/sh",
            args: ["-c", `until [ -e /alloc/${name} ]; do sleep 0.05; done; exit ${code}`],
            network_mode: "none"
          }))
          const answered = yield* Deferred.make<number>()
          yield* Effect.forkChild(d.waitTask(task.id).pipe(Effect.flatMap((r) => Deferred.succeed(answered, r.exitCode))))
          return {
            id: started.state.containerId,
            answered,
            trigger: Effect.sync(() => writeFileSync(path.join(alloc, name), "")),
            destroy: d.destroyTask(task.id, true)
          }
        })
      const isWatched = (id: string) => eventually(Effect.sync(() => expect(watched.has(id)).toBe(true)), { timeout: "30 seconds" })

      for (const mode of ["auto", "wait"] as const) {
        const scope = yield* Scope.make()
        const driver = yield* Layer.buildWithScope(privateDriver(podman.socket, mode, watched), scope)
        yield* Effect.gen(function*() {
          if (mode === "auto") {
            // Watched, then the service goes: conmon's exit file says it, no Podman needed.
            const a = yield* start(40)
            yield* isWatched(a.id)
            yield* podman.stopService
            yield* a.trigger
            expect(yield* Deferred.await(a.answered)).toBe(40)
            yield* podman.startService
            // The service goes right after the start, before the task's first inspect could be
            // answered: the exit directory learnt from the first task is watched all the same.
            const b = yield* start(41)
            yield* podman.stopService
            yield* isWatched(b.id)
            yield* b.trigger
            expect(yield* Deferred.await(b.answered)).toBe(41)
            yield* podman.startService
            yield* a.destroy
            yield* b.destroy
          } else {
            // Only Podman can say it: the answer waits for the service, and is never a wrong code.
            const c = yield* start(42)
            yield* podman.stopService
            yield* c.trigger
            yield* eventually(Effect.sync(() => expect(conmonRuns(c.id)).toBe(false)), { timeout: "30 seconds" })
            expect(Option.isNone(yield* Deferred.poll(c.answered))).toBe(true)
            yield* podman.startService
            expect(yield* Deferred.await(c.answered)).toBe(42)
            yield* c.destroy
          }
        }).pipe(Effect.provideContext(driver), Effect.ensuring(Scope.close(scope, Exit.void)))
      }
    }).pipe(Effect.provide(Platform.layer))), 240_000)
})
