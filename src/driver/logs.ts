/**
 * Log forwarding: copies a task's stdout and stderr from Podman to the task's log sink (Nomad's
 * FIFOs in plugin mode) until the container has exited and its last line is written, exactly once
 * across plugin restarts, reconnects and Podman's log rotation (docs/architecture.md, "Logs").
 *
 * - The source is Podman's own k8s-file log on this host when it is readable (k8sFileLogs.ts:
 *   lossless, untouched by a Podman service restart), else the logs API (apiLogs.ts: remote
 *   sockets, the journald log driver; reconnects with backoff).
 * - The planner (logDelivery.ts) turns records into at most one write per stream and batch and
 *   knows the position each write reaches; every byte the sink accepts moves the recorded position
 *   (`RetainedLogs.save`), so the next plugin instance resumes exactly there.
 * - `retainLogs` runs in the task's `resources` scope (StartTask or RecoverTask to DestroyTask): the
 *   sink's keeper holds the destinations open across plugin crashes; forwarding itself runs in the
 *   task's `fibers` scope.
 */
import * as posix from "node:path/posix"
import { Cause, Deferred, Effect, Option, type Scope, Stream } from "effect"
import type { LogKeeperId } from "../domain/DriverState.ts"
import { type LogPosition, logTimeOfDate, startPosition } from "../domain/LogPosition.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import { HostFiles } from "../services/HostFiles.ts"
import type { PodmanClient } from "../services/Podman.ts"
import { LogSink, type LogTarget, type LogWriter, type RetainedLogs } from "../services/LogSink.ts"
import { apiLogSource } from "./apiLogs.ts"
import { tailK8sFile } from "./k8sFileLogs.ts"
import { followLog, type LogFollower } from "./logFollower.ts"
import { DeliveryPlanner, partway, type SourceEvent } from "./logDelivery.ts"
import type { TaskEntry } from "./registry.ts"

/**
 * The task's log destinations. The state directory is Nomad's private directory of the task
 * (`<alloc>/<task>/private`): never mounted into the container, removed with the allocation.
 */
export const logTargetOf = (task: NomadTask): LogTarget => ({
  taskId: task.id,
  stdoutPath: task.stdoutPath,
  stderrPath: task.stderrPath,
  stateDir: task.allocDir !== "" ? posix.join(task.allocDir, task.name, "private") : ""
})

/** Only what was logged from `date` on (a task recovered without a kept position). */
const positionSince = (date: Date): LogPosition => {
  const cursor = { offset: 0, time: logTimeOfDate(date), count: 0, partial: 0 }
  return { file: "", stdout: cursor, stderr: cursor }
}

/**
 * Delivers one source event: the planned writes in order, the position recorded after every piece
 * the sink accepts (`save`), then the batch's final position.
 */
export const deliverer = (
  planner: DeliveryPlanner,
  writer: LogWriter,
  save: (position: LogPosition) => Effect.Effect<void>
) =>
(event: SourceEvent): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (event._tag !== "Records") {
      planner.control(event)
      if (event._tag === "File") yield* save(planner.position)
      return
    }
    const { final, writes } = planner.plan(event.records, event.end)
    for (const w of writes) {
      let taken = 0
      yield* writer.write({ stream: w.stream, data: w.data }, (bytes) => {
        taken += bytes
        return save(partway(w, taken))
      })
      // a sink that does not report delivered the write whole
      if (taken < w.data.length) yield* save(w.after)
    }
    planner.commit(final)
    yield* save(final)
  })

export const makeLogForwarder = Effect.gen(function*() {
  const logSink = yield* LogSink
  const hostFiles = yield* HostFiles

  /**
   * Retains the task's logs until the current Scope closes (the task's `resources` scope): see
   * `LogSink.retain`. Undefined when the sink retains nothing (console, discard).
   */
  const retainLogs = (
    task: NomadTask,
    options: { readonly recover: boolean; readonly keeper: LogKeeperId | undefined }
  ) => (logSink.retain === undefined ? Effect.succeed(undefined) : logSink.retain(logTargetOf(task), options))

  /**
   * Starts following the container's k8s-file log before the container starts (creating the file,
   * which conmon then appends to), in a scope under `parent`: a burst at start could otherwise fill
   * and rotate files away before the tailer holds them. Undefined when Podman is not local or the
   * log is not a k8s-file this process can read.
   */
  const followLogEarly = (client: PodmanClient, containerId: string, parent: Scope.Scope) =>
    Effect.gen(function*() {
      if (!client.local) return undefined
      const inspect = yield* client.containerInspect(containerId).pipe(Effect.option)
      const path = Option.isSome(inspect) ? inspect.value.logPath : undefined
      if (path === undefined) return undefined
      return yield* followLog(path, parent, { create: true }).pipe(Effect.option, Effect.map(Option.getOrUndefined))
    }).pipe(Effect.provideService(HostFiles, hostFiles))

  /**
   * Where the task's output is read from (see the module comment): the k8s-file log when this
   * process can open it (the follower started before the container, else one started here).
   */
  const logSource = (
    entry: TaskEntry,
    position: LogPosition | undefined,
    current: Effect.Effect<LogPosition>,
    early: LogFollower | undefined
  ) =>
    Effect.gen(function*() {
      const path = (yield* entry.hostFiles).logPath
      const follower = early ?? (path === undefined
        ? undefined
        : yield* followLog(path, yield* Effect.scope, { create: false }).pipe(Effect.option, Effect.map(Option.getOrUndefined)))
      if (path !== undefined && follower !== undefined) {
        const retained = entry.logs
        return tailK8sFile({
          path,
          position,
          heldFile: retained?.heldFile,
          exited: Deferred.isDone(entry.exit),
          awaitExit: Deferred.await(entry.exit),
          ...(retained !== undefined ? { holdFile: retained.holdFile } : {}),
          follower
        }).pipe(Stream.provideService(HostFiles, hostFiles))
      }
      if (follower !== undefined) yield* follower.release
      return apiLogSource(entry.client, entry.containerId, current)
    }).pipe(Effect.provideService(HostFiles, hostFiles))

  /**
   * Forwards the container's output to the task's log sink until the container exits. From the
   * position the sink kept (recovery), else from the start; `recoveredAt`: a recovery, so without a
   * kept position only output from then on. `follower`: the log, followed since before the start.
   */
  const forwardLogs = (entry: TaskEntry, recoveredAt: Date | undefined, follower?: LogFollower) =>
    Effect.scoped(
      Effect.gen(function*() {
        const writer = yield* logSink.open(logTargetOf(entry.task))
        const retained: RetainedLogs | undefined = entry.logs
        const kept = retained?.resumeFrom
        if (kept === undefined && recoveredAt !== undefined) {
          yield* Effect.logInfo("no log position was kept for this task: forwarding what it logs from now on")
        }
        const planner = new DeliveryPlanner(kept ?? (recoveredAt !== undefined ? positionSince(recoveredAt) : startPosition))
        const deliver = deliverer(planner, writer, retained?.save ?? (() => Effect.void))
        const source = yield* logSource(
          entry,
          kept ?? (recoveredAt !== undefined ? undefined : startPosition),
          Effect.sync(() => planner.position),
          follower
        )
        yield* source.pipe(Stream.runForEach(deliver))
      })
    ).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning("log forwarding stopped", Cause.pretty(cause))
      )
    )

  return { forwardLogs, retainLogs, followLogEarly }
})
