/**
 * A task's life: start, wait, stop, signal, inspect, destroy, and recovery after a plugin restart.
 * Each operation is an Effect program over the task registry, the task runtime and the `Podman`
 * client of the task's socket.
 */
import { DateTime, Deferred, Duration, Effect, Exit, Option, Schedule, Scope } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import type { DriverState } from "../domain/DriverState.ts"
import { type PodmanError, TaskNotFound, TaskStateError } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { DriverNetwork, ExitResult, TaskStatus } from "../domain/results.ts"
import { decodeUnknownTaskConfig, encodeTaskConfig, type TaskConfig } from "../domain/TaskConfig.ts"
import { type Signal, signalOf, SIGKILL, SIGTERM } from "../domain/values/signals.ts"
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
import type { PodmanFacts } from "./podmanFacts.ts"
import type { Removals } from "./removals.ts"
import type { TaskEntry, TaskRegistry } from "./registry.ts"
import { exitResultOfInspect, unknownExit } from "./exits.ts"
import type { TaskRuntime } from "./runtime.ts"

/** How long DestroyTask waits for an exited task's last log lines to be forwarded. */
const LOG_DRAIN = Duration.seconds(5)

/** How long a stop waits for the exit after SIGKILL before it gives up waiting. */
const KILL_GRACE = Duration.seconds(30)

const notRunning = (e: PodmanError): boolean => e.reason._tag === "NotFound" || e.reason._tag === "NotRunning"

/** The network a started task exposes to Nomad. */
const containerNetwork = (config: TaskConfig, task: NomadTask, inspect: ContainerInspect | undefined): DriverNetwork => {
  const portMap: Record<string, number> = {}
  for (const label of config.ports) {
    const p = task.resources.ports.find((x) => x.label === label)
    if (p) portMap[label] = p.to > 0 ? p.to : p.value
  }
  for (const [label, port] of Object.entries(config.port_map)) portMap[label] = port
  // The container IP on Podman's bridge is only reachable from this host: never auto-advertise it.
  return { portMap, ip: inspect?.ipAddress ?? "", autoAdvertise: false }
}

/**
 * The inspect right after a start. Podman 4.3 answers 500 "read /proc/<pid>/cgroup: no such process"
 * when the container's process exits while it inspects (a task that exits at once): asked again, it
 * describes the exited container.
 */
const inspectJustStarted = (client: PodmanClient, containerId: string) =>
  client.containerInspect(containerId).pipe(
    Effect.retry({ times: 3, schedule: Schedule.spaced("20 millis"), while: (e) => e.reason._tag === "Api" })
  )

/** Below this k8s-file size limit, StartTask follows Podman's log from the container's start. */
const EARLY_FOLLOW_BELOW_BYTES = 16 * 1024 * 1024

export const makeLifecycle = (deps: {
  readonly registry: TaskRegistry
  readonly runtime: TaskRuntime
  readonly images: ImageResolver
  readonly publish: (task: NomadTask) => ImageEvent
  readonly facts: PodmanFacts
  readonly removals: Removals
  readonly imageGc: ImageGc
  readonly health: Health
}) =>
  Effect.gen(function*() {
    const { registry, runtime, images, publish, facts, removals, imageGc, health } = deps
    const podman = yield* Podman
    const driverConfig = yield* DriverConfig
    const hostFiles = yield* HostFiles

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
      const info = yield* facts.get(client)
      const cpus = yield* sharedCpus(client, task).pipe(Effect.provideService(HostFiles, hostFiles))
      // The whole config is checked before the image is pulled: a bad volume must not cost a pull.
      const checked = yield* containerSpec(task, config, plugin, specContext(info, cpus))
      // An archive, `force_pull` or a platform override is fetched first; any other image only
      // when create says it is missing (a local image costs no lookup).
      const source = config.image
      const fetchFirst = source._tag === "archive" || config.force_pull || config.os !== undefined || config.arch !== undefined ||
        config.variant !== undefined
      const fetch = images.ensure(client, config, plugin, publish(task))
      const image = source._tag === "registry" && !fetchFirst ? source.ref : yield* fetch
      const spec: ContainerSpec = { ...checked, image }
      const name = spec.name

      const resources = yield* Scope.make()
      const started = yield* Effect.gen(function*() {
        const forward = yield* logsEnabled
        // the watch that opens Podman's rotated log files under a small size limit (logFollower.ts)
        // runs on a thread that takes 0.1-0.2 s to start: started beside the create
        const logLimit = spec.log_configuration?.size ?? 0
        if (forward && logLimit > 0 && logLimit < EARLY_FOLLOW_BELOW_BYTES) yield* hostFiles.prepareWatch
        // The create, and beside it the task's log keeper and position (until DestroyTask; before the
        // start: logmon needs a writer that outlives this process); the keeper's spawn costs no latency.
        const [created, logs] = yield* Effect.all([
          Scope.provide(
            Effect.acquireRelease(
              createContainer(client, task, config, spec, fetchFirst ? {} : { fetchImage: fetch }),
              (c, exit) => releaseContainer(client, c.id, exit)
            ),
            resources
          ),
          forward ? Scope.provide(runtime.retainLogs(task, { recover: false, keeper: undefined }), resources) : Effect.succeed(undefined)
        ], { concurrency: 2 })
        const containerId = created.id
        const adopt = created.adopted !== undefined
        // With a small size limit, a burst at start could fill and rotate Podman's first log file away
        // before the tailer (started from the inspect after the reply) holds it: Podman's log is then
        // followed before the container starts (an inspect beside the start waits for Podman's
        // container lock and answered after the first files were gone: at full speed a 1 MiB file
        // lives 15-25 ms). With a larger limit that cannot happen in the few milliseconds before the
        // tailer holds the file, and the start stays two calls (measured: the extra inspect slows the
        // start, bench/).
        const logSize = spec.log_configuration?.size ?? 0
        const followEarly = forward && !adopt && logSize > 0 && logSize < EARLY_FOLLOW_BELOW_BYTES
        const [earlyLog] = yield* Effect.all([
          followEarly ? runtime.followLogEarly(client, containerId, resources) : Effect.succeed(undefined),
          adopt ? Effect.void : client.containerStart(containerId)
        ], { concurrency: followEarly ? 1 : 2 })
        // Only a container on a Podman network has an address of its own, and only an inspect says
        // which: every other start is two calls (create, start) and the inspect comes after the reply.
        const inspect = created.adopted ?? (spec.netns?.nsmode === "bridge" ? yield* inspectJustStarted(client, containerId) : undefined)
        const startedAt = inspect?.state.startedAt ?? (yield* DateTime.nowAsDate)
        const state: DriverState = {
          version: 1,
          taskId: task.id,
          containerId,
          containerName: name,
          socketName: client.socketName,
          startedAt: startedAt.toISOString(),
          logSince: startedAt.toISOString(),
          taskConfig: encodeTaskConfig(config),
          nomadTask: task,
          ...(logs?.keeper !== undefined ? { logKeeper: logs.keeper } : {})
        }
        const entry = yield* runtime.launch(
          { taskId: task.id, task, config, client, containerId, containerName: name, startedAt, resources, state, logs },
          // without an inspect yet, the other watchers start once the runtime's inspect is in
          { logs: forward, earlyLog, ...(inspect !== undefined ? { inspect } : { described: (e, i) => follow(e, i, cpus) }) }
        )
        if (inspect !== undefined) yield* follow(entry, inspect, cpus)
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
        // The container's own (the image's STOPSIGNAL), from the inspect taken after its start.
        const n = (yield* t.inspected)?.stopSignal
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
      // The inspect taken after the start's reply starts the image GC count (follow): let it land,
      // so that the release below finds it.
      yield* t.inspected.pipe(Effect.timeout(LOG_DRAIN), Effect.ignore)
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
      const logs = plugin.disable_log_collection
        ? undefined
        : yield* Scope.provide(runtime.retainLogs(state.nomadTask, { recover: true, keeper: state.logKeeper }), resources)
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
          state,
          logs
        },
        {
          inspect,
          logs: !plugin.disable_log_collection,
          // resumes at the position the log sink kept; without one, at the recovery's time
          logSince: now,
          ...(running ? {} : { exited: exitResultOfInspect(inspect, now) })
        }
      )
      // the guard rails are not applied: a running task stays, whatever the operator changed since
      yield* follow(entry, inspect, inspect.cpusetCpus !== "" ? inspect.cpusetCpus : undefined)
      yield* registry.add(entry)
      yield* Effect.logInfo(`recovered task ${state.taskId} (container ${state.containerId.slice(0, 12)}, ${running ? "running" : "exited"})`)
    }, Effect.scoped)

    return { startTask, waitTask, stopTask, destroyTask, inspectTask, signalTask, recoverTask }
  })
