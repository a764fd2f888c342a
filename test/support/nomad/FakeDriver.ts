/**
 * FAKE Driver and DriverConfig for unit tests of the gRPC layer: in-memory tasks, no Podman.
 * Behaviour is just rich enough to exercise every RPC:
 *  - startTask gets the config decoded by the gRPC handler; image `fake/unavailable` fails
 *    with a PodmanError (reason Unavailable), `fake/pull-timeout` with a retryable ImagePullError, `fake/pull-auth`
 *    with a non-retryable one.
 *  - a task runs until stopTask / destroyTask(force) / signalTask("SIGKILL"); waitTask waits for that.
 *  - execTask echoes argv on stdout; execStreaming echoes stdin, reports resizes, exits on stdin close.
 */
import { Deferred, Effect, Layer, Queue, Ref, Stream } from "effect"
import { DRIVER_STATE_VERSION, type DriverState } from "../../../src/domain/DriverState.ts"
import { ImagePullError, PodmanError, TaskNotFound, TaskStateError, Unavailable } from "../../../src/domain/errors.ts"
import type { NomadTask } from "../../../src/domain/NomadTask.ts"
import { defaultPluginConfig, type PluginConfig } from "../../../src/domain/PluginConfig.ts"
import type { ExitResult, TaskEvent } from "../../../src/domain/results.ts"
import { encodeTaskConfig, type TaskConfig } from "../../../src/domain/TaskConfig.ts"
import { Driver, type ExecOutput } from "../../../src/services/Driver.ts"
import { type AgentFacts, DriverConfig } from "../../../src/services/DriverConfig.ts"

interface FakeTask {
  readonly task: NomadTask
  readonly startedAt: Date
  readonly exit: Deferred.Deferred<ExitResult>
  exited?: ExitResult
  readonly signals: Array<string>
  /** waitTask calls in progress (a cancelled gRPC call must end its wait). */
  waiters: number
}

export interface FakeDriverState {
  readonly tasks: Map<string, FakeTask>
  readonly recovered: Array<DriverState>
  readonly started: Array<{ task: NomadTask; config: TaskConfig }>
  readonly events: Queue.Queue<TaskEvent>
  /** How many waitTask calls are waiting on the task right now. */
  readonly waiting: (taskId: string) => number
}


export const makeFakeDriver = Effect.gen(function*() {
  const tasks = new Map<string, FakeTask>()
  const state: FakeDriverState = {
    tasks, recovered: [], started: [], events: yield* Queue.unbounded<TaskEvent>(), waiting: (taskId) => tasks.get(taskId)?.waiters ?? 0
  }

  const get = (taskId: string) => {
    const t = state.tasks.get(taskId)
    return t ? Effect.succeed(t) : Effect.fail(new TaskNotFound({ taskId }))
  }

  const finish = (t: FakeTask, signal: number) =>
    Effect.gen(function*() {
      if (t.exited) return
      const r: ExitResult = { exitCode: signal ? 128 + signal : 0, signal, oomKilled: false, finishedAt: new Date() }
      t.exited = r
      yield* Deferred.succeed(t.exit, r)
    })

  const track = (task: NomadTask, startedAt: Date) =>
    Effect.gen(function*() {
      const t: FakeTask = { task, startedAt, exit: yield* Deferred.make<ExitResult>(), signals: [], waiters: 0 }
      state.tasks.set(task.id, t)
      return t
    })

  const driver = Driver.of({
    startTask: (task, config) =>
      Effect.gen(function*() {
        const image = config.image.text
        if (image === "fake/unavailable") {
          return yield* new PodmanError({ socket: "unix:///fake.sock", operation: "containerCreate", reason: new Unavailable({ detail: "connection refused" }) })
        }
        if (image === "fake/pull-timeout") {
          return yield* new ImagePullError({ image, reason: "timeout", detail: "i/o timeout" })
        }
        if (image === "fake/pull-auth") {
          return yield* new ImagePullError({ image, reason: "auth", detail: "unauthorized" })
        }
        state.started.push({ task, config })
        const startedAt = new Date()
        yield* track(task, startedAt)
        yield* Queue.offer(state.events, {
          taskId: task.id, allocId: task.allocId, taskName: task.name, timestamp: startedAt, message: `started ${image}`,
          annotations: { image }
        })
        const ds: DriverState = {
          version: DRIVER_STATE_VERSION, taskId: task.id, containerId: `fake-${state.tasks.size}`, containerName: task.name,
          socketName: "default", startedAt: startedAt.toISOString(), logSince: startedAt.toISOString(), taskConfig: encodeTaskConfig(config),
          nomadTask: task
        }
        return { state: ds, network: { portMap: { http: 8080 }, ip: "10.0.0.2", autoAdvertise: true } }
      }),
    waitTask: (taskId) =>
      Effect.flatMap(get(taskId), (t) =>
        Effect.sync(() => t.waiters++).pipe(
          Effect.andThen(Deferred.await(t.exit)),
          Effect.ensuring(Effect.sync(() => t.waiters--))
        )),
    stopTask: (taskId, _timeout, signal) =>
      Effect.flatMap(get(taskId), (t) => finish(t, signal?.number ?? 15)),
    destroyTask: (taskId, force) =>
      Effect.gen(function*() {
        const t = yield* get(taskId)
        if (!t.exited && !force) return yield* new TaskStateError({ taskId, detail: "cannot destroy running task" })
        yield* finish(t, 9)
        state.tasks.delete(taskId)
      }),
    inspectTask: (taskId) =>
      Effect.map(get(taskId), (t) => ({
        id: taskId, name: t.task.name, state: t.exited ? "exited" as const : "running" as const, startedAt: t.startedAt,
        ...(t.exited ? { completedAt: t.exited.finishedAt, exitResult: t.exited } : {}),
        containerId: "fake", driverAttributes: { container_id: "fake" }
      })),
    taskStats: (taskId, interval) =>
      Stream.unwrap(Effect.map(get(taskId), () =>
        Stream.fromEffect(Effect.sync(() => sample(taskId))).pipe(
          Stream.concat(Stream.fromEffect(Effect.sleep(interval).pipe(Effect.map(() => sample(taskId)))).pipe(Stream.forever))
        ))),
    taskEvents: Stream.fromQueue(state.events),
    signalTask: (taskId, signal) =>
      Effect.gen(function*() {
        const t = yield* get(taskId)
        t.signals.push(signal.name)
        if (signal.number === 9) yield* finish(t, 9)
      }),
    execTask: (taskId, command) =>
      Effect.map(get(taskId), () => ({
        stdout: new TextEncoder().encode(command.join(" ") + "\n"), stderr: new Uint8Array(), exitCode: command[0] === "false" ? 1 : 0
      })),
    execStreaming: (taskId, options, input) =>
      Stream.unwrap(Effect.map(get(taskId), () =>
        Stream.concat(
          Stream.make<Array<ExecOutput>>({ _tag: "Stdout", data: new TextEncoder().encode(`tty=${options.tty} cmd=${options.command.join(" ")}\n`) }),
          input.pipe(
            Stream.takeUntil((i) => i._tag === "StdinClose"),
            Stream.map((i): ExecOutput =>
              i._tag === "Stdin"
                ? { _tag: "Stdout", data: i.data }
                : i._tag === "Resize"
                ? { _tag: "Stderr", data: new TextEncoder().encode(`size ${i.height} ${i.width}\n`) }
                : { _tag: "Exited", exitCode: 7 }
            )
          )
        ))),
    recoverTask: (ds) =>
      Effect.gen(function*() {
        state.recovered.push(ds)
        if (ds.containerId === "gone") return yield* new TaskNotFound({ taskId: ds.taskId })
        if (!state.tasks.has(ds.taskId)) yield* track(ds.nomadTask, new Date(ds.startedAt))
      }),
    fingerprint: Stream.make(
      { health: "healthy" as const, healthDescription: "Healthy", attributes: { "driver.podman": true, "driver.podman.version": "4.3.1", "driver.podman.cpus": 2, "driver.podman.ratio": 0.5 } }
    ),
    capabilities: Effect.succeed({
      sendSignals: true, exec: true, fsIsolation: "image" as const, networkIsolationModes: ["host", "group", "task"] as const,
      mustCreateNetwork: false, mountConfigs: "any" as const, disableLogCollection: false
    }),
    tasks: Effect.sync(() => [...state.tasks.keys()]),
    hasTask: (taskId) => Effect.sync(() => state.tasks.has(taskId))
  })
  return { driver, state }
})

const sample = (taskId: string) => ({
  taskId,
  timestamp: new Date(),
  cpu: { percent: 1.5, systemMode: 0.5, userMode: 1, totalTicks: 30, throttledPeriods: 0, throttledTime: 0, measured: ["Percent", "Total Ticks"] as const },
  memory: { usage: 2048, rss: 1024, cache: 0, swap: 0, maxUsage: 4096, measured: ["RSS", "Usage"] as const }
})

/** FAKE DriverConfig: a Ref with the defaults; records every `set`. */
export const makeFakeDriverConfig = Effect.gen(function*() {
  const ref = yield* Ref.make<PluginConfig>(defaultPluginConfig)
  const sets: Array<PluginConfig> = []
  const agents: Array<AgentFacts> = []
  const config = DriverConfig.of({
    get: Ref.get(ref),
    set: (c) => Effect.sync(() => sets.push(c)).pipe(Effect.andThen(Ref.set(ref, c))),
    changes: Stream.fromEffect(Ref.get(ref)),
    agent: Effect.sync(() => agents.at(-1) ?? { cpuMhzPerCore: 0 }),
    setAgent: (facts) => Effect.sync(() => void agents.push(facts))
  })
  return { config, sets, agents }
})

/** Both fakes as one layer, plus handles to inspect them. */
export const fakeAppLayer = Effect.gen(function*() {
  const d = yield* makeFakeDriver
  const c = yield* makeFakeDriverConfig
  return {
    layer: Layer.merge(Layer.succeed(Driver, d.driver), Layer.succeed(DriverConfig, c.config)),
    driverState: d.state,
    configSets: c.sets
  }
})
