/**
 * A task's life: start, wait, stop, signal, inspect, destroy, and recovery after a plugin restart.
 * Each operation is an Effect program over the task registry, the task runtime and the `Podman`
 * client of the task's socket.
 */
import { Cache, DateTime, Deferred, Duration, Effect, Exit, Option, Scope } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import { type PodmanError, TaskNotFound, TaskStateError } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { DriverNetwork, ExitResult, TaskStatus } from "../domain/results.ts"
import { decodeUnknownTaskConfig, encodeTaskConfig, type TaskConfig } from "../domain/TaskConfig.ts"
import { type Signal, signalOf, SIGKILL, SIGTERM } from "../domain/values/signals.ts"
import { LABEL_ALLOC_ID } from "../translate/index.ts"
import { containerSpec, specContext } from "./spec.ts"
import type { StartedTask } from "../services/Driver.ts"
import { DriverConfig } from "../services/DriverConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { type ContainerInspect, Podman, type PodmanClient } from "../services/Podman.ts"
import { createContainer } from "./create.ts"
import { keepCpusetInStep, sharedCpus } from "./cpuset.ts"
import type { Health } from "./health.ts"
import type { ImageGc } from "./imageGc.ts"
import type { ImageEvent, ImageResolver } from "./images.ts"
import type { Removals } from "./removals.ts"
import type { TaskEntry, TaskRegistry } from "./registry.ts"
import { exitResultOf, unknownExit } from "./exits.ts"
import type { TaskRuntime } from "./runtime.ts"

/** How long Podman's host facts are reused between task starts. */
const INFO_TTL = Duration.minutes(1)

/** How long DestroyTask waits for an exited task's last log lines to be forwarded. */
const LOG_DRAIN = Duration.seconds(5)

/** How long a stop waits for the exit after SIGKILL before it gives up waiting. */
const KILL_GRACE = Duration.seconds(30)

const notRunning = (e: PodmanError): boolean => e.reason._tag === "NotFound" || e.reason._tag === "NotRunning"

/** The network a started task exposes to Nomad. */
const containerNetwork = (config: TaskConfig, task: NomadTask, inspect: ContainerInspect): DriverNetwork => {
  const portMap: Record<string, number> = {}
  for (const label of config.ports) {
    const p = task.resources.ports.find((x) => x.label === label)
    if (p) portMap[label] = p.to > 0 ? p.to : p.value
  }
  for (const [label, port] of Object.entries(config.port_map)) portMap[label] = port
  // The container IP on Podman's bridge is only reachable from this host: never auto-advertise it.
  return { portMap, ip: inspect.ipAddress, autoAdvertise: false }
}

export const makeLifecycle = (deps: {
  readonly registry: TaskRegistry
  readonly runtime: TaskRuntime
  readonly images: ImageResolver
  readonly publish: (task: NomadTask) => ImageEvent
  readonly removals: Removals
  readonly imageGc: ImageGc
  readonly health: Health
}) =>
  Effect.gen(function*() {
    const { registry, runtime, images, publish, removals, imageGc, health } = deps
    const podman = yield* Podman
    const driverConfig = yield* DriverConfig
    const hostFiles = yield* HostFiles

    // `info` is one of Podman's slowest calls (it gathers host facts); the facts the spec needs
    // (rootless, cgroups, API version, CPUs) do not change while a service runs: keep them a while.
    // A failed lookup is not kept.
    const infos = yield* Cache.makeWith(
      (socket: string) => podman.client(socket).pipe(Effect.flatMap((client) => client.info)),
      { capacity: 64, timeToLive: (exit) => (Exit.isSuccess(exit) ? INFO_TTL : Duration.zero) }
    )

    /**
     * The release of a task's container (its `resources` scope closing): removed when `gc.container`
     * is on, and always when the scope closed because the start failed. Already gone is fine; when
     * Podman cannot do it now, it is done later (removals.ts).
     */
    const releaseContainer = (client: PodmanClient, id: string, exit: Exit.Exit<unknown, unknown>) =>
      Effect.gen(function*() {
        if (Exit.isSuccess(exit) && !(yield* driverConfig.get).gc.container) return
        yield* removals.remove(client, id)
      })

    /**
     * What follows a tracked task besides its exit and logs (started or recovered): its image's
     * reference for image GC, its health watcher and the shared-cores watcher, the watchers in the
     * task's `fibers` scope.
     */
    const follow = (entry: TaskEntry, inspect: ContainerInspect, cpus: string | undefined) =>
      Effect.gen(function*() {
        yield* imageGc.acquire(entry.taskId, entry.client, inspect.imageId)
        const watch = { taskId: entry.taskId, client: entry.client, containerId: entry.containerId, disabled: entry.config.healthchecks?.disable === true }
        yield* Effect.forkIn(health.watch(watch, inspect, publish(entry.task)), entry.fibers)
        yield* Effect.forkIn(keepCpusetInStep(entry.client, entry.task, inspect, cpus).pipe(Effect.provideService(HostFiles, hostFiles)), entry.fibers)
      })

    const logsEnabled = driverConfig.get.pipe(Effect.map((plugin) => !plugin.disable_log_collection))

    const startTask = Effect.fn("Driver.startTask")(function*(task: NomadTask, config: TaskConfig) {
      yield* registry.claim(task.id)
      const plugin = yield* driverConfig.get
      const client = yield* podman.client(config.socket)
      const info = yield* Cache.get(infos, client.socketName)
      const cpus = yield* sharedCpus(client, task).pipe(Effect.provideService(HostFiles, hostFiles))
      // The whole config is checked before the image is pulled: a bad volume must not cost a pull.
      const checked = yield* containerSpec(task, config, plugin, specContext(info, cpus))
      const image = yield* images.ensure(client, config, plugin, publish(task))
      const spec = { ...checked, image }
      const name = spec.name

      // A container with our name: adopt it only if it is ours (same alloc id label) and running.
      const existing = yield* client.containerInspect(name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(Option.none<ContainerInspect>()))
      )
      if (Option.isSome(existing)) {
        if (existing.value.labels[LABEL_ALLOC_ID] !== task.allocId) {
          return yield* new TaskStateError({
            taskId: task.id,
            detail: `a container named ${name} exists and was not created for allocation ${task.allocId}; refusing to adopt it`
          })
        }
        if (!existing.value.state.running) {
          yield* client.containerRemove(existing.value.id, { force: true, volumes: true, timeoutSeconds: 0 })
        }
      }
      const adopt = Option.isSome(existing) && existing.value.state.running ? existing.value : undefined

      const resources = yield* Scope.make()
      const started = yield* Effect.gen(function*() {
        const containerId = yield* Scope.provide(
          Effect.acquireRelease(
            adopt
              ? Effect.succeed(adopt.id)
              : createContainer(client, spec, config).pipe(
                Effect.tap((r) => Effect.forEach(r.warnings, (w) => Effect.logWarning(`podman create: ${w}`))),
                Effect.map((r) => r.id)
              ),
            (id, exit) => releaseContainer(client, id, exit)
          ),
          resources
        )
        if (!adopt) yield* client.containerStart(containerId)
        const inspect = yield* client.containerInspect(containerId)
        const startedAt = inspect.state.startedAt ?? (yield* DateTime.nowAsDate)
        const state: DriverState = {
          version: 1,
          taskId: task.id,
          containerId,
          containerName: name,
          socketName: client.socketName,
          startedAt: startedAt.toISOString(),
          logSince: startedAt.toISOString(),
          taskConfig: encodeTaskConfig(config),
          nomadTask: task
        }
        const entry = yield* runtime.launch(
          { taskId: task.id, task, config, client, containerId, containerName: name, startedAt, resources, state },
          inspect,
          { logs: yield* logsEnabled }
        )
        yield* follow(entry, inspect, cpus)
        yield* registry.add(entry)
        return { state, network: containerNetwork(config, task, inspect) } satisfies StartedTask
      }).pipe(Effect.onError((cause) => Scope.close(resources, Exit.failCause(cause))))
      yield* Effect.logInfo(`started task ${task.id} in container ${started.state.containerId.slice(0, 12)} (${name})`)
      return started
    }, Effect.scoped)

    const waitTask = Effect.fn("Driver.waitTask")(function*(taskId: string) {
      const t = yield* registry.lookup(taskId)
      return yield* Deferred.await(t.exit)
    })

    /** The stop signal: Nomad's, else the task's `kill_signal`, else the image's, else SIGTERM. */
    const stopSignalOf = (t: TaskEntry, requested: Signal | undefined) =>
      Effect.gen(function*() {
        if (requested !== undefined) return requested
        if (t.config.kill_signal !== undefined) return t.config.kill_signal
        const inspect = yield* t.client.containerInspect(t.containerId).pipe(Effect.option)
        const n = Option.isSome(inspect) ? inspect.value.stopSignal : undefined
        return (n !== undefined ? signalOf(n) : undefined) ?? SIGTERM
      })

    /** Signal, wait up to the timeout, then SIGKILL. Already stopped is success. */
    const stopEntry = (t: TaskEntry, timeout: Duration.Duration, requested: Signal | undefined) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(t.exit)) return
        const signal = yield* stopSignalOf(t, requested)
        yield* t.client.containerKill(t.containerId, signal.name).pipe(Effect.catchIf(notRunning, () => Effect.void))
        if (signal.number === SIGKILL.number) {
          yield* Deferred.await(t.exit).pipe(Effect.timeout(KILL_GRACE), Effect.ignore)
          return
        }
        const exited = yield* Deferred.await(t.exit).pipe(Effect.timeoutOption(timeout))
        if (Option.isNone(exited)) {
          yield* Effect.logInfo(`task ${t.taskId} did not stop within ${Duration.format(timeout)} after ${signal.name}; sending SIGKILL`)
          yield* t.client.containerKill(t.containerId, SIGKILL.name).pipe(Effect.catchIf(notRunning, () => Effect.void))
          yield* Deferred.await(t.exit).pipe(Effect.timeout(KILL_GRACE), Effect.ignore)
        }
      })

    const stopTask = Effect.fn("Driver.stopTask")(function*(taskId: string, timeout: Duration.Input, signal?: Signal) {
      const t = yield* registry.lookup(taskId)
      yield* stopEntry(t, Duration.fromInputUnsafe(timeout), signal)
    })

    const destroyTask = Effect.fn("Driver.destroyTask")(function*(taskId: string, force: boolean) {
      const running = yield* registry.lookup(taskId).pipe(Effect.flatMap((t) => Deferred.isDone(t.exit)), Effect.map((done) => !done))
      if (running && !force) return yield* new TaskStateError({ taskId, detail: "cannot destroy running task" })
      const t = yield* registry.take(taskId)
      // the reaper must not take the container while its last log lines drain
      yield* removals.releasing(t.containerId)
      // force: kill at once (Nomad sends StopTask with the grace period first when it wants one)
      if (running) {
        yield* stopEntry(t, Duration.zero, SIGKILL).pipe(Effect.catch((e) => Effect.logWarning(`kill before destroy failed: ${e.message}`)))
      }
      // A task that printed and exited at once: let its last lines reach the log sink first.
      yield* Deferred.await(t.logsDone).pipe(Effect.timeout(LOG_DRAIN), Effect.ignore)
      yield* runtime.halt(t)
      // Pending WaitTask calls must not hang on a task that no longer exists: if the exit was never
      // observed (the watcher was just interrupted), answer them with an explicit error result.
      yield* Deferred.succeed(t.exit, yield* unknownExit("the task was destroyed before its exit was observed"))
      yield* health.forget(taskId)
      // The container's removal (gc.container) is done now or, with Podman unreachable, retried in
      // the background: the answer to Nomad is the same, the task is gone for it either way.
      yield* Scope.close(t.resources, Exit.void)
      yield* imageGc.release(taskId)
    }, Effect.scoped)

    const inspectTask = Effect.fn("Driver.inspectTask")(function*(taskId: string) {
      const t = yield* registry.lookup(taskId)
      const exit = yield* Deferred.poll(t.exit)
      const result = Option.isSome(exit) ? Option.some(yield* exit.value) : Option.none<ExitResult>()
      const status: TaskStatus = {
        id: t.taskId,
        name: t.task.name,
        state: Option.isSome(result) ? "exited" : "running",
        startedAt: t.startedAt,
        containerId: t.containerId,
        driverAttributes: {
          container_id: t.containerId,
          container_name: t.containerName,
          socket: t.client.socketName,
          ...(health.status(t.taskId) !== undefined ? { health: health.status(t.taskId)! } : {})
        },
        ...(Option.isSome(result) ? { completedAt: result.value.finishedAt, exitResult: result.value } : {})
      }
      return status
    })

    /**
     * A signal for a task that has exited is the caller's precondition, never a driver fault: the
     * exit may be known already, or Podman's refusal may come in words the transport does not
     * classify (a runtime error of a container that just stopped); then the container's state
     * decides.
     */
    const signalTask = Effect.fn("Driver.signalTask")(function*(taskId: string, signal: Signal) {
      const t = yield* registry.lookup(taskId)
      const exited = new TaskStateError({ taskId, detail: `cannot send ${signal.name}: the task has exited` })
      if (yield* Deferred.isDone(t.exit)) return yield* exited
      yield* t.client.containerKill(t.containerId, signal.name).pipe(
        Effect.catchIf(
          (e) => e.reason._tag === "NotRunning" || e.reason._tag === "NotFound" || e.reason._tag === "Api",
          (e) =>
            t.client.containerInspect(t.containerId).pipe(
              Effect.map((inspect) => inspect.state.running),
              Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(false)),
              Effect.flatMap((running): Effect.Effect<never, PodmanError | TaskStateError> =>
                running ? Effect.fail(e) : Effect.fail(exited)
              )
            )
        )
      )
    })

    const recoverTask = Effect.fn("Driver.recoverTask")(function*(state: DriverState) {
      // Idempotent: a task already tracked (or being recovered right now) is fine as it is.
      if (!(yield* registry.tryClaim(state.taskId))) return
      const config = yield* decodeUnknownTaskConfig(state.taskConfig)
      const plugin = yield* driverConfig.get
      const client = yield* podman.client(state.socketName)
      const inspectNow = client.containerInspect(state.containerId).pipe(
        Effect.catchReason("PodmanError", "NotFound", () => Effect.fail(new TaskNotFound({ taskId: state.taskId })))
      )
      let inspect = yield* inspectNow
      let running = inspect.state.running
      if (!running && plugin.recover_stopped) {
        running = yield* client.containerStart(state.containerId).pipe(
          Effect.as(true),
          Effect.catch((e) => Effect.logWarning(`recover_stopped: restarting ${state.containerId} failed: ${e.message}`).pipe(Effect.as(false)))
        )
        // a restarted container has a new cgroup and start time
        if (running) inspect = yield* inspectNow
      }
      const now = yield* DateTime.nowAsDate
      const resources = yield* Scope.make()
      yield* Scope.addFinalizerExit(resources, (exit) => releaseContainer(client, state.containerId, exit))
      const recordedStart = new Date(state.startedAt)
      const entry = yield* runtime.launch(
        {
          taskId: state.taskId,
          task: state.nomadTask,
          config,
          client,
          containerId: state.containerId,
          containerName: state.containerName,
          // the state's start time, or Podman's when the state does not know it (a Go driver handle)
          startedAt: recordedStart.getTime() > 0 ? recordedStart : (inspect.state.startedAt ?? now),
          resources,
          state
        },
        inspect,
        {
          logs: !plugin.disable_log_collection,
          // what was logged before now was forwarded by the previous plugin (or, while no plugin
          // ran, is not replayed): only newer lines are forwarded
          logSince: now,
          ...(running ? {} : { exited: exitResultOf(inspect, now) })
        }
      )
      // the guard rails are not applied: a running task stays, whatever the operator changed since
      yield* follow(entry, inspect, inspect.cpusetCpus !== "" ? inspect.cpusetCpus : undefined)
      yield* registry.add(entry)
      yield* Effect.logInfo(`recovered task ${state.taskId} (container ${state.containerId.slice(0, 12)}, ${running ? "running" : "exited"})`)
    }, Effect.scoped)

    return { startTask, waitTask, stopTask, destroyTask, inspectTask, signalTask, recoverTask }
  })
