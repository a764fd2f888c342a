/**
 * The driver as the integration tests use it: a complete driver (REST transport, in-memory log
 * sink, static config) over the sandbox's Podman, a second independent one for "plugin restart"
 * tests, tasks that are destroyed when the test file's layer closes, and Effect forms of the
 * readiness waits (a task's "ready" line, expected output).
 */
import * as http from "node:http"
import { expect } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { makeNomadTask, type NomadTask } from "../../src/domain/NomadTask.ts"
import { driverLayer, guestConfig } from "../../layers/stacks.ts"
import { decodeTaskConfig, type TaskConfig, type TaskConfigInput } from "../../src/domain/TaskConfig.ts"
import { parseSignal, type Signal } from "../../src/domain/values/signals.ts"
import { Driver } from "../../src/services/Driver.ts"
import { eventually } from "./eventually.ts"
import { libpod as libpodRequest } from "./libpod.ts"

/**
 * A complete driver (REST transport, memory log sink, static config) over the sandbox's Podman.
 * Every test file's drivers share that Podman, so the reaper and image GC are off unless the test
 * sets `gc` (a driver's reaper would take other files' containers for dangling ones).
 */
export const driverTestLayer = (config: Partial<PluginConfig> = {}) => {
  // `socket` blocks and `socket_path` are mutually exclusive: set socket_path only without blocks
  const sockets: Partial<PluginConfig> = config.socket?.length ? {} : { socket_path: process.env.PODMAN_SOCKET! }
  return driverLayer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        ConfigLayers.layerStatic({ ...guestConfig(defaultPluginConfig), ...sockets, ...config }),
        LogSinks.layerMemory
      )
    )
  )
}

export type DriverServices = Layer.Success<ReturnType<typeof driverTestLayer>>

/**
 * Runs `use` on a second, independent driver (as after a plugin restart), torn down afterwards.
 * `local`: built with its own memo map, so it shares no layer (driver, log sink) with the test's.
 */
export const withDriver = <A, E>(config: Partial<PluginConfig>, use: Effect.Effect<A, E, DriverServices>) =>
  use.pipe(Effect.provide(driverTestLayer(config), { local: true }))

/**
 * The shared driver of a test file (`layer(tasks.layer, ...)`) and `task()`, which makes a Nomad task
 * and remembers it: when the layer closes, every task a test left is destroyed before the driver goes.
 */
export const trackedTasks = (config: Partial<PluginConfig> = {}) => {
  const started: Array<string> = []
  const task = (name: string, extra: Partial<Parameters<typeof makeNomadTask>[0]> = {}): NomadTask => {
    const t = makeNomadTask({ name, ...extra })
    started.push(t.id)
    return t
  }
  const cleanup = Layer.effectDiscard(Effect.gen(function*() {
    const d = yield* Driver
    yield* Effect.addFinalizer(() => Effect.forEach(started, (id) => Effect.ignore(d.destroyTask(id, true)), { discard: true }))
  }))
  return { task, layer: cleanup.pipe(Layer.provideMerge(driverTestLayer(config))) }
}

/** Raw libpod GET for assertions (the shared test helper). */
export const libpod = (p: string) =>
  Effect.promise(async () => {
    const r = await libpodRequest("GET", `/v4.0.0/libpod${p}`)
    return { status: r.status, body: r.json }
  })

/** Raw libpod GET returning the body text (JSON lines endpoints). */
export const libpodText = (p: string) => Effect.promise(async () => (await libpodRequest("GET", `/v4.0.0/libpod${p}`)).text)

export const stdout = (taskId: string) => LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stdout"))
export const stderr = (taskId: string) => LogSinks.MemoryLogSink.use((m) => m.text(taskId, "stderr"))

/** Waits until the task's stdout passes `check` (a readiness line, the expected output). */
export const stdoutEventually = (taskId: string, check: (text: string) => void, timeout: `${number} seconds` = "10 seconds") =>
  eventually(Effect.map(stdout(taskId), check), { timeout, interval: "50 millis" })

/** Waits for the task's "ready" line (printed once its traps are installed). */
export const ready = (taskId: string) => stdoutEventually(taskId, (s) => expect(s).toContain("ready\n"))

/** GET on the host, resolving with the body ("" on a connection error). */
export const httpText = (url: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve) => {
      http.get(url, (res) => {
        let d = ""
        res.on("data", (c) => (d += c))
        res.on("end", () => resolve(d))
      }).on("error", () => resolve(""))
    })
  )

/** Starts a task that must fail; its typed error as JSON (what crosses the wire). */
export const startFailure = (task: NomadTask, config: TaskConfigInput) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Driver.use((d) => d.startTask(task, cfg(config))))
    expect(exit._tag).toBe("Failure")
    return JSON.parse(JSON.stringify((exit as any).cause.reasons[0].error)) as { _tag: string; reason: string; image: string }
  })

/** A task config decoded as an embedder would (startTask takes the typed config); throws on a bad one. */
export const cfg = (input: TaskConfigInput): TaskConfig => Effect.runSync(decodeTaskConfig(input))

/** A signal by name, for stopTask/signalTask (Nomad's text is parsed at the gRPC edge). */
export const sig = (name: string): Signal => {
  const s = parseSignal(name)
  if (s === undefined) throw new Error(`unknown signal ${name}`)
  return s
}
