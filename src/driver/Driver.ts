/**
 * The driver core: every task operation as an Effect program over the `Podman`, `LogSink` and
 * `DriverConfig` services. No protobuf and no HTTP here.
 *
 * Scopes:
 * - each task has a `resources` scope, from StartTask (or RecoverTask) to DestroyTask. The container
 *   is acquired in it; its release removes the container when `gc.container` is true, and always
 *   when the start failed. DestroyTask closes it. A failed StartTask closes it.
 * - each task has a `fibers` scope, a child of nothing: the exit watcher and the log forwarder are
 *   forked into it. DestroyTask closes it; so does the driver layer's shutdown (plugin shutdown),
 *   which does NOT close `resources`: containers outlive a plugin restart and are recovered.
 */
import { Cause, Deferred, Effect, Exit, Layer, Option, PubSub, Schedule, Scope, Stream } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import {
  type DriverFailure,
  type HostFileError,
  PodmanError,
  TaskAlreadyExists,
  TaskNotFound,
  TaskStateError,
  Timeout
} from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { DriverNetwork, ExitResult, Fingerprint, TaskEvent, TaskStatsSample, TaskStatus } from "../domain/results.ts"
import { decodeUnknownTaskConfig, encodeTaskConfig, type TaskConfig } from "../domain/TaskConfig.ts"
import { parseSignal, type Signal, signalOf, SIGKILL, SIGTERM } from "../domain/values/signals.ts"
import { LABEL_ALLOC_ID, translate } from "../translate/index.ts"
import { Driver, type ExecInput, type ExecOutput, type StartedTask } from "../services/Driver.ts"
import { DriverConfig } from "../services/DriverConfig.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { LogSink } from "../services/LogSink.ts"
import { Podman, type ContainerInspect, type OutputChunk, type PodmanClient, type PodmanInfo } from "../services/Podman.ts"
import { readCgroupStats } from "./cgroup.ts"
import { canReadFile, tailK8sFile } from "./k8sFileLogs.ts"
import { fingerprintOnce } from "./fingerprint.ts"
import { makeImageResolver } from "./images.ts"
import { emptyAccumulator, initialSample, toSample, withCgroup } from "./stats.ts"
import { makeStatsHub } from "./statsHub.ts"

/** The longest time between two fingerprints. */
export const FINGERPRINT_PERIOD_MILLIS = 30_000
/** How often socket health is checked (a change is reported at once). */
export const FINGERPRINT_CHECK_MILLIS = 5_000

/** How long Podman's host facts are reused between task starts. */
const INFO_CACHE_MILLIS = 60_000

/** Delay after which the last terminal size of an exec is applied again (see execStreaming). */
const RESIZE_SETTLE_MILLIS = 250

/** How long DestroyTask waits for an exited task's last log lines to be forwarded. */
const LOG_DRAIN_MILLIS = 5_000

/** Exec output kept per stream by ExecTask (script checks need only the tail). */
const EXEC_CAPTURE_LIMIT = 1 << 20

interface TaskHostFiles {
  /** Podman's k8s-file log of the container. */
  readonly logPath: string | undefined
  /** The container's cgroup (`/libpod_parent/libpod-<id>` and the like). */
  readonly cgroupPath: string | undefined
}

/** A container's files on this host: only meaningful when Podman runs here (the client says so). */
const hostFilesOf = (client: PodmanClient, inspect: ContainerInspect): TaskHostFiles =>
  client.local
    ? { logPath: inspect.logPath, cgroupPath: inspect.cgroupPath }
    : { logPath: undefined, cgroupPath: undefined }

interface TaskEntry {
  readonly taskId: string
  readonly task: NomadTask
  readonly config: TaskConfig
  readonly client: PodmanClient
  readonly containerId: string
  readonly containerName: string
  readonly startedAt: Date
  readonly exit: Deferred.Deferred<ExitResult>
  readonly resources: Scope.Closeable
  readonly fibers: Scope.Closeable
  /** Completed when the log forwarder has written everything (or is not running). */
  readonly logsDone: Deferred.Deferred<void>
  /** Host files of the container, read directly when Podman is local (from one inspect at register). */
  readonly hostFiles: TaskHostFiles
  readonly state: DriverState
}

const notRunning = (e: PodmanError): boolean => e.reason._tag === "NotFound" || e.reason._tag === "NotRunning"

/** Builds the exit result from an inspect of an exited container. */
const exitResultOf = (inspect: ContainerInspect, fallbackCode: number | undefined): ExitResult => {
  const code = inspect.state.running ? (fallbackCode ?? 0) : inspect.state.exitCode
  const signal = code > 128 && code < 128 + 65 ? code - 128 : 0
  return {
    exitCode: code,
    signal,
    oomKilled: inspect.state.oomKilled,
    finishedAt: inspect.state.finishedAt ?? new Date(),
    ...(inspect.state.oomKilled
      ? { error: "OOM Killed: the container was killed by the kernel OOM killer" }
      : inspect.state.error
      ? { error: inspect.state.error }
      : {})
  }
}

export const make = Effect.gen(function*() {
  const podman = yield* Podman
  const logSink = yield* LogSink
  const driverConfig = yield* DriverConfig
  const hostFiles = yield* HostFiles
  const tasks = new Map<string, TaskEntry>()
  /** Task ids whose StartTask/RecoverTask is in progress (guards against duplicate starts). */
  const pending = new Set<string>()
  const events = yield* PubSub.unbounded<TaskEvent>()
  const images = yield* makeImageResolver
  const statsHub = yield* makeStatsHub

  // Plugin shutdown: stop the fibers of every task, keep the containers (they are recovered later).
  yield* Effect.addFinalizer(() =>
    Effect.forEach([...tasks.values()], (t) => Scope.close(t.fibers, Exit.void), { discard: true, concurrency: "unbounded" })
  )

  // `info` is one of Podman's slowest calls (it gathers host facts); the facts the spec needs
  // (rootless, cgroups, API version, CPUs) do not change while a service runs, so keep them a while.
  const infoCache = new Map<PodmanClient, { readonly at: number; readonly info: PodmanInfo }>()
  const cachedInfo = (client: PodmanClient) =>
    Effect.suspend(() => {
      const hit = infoCache.get(client)
      if (hit && Date.now() - hit.at < INFO_CACHE_MILLIS) return Effect.succeed(hit.info)
      return client.info.pipe(Effect.tap((info) => Effect.sync(() => infoCache.set(client, { at: Date.now(), info }))))
    })

  /**
   * The release of a task's container (its `resources` scope closing): removed when `gc.container`
   * is on, and always when the scope closed because the start failed. Already gone is fine.
   */
  const releaseContainer = (client: PodmanClient, id: string, exit: Exit.Exit<unknown, unknown>) =>
    Effect.gen(function*() {
      if (Exit.isSuccess(exit) && !(yield* driverConfig.get).gc.container) return
      yield* client.containerRemove(id, { force: true, volumes: true, timeoutSeconds: 0 }).pipe(
        Effect.catchReason("PodmanError", "NotFound", () => Effect.void),
        Effect.catch((e) => Effect.logWarning(`removing container ${id} failed: ${e.message}`))
      )
    })

  const lookup = (taskId: string): Effect.Effect<TaskEntry, TaskNotFound> =>
    Effect.suspend(() => {
      const t = tasks.get(taskId)
      return t ? Effect.succeed(t) : Effect.fail(new TaskNotFound({ taskId }))
    })

  const publish = (task: NomadTask, message: string, annotations: Record<string, string> = {}) =>
    PubSub.publish(events, {
      taskId: task.id,
      allocId: task.allocId,
      taskName: task.name,
      timestamp: new Date(),
      message,
      annotations
    }).pipe(Effect.asVoid)

  /** Waits for the container to stop (event driven), then records how it ended. Retries transport failures. */
  const watchExit = (client: PodmanClient, containerId: string, exit: Deferred.Deferred<ExitResult>) =>
    Effect.gen(function*() {
      const code = yield* client.containerWait(containerId).pipe(
        Effect.retry({
          while: (e) => e.isRetryable,
          schedule: Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")])
        })
      )
      const inspect = yield* client.containerInspect(containerId).pipe(
        Effect.retry({ times: 5, schedule: Schedule.spaced("200 millis") })
      )
      yield* Deferred.succeed(exit, exitResultOf(inspect, code))
    }).pipe(
      Effect.catch((e: PodmanError) =>
        Deferred.succeed(exit, {
          exitCode: -1,
          signal: 0,
          oomKilled: false,
          finishedAt: new Date(),
          error: e.reason._tag === "NotFound" ? "the container was removed outside of Nomad" : `waiting for the container failed: ${e.message}`
        })
      )
    )

  /**
   * Where a task's output is read from: Podman's k8s-file log on this host when it is readable
   * (lossless, see k8sFileLogs.ts), else the logs API (remote sockets, other log drivers).
   */
  const logSource = (entry: TaskEntry, since: Date | undefined) =>
    Effect.gen(function*() {
      const path = entry.hostFiles.logPath
      if (path !== undefined && (yield* canReadFile(path))) {
        return tailK8sFile(path, {
          exited: Deferred.isDone(entry.exit),
          awaitExit: Deferred.await(entry.exit),
          ...(since ? { since } : {})
        }).pipe(Stream.provideService(HostFiles, hostFiles))
      }
      return entry.client.containerLogs(entry.containerId, { follow: true, stdout: true, stderr: true, ...(since ? { since } : {}) })
    }).pipe(Effect.provideService(HostFiles, hostFiles))

  /** Forwards the container's stdout/stderr to the task's log sink until the container exits. */
  const forwardLogs = (entry: TaskEntry, since: Date | undefined) =>
    Effect.scoped(
      Effect.gen(function*() {
        const writer = yield* logSink.open({
          taskId: entry.task.id,
          stdoutPath: entry.task.stdoutPath,
          stderrPath: entry.task.stderrPath
        })
        const source: Stream.Stream<OutputChunk, PodmanError | HostFileError> = yield* logSource(entry, since)
        yield* source.pipe(Stream.runForEach(writer.write))
      })
    ).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning("log forwarding stopped", Cause.pretty(cause))
      )
    )

  // every log driver the config allows (nomad, journald) is readable through Podman
  const logsEnabled = (plugin: PluginConfig) => !plugin.disable_log_collection

  /** Registers a task whose container exists, and forks its watchers into a fresh fibers scope. */
  const register = (
    fields: Omit<TaskEntry, "fibers" | "exit" | "logsDone" | "hostFiles">,
    inspect: ContainerInspect,
    logSince: Date | undefined,
    plugin: PluginConfig
  ) =>
    Effect.gen(function*() {
      const exit = yield* Deferred.make<ExitResult>()
      const fibers = yield* Scope.make()
      const logsDone = yield* Deferred.make<void>()
      const entry: TaskEntry = { ...fields, exit, fibers, logsDone, hostFiles: hostFilesOf(fields.client, inspect) }
      tasks.set(entry.taskId, entry)
      yield* Effect.forkIn(watchExit(entry.client, entry.containerId, exit), fibers)
      if (logsEnabled(plugin)) {
        yield* Effect.forkIn(forwardLogs(entry, logSince).pipe(Effect.ensuring(Deferred.succeed(logsDone, undefined))), fibers)
      } else {
        yield* Deferred.succeed(logsDone, undefined)
      }
      return entry
    })

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

  const startTask = Effect.fn("Driver.startTask")(function*(task: NomadTask, config: TaskConfig) {
    if (tasks.has(task.id) || pending.has(task.id)) return yield* new TaskAlreadyExists({ taskId: task.id })
    pending.add(task.id)
    return yield* Effect.gen(function*() {
      const plugin = yield* driverConfig.get
      const client = yield* podman.client(config.socket)
      const info = yield* cachedInfo(client)
      // The whole config is checked before the image is pulled: a bad volume must not cost a pull.
      const checked = yield* translate({
        config,
        task,
        plugin,
        podman: {
          rootless: info.rootless,
          cgroupVersion: info.cgroupVersion,
          cgroupManager: info.cgroupManager,
          apiVersion: info.apiVersion,
          hostCpus: info.cpus
        }
      })
      const image = yield* images.ensure(client, config, plugin, (m, a) => publish(task, m, a))
      const spec = { ...checked, image }
      const name = spec.name

      // A container with our name: adopt it only if it is ours (same alloc id label) and running.
      const existing = yield* client.containerInspect(name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(Option.none<ContainerInspect>()))
      )
      if (Option.isSome(existing)) {
        const ours = existing.value.labels[LABEL_ALLOC_ID] === task.allocId
        if (!ours) {
          return yield* new TaskStateError({
            taskId: task.id,
            detail: `a container named ${name} exists and was not created for allocation ${task.allocId}; refusing to adopt it`
          })
        }
        if (!existing.value.state.running) {
          yield* client.containerRemove(existing.value.id, { force: true, volumes: true, timeoutSeconds: 0 })
        }
      }

      const resources = yield* Scope.make()
      const started = yield* Effect.gen(function*() {
        const adopt = Option.isSome(existing) && existing.value.state.running ? existing.value : undefined
        const containerId = yield* Scope.provide(
          Effect.acquireRelease(
            adopt
              ? Effect.succeed(adopt.id)
              : client.containerCreate(spec).pipe(
                Effect.tap((r) => Effect.forEach(r.warnings, (w) => Effect.logWarning(`podman create: ${w}`))),
                Effect.map((r) => r.id)
              ),
            (id, exit) => releaseContainer(client, id, exit)
          ),
          resources
        )
        if (!adopt) yield* client.containerStart(containerId)
        const inspect = yield* client.containerInspect(containerId)
        const startedAt = inspect.state.startedAt ?? new Date()
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
        yield* register(
          { taskId: task.id, task, config, client, containerId, containerName: name, startedAt, resources, state },
          inspect,
          undefined,
          plugin
        )
        const network = containerNetwork(config, task, inspect)
        return { state, network } satisfies StartedTask
      }).pipe(Effect.onError((cause) => Scope.close(resources, Exit.failCause(cause))))
      yield* Effect.logInfo(`started task ${task.id} in container ${started.state.containerId.slice(0, 12)} (${name})`)
      return started
    }).pipe(Effect.ensuring(Effect.sync(() => pending.delete(task.id))))
  })

  const waitTask = Effect.fn("Driver.waitTask")(function*(taskId: string) {
    const t = yield* lookup(taskId)
    return yield* Deferred.await(t.exit)
  })

  const isExited = (t: TaskEntry) => Deferred.isDone(t.exit)

  /** The signal Nomad asked for (its text; "" = none), parsed once here. */
  const requestedSignal = (taskId: string, text: string, what: string) =>
    Effect.suspend(() => {
      if (text === "") return Effect.succeed(undefined)
      const signal = parseSignal(text)
      return signal === undefined
        ? Effect.fail(new TaskStateError({ taskId, detail: `unknown ${what} ${JSON.stringify(text)}` }))
        : Effect.succeed(signal)
    })

  /**
   * The stop signal: Nomad's, else the task's `kill_signal` (decoded at start), else the image's
   * stop signal, else SIGTERM.
   */
  const stopSignalOf = (t: TaskEntry, requested: Signal | undefined) =>
    Effect.gen(function*() {
      if (requested !== undefined) return requested
      if (t.config.kill_signal !== undefined) return t.config.kill_signal
      const inspect = yield* t.client.containerInspect(t.containerId).pipe(Effect.option)
      const n = Option.isSome(inspect) ? inspect.value.stopSignal : undefined
      return (n !== undefined ? signalOf(n) : undefined) ?? SIGTERM
    })

  /** Signal, wait up to the timeout, then SIGKILL. Already stopped is success. */
  const stopEntry = (t: TaskEntry, timeoutMillis: number, requested: Signal | undefined) =>
    Effect.gen(function*() {
      if (yield* isExited(t)) return
      const { name } = yield* stopSignalOf(t, requested)
      yield* t.client.containerKill(t.containerId, name).pipe(Effect.catchIf(notRunning, () => Effect.void))
      const exited = yield* Deferred.await(t.exit).pipe(Effect.timeoutOption(Math.max(0, timeoutMillis)))
      if (Option.isNone(exited)) {
        yield* Effect.logInfo(`task ${t.taskId} did not stop within ${timeoutMillis} ms after ${name}; sending SIGKILL`)
        yield* t.client.containerKill(t.containerId, "SIGKILL").pipe(Effect.catchIf(notRunning, () => Effect.void))
        yield* Deferred.await(t.exit).pipe(Effect.timeout(30_000), Effect.ignore)
      }
    })

  const stopTask = Effect.fn("Driver.stopTask")(function*(taskId: string, timeoutMillis: number, signal: string) {
    const t = yield* lookup(taskId)
    yield* stopEntry(t, timeoutMillis, yield* requestedSignal(taskId, signal, "stop signal"))
  })

  const destroyTask = Effect.fn("Driver.destroyTask")(function*(taskId: string, force: boolean) {
    const t = tasks.get(taskId)
    if (!t) return yield* new TaskNotFound({ taskId })
    if (!(yield* isExited(t))) {
      if (!force) return yield* new TaskStateError({ taskId, detail: "cannot destroy running task" })
      // force: kill at once (Nomad sends StopTask with the grace period first when it wants one)
      yield* stopEntry(t, 0, SIGKILL).pipe(Effect.catch((e) => Effect.logWarning(`kill before destroy failed: ${e.message}`)))
    }
    tasks.delete(taskId)
    // A task that printed and exited at once: let its last lines reach the log sink first.
    yield* Deferred.await(t.logsDone).pipe(Effect.timeout(LOG_DRAIN_MILLIS), Effect.ignore)
    yield* Scope.close(t.fibers, Exit.void)
    // Pending WaitTask calls must not hang on a task that no longer exists: if the exit was never
    // observed (the watcher was just interrupted), resolve them with an explicit error result.
    yield* Deferred.succeed(t.exit, {
      exitCode: -1,
      signal: 0,
      oomKilled: false,
      finishedAt: new Date(),
      error: "the task was destroyed before its exit was observed"
    })
    yield* Scope.close(t.resources, Exit.void)
  })

  const inspectTask = Effect.fn("Driver.inspectTask")(function*(taskId: string) {
    const t = yield* lookup(taskId)
    const exit = yield* Deferred.poll(t.exit)
    const result = Option.isSome(exit) ? Option.some(yield* exit.value) : Option.none<ExitResult>()
    const status: TaskStatus = {
      id: t.taskId,
      name: t.task.name,
      state: Option.isSome(result) ? "exited" : "running",
      startedAt: t.startedAt,
      containerId: t.containerId,
      driverAttributes: { container_id: t.containerId, container_name: t.containerName, socket: t.client.socketName },
      ...(Option.isSome(result) ? { completedAt: result.value.finishedAt, exitResult: result.value } : {})
    }
    return status
  })

  const taskStats = (taskId: string, intervalMillis: number): Stream.Stream<TaskStatsSample, DriverFailure> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const t = yield* lookup(taskId)
        // TotalTicks (MHz used) needs the node's core speed, which the agent sends in SetConfig.
        const mhzPerCore = (yield* driverConfig.agent).cpuMhzPerCore
        const intervalSeconds = Math.max(1, Math.round(intervalMillis / 1000))
        // RSS, cache, swap and throttling come from the container's cgroup when Podman is local.
        const cgroupPath = t.hostFiles.cgroupPath
        const first = Stream.fromEffect(
          (cgroupPath === undefined ? Effect.succeed(undefined) : readCgroupStats(cgroupPath)).pipe(
            Effect.map((cg) => initialSample(taskId, cg)),
            Effect.provideService(HostFiles, hostFiles)
          )
        )
        return Stream.concat(first, statsHub.subscribe(t.client, t.containerId, intervalSeconds).pipe(
          Stream.mapAccum(() => emptyAccumulator, (acc, s) => {
            const [next, sample] = toSample(taskId, acc, s, mhzPerCore)
            return [next, [sample]] as const
          }),
          Stream.mapEffect((sample) =>
            cgroupPath === undefined
              ? Effect.succeed(sample)
              : readCgroupStats(cgroupPath).pipe(
                Effect.map((cg) => (cg ? withCgroup(sample, cg) : sample)),
                Effect.provideService(HostFiles, hostFiles)
              )
          ),
          Stream.interruptWhen(Deferred.await(t.exit))
        ))
      })
    )

  const signalTask = Effect.fn("Driver.signalTask")(function*(taskId: string, signal: string) {
    const t = yield* lookup(taskId)
    const parsed = yield* requestedSignal(taskId, signal, "signal")
    if (parsed === undefined) return yield* new TaskStateError({ taskId, detail: `unknown signal ""` })
    yield* t.client.containerKill(t.containerId, parsed.name)
  })

  const execTask = Effect.fn("Driver.execTask")(function*(taskId: string, command: ReadonlyArray<string>, timeoutMillis: number) {
    const t = yield* lookup(taskId)
    const run = Effect.scoped(
      Effect.gen(function*() {
        const session = yield* t.client.exec(t.containerId, { command, tty: false, stdin: false })
        const out: Array<Uint8Array> = []
        const err: Array<Uint8Array> = []
        let outSize = 0
        let errSize = 0
        yield* session.output.pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              if (chunk.stream === "stdout" && outSize < EXEC_CAPTURE_LIMIT) {
                out.push(chunk.data)
                outSize += chunk.data.length
              } else if (chunk.stream === "stderr" && errSize < EXEC_CAPTURE_LIMIT) {
                err.push(chunk.data)
                errSize += chunk.data.length
              }
            })
          )
        )
        const exitCode = yield* session.exitCode
        return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode }
      })
    )
    if (timeoutMillis <= 0) return yield* run
    return yield* run.pipe(
      Effect.timeoutOrElse({
        duration: timeoutMillis,
        orElse: () =>
          Effect.fail(new PodmanError({ operation: `exec in task ${taskId}`, socket: t.client.address, reason: new Timeout({ millis: timeoutMillis }) }))
      })
    )
  })

  const execStreaming = (
    taskId: string,
    options: { readonly command: ReadonlyArray<string>; readonly tty: boolean },
    input: Stream.Stream<ExecInput>
  ): Stream.Stream<ExecOutput, DriverFailure> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const t = yield* lookup(taskId)
        const session = yield* t.client.exec(t.containerId, { command: options.command, tty: options.tty, stdin: true })
        // Podman applies a resize that arrives while the exec process is still starting only once
        // it runs, i.e. possibly after a later one: the last requested size is applied again a
        // moment later, so the terminal ends up with the size the user has now.
        let latest: { readonly height: number; readonly width: number } | undefined
        const resize = (size: { readonly height: number; readonly width: number }) =>
          Effect.gen(function*() {
            latest = size
            yield* session.resize(size).pipe(Effect.catch((e) => Effect.logDebug(`exec resize failed: ${e.message}`)))
            yield* Effect.sleep(RESIZE_SETTLE_MILLIS).pipe(
              Effect.andThen(Effect.suspend(() => (latest === size ? session.resize(size).pipe(Effect.ignore) : Effect.void))),
              Effect.forkScoped
            )
          })
        yield* input.pipe(
          Stream.runForEach((msg) =>
            msg._tag === "Stdin"
              ? session.write(msg.data)
              : msg._tag === "StdinClose"
              ? session.closeStdin
              : resize({ height: msg.height, width: msg.width })
          ),
          Effect.catch((e) => Effect.logDebug(`exec input ended: ${e.message}`)),
          Effect.forkScoped
        )
        const output: Stream.Stream<ExecOutput, DriverFailure> = session.output.pipe(
          Stream.map((c): ExecOutput => (c.stream === "stdout" ? { _tag: "Stdout", data: c.data } : { _tag: "Stderr", data: c.data }))
        )
        return Stream.concat(output, Stream.fromEffect(session.exitCode.pipe(Effect.map((exitCode): ExecOutput => ({ _tag: "Exited", exitCode })))))
      })
    )

  const recoverTask = Effect.fn("Driver.recoverTask")(function*(state: DriverState) {
    if (tasks.has(state.taskId) || pending.has(state.taskId)) return
    pending.add(state.taskId)
    yield* Effect.gen(function*() {
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
          Effect.timeout(30_000),
          Effect.as(true),
          Effect.catch((e) => Effect.logWarning(`recover_stopped: restarting ${state.containerId} failed: ${e.message}`).pipe(Effect.as(false)))
        )
        // a restarted container has a new cgroup and start time
        if (running) inspect = yield* inspectNow
      }
      const resources = yield* Scope.make()
      yield* Scope.addFinalizerExit(resources, (exit) => releaseContainer(client, state.containerId, exit))
      const entry = yield* register(
        {
          taskId: state.taskId,
          task: state.nomadTask,
          config,
          client,
          containerId: state.containerId,
          containerName: state.containerName,
          // the state's start time, or Podman's when the state does not know it (a Go driver handle)
          startedAt: new Date(state.startedAt).getTime() > 0 ? new Date(state.startedAt) : (inspect.state.startedAt ?? new Date()),
          resources,
          state
        },
        inspect,
        // what was logged before this moment was forwarded by the previous plugin (or, while no
        // plugin ran, is not replayed): only newer lines are forwarded
        new Date(),
        plugin
      )
      if (!running) yield* Deferred.succeed(entry.exit, exitResultOf(inspect, undefined))
      yield* Effect.logInfo(`recovered task ${state.taskId} (container ${state.containerId.slice(0, 12)}, ${running ? "running" : "exited"})`)
    }).pipe(Effect.ensuring(Effect.sync(() => pending.delete(state.taskId))))
  })

  /**
   * One fingerprint at once; then every FINGERPRINT_CHECK_MILLIS a cheap check (ping of every
   * socket, and the socket list): a full fingerprint is sent when that changes, and at least every
   * FINGERPRINT_PERIOD_MILLIS. Never ends.
   */
  const fingerprint: Stream.Stream<Fingerprint> = Stream.unwrap(
    Effect.sync(() => {
      let lastKey = ""
      let lastAt = 0
      const check = Effect.gen(function*() {
        const clients = yield* podman.clients
        const alive = yield* Effect.forEach(clients, (c) =>
          c.ping.pipe(Effect.timeout(5_000), Effect.as(true), Effect.orElseSucceed(() => false)), { concurrency: "unbounded" })
        const key = clients.map((c, i) => `${c.socketName}=${c.address}:${alive[i]}`).join(",")
        const now = Date.now()
        if (key === lastKey && now - lastAt < FINGERPRINT_PERIOD_MILLIS) return undefined
        lastKey = key
        lastAt = now
        return yield* fingerprintOnce(clients)
      })
      return Stream.concat(Stream.succeed(undefined), Stream.fromSchedule(Schedule.spaced(FINGERPRINT_CHECK_MILLIS))).pipe(
        Stream.mapEffect(() => check),
        Stream.filter((fp): fp is Fingerprint => fp !== undefined)
      )
    })
  )

  const capabilities = Effect.gen(function*() {
    const plugin = yield* driverConfig.get
    const clients = yield* podman.clients
    return {
      sendSignals: true,
      exec: clients.every((c) => c.capabilities.exec),
      fsIsolation: "image" as const,
      networkIsolationModes: ["host", "group", "task"] as const,
      mustCreateNetwork: false,
      mountConfigs: "any" as const,
      disableLogCollection: plugin.disable_log_collection
    }
  })

  const taskEvents: Stream.Stream<TaskEvent> = Stream.fromPubSub(events)


  return Driver.of({
    startTask,
    waitTask,
    stopTask,
    destroyTask,
    inspectTask,
    taskStats,
    taskEvents,
    signalTask,
    execTask,
    execStreaming,
    recoverTask,
    fingerprint,
    capabilities,
    tasks: Effect.sync(() => [...tasks.keys()]),
    hasTask: (taskId) => Effect.sync(() => tasks.has(taskId))
  })
})

/** The driver core; needs `Podman`, `LogSink`, `DriverConfig` and `HostFiles`. */
export const layer: Layer.Layer<Driver, never, Podman | LogSink | DriverConfig | HostFiles> = Layer.effect(Driver, make)
