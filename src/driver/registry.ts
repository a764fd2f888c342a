/**
 * The task registry: the tasks this driver instance tracks, and the ids whose StartTask or
 * RecoverTask is in progress. A task is in the registry from the moment its container is known
 * (started or recovered) until DestroyTask takes it out.
 *
 * Every task owns two scopes (docs/architecture.md, "Scopes"):
 * - `resources`: from StartTask/RecoverTask to DestroyTask; the container is acquired in it and its
 *   release removes the container when `gc.container` is on (and always after a failed start);
 * - `fibers`: the task's watchers (exit watcher, log forwarder). DestroyTask closes it, and so does
 *   the plugin's shutdown, which leaves `resources` open: containers outlive a plugin restart and
 *   are recovered by the next instance.
 */
import { Effect, type Deferred, type Scope } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import { TaskAlreadyExists, TaskNotFound } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { ExitResult } from "../domain/results.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { PodmanClient } from "../services/Podman.ts"

/** A container's files on this host, read directly (only when Podman runs on this host). */
export interface TaskHostFiles {
  /** Podman's k8s-file log of the container. */
  readonly logPath: string | undefined
  /** The container's cgroup (`/libpod_parent/libpod-<id>` and the like). */
  readonly cgroupPath: string | undefined
}

/** One tracked task. */
export interface TaskEntry {
  readonly taskId: string
  readonly task: NomadTask
  readonly config: TaskConfig
  readonly client: PodmanClient
  readonly containerId: string
  readonly containerName: string
  readonly startedAt: Date
  /** Completed once with how the task ended (by the exit watcher, or at DestroyTask). */
  readonly exit: Deferred.Deferred<ExitResult>
  readonly resources: Scope.Closeable
  readonly fibers: Scope.Closeable
  /** Completed when the log forwarder has written everything (or is not running). */
  readonly logsDone: Deferred.Deferred<void>
  readonly hostFiles: TaskHostFiles
  readonly state: DriverState
}

export interface TaskRegistry {
  /**
   * Claims `taskId` for a start for as long as the Scope is open; fails with TaskAlreadyExists when
   * the task is tracked or another start/recovery of it is in progress.
   */
  readonly claim: (taskId: string) => Effect.Effect<void, TaskAlreadyExists, Scope.Scope>
  /** Like `claim`, but answers false instead of failing (RecoverTask is idempotent). */
  readonly tryClaim: (taskId: string) => Effect.Effect<boolean, never, Scope.Scope>
  readonly add: (entry: TaskEntry) => Effect.Effect<void>
  readonly lookup: (taskId: string) => Effect.Effect<TaskEntry, TaskNotFound>
  /** Removes the task and returns it. */
  readonly take: (taskId: string) => Effect.Effect<TaskEntry, TaskNotFound>
  readonly entries: Effect.Effect<ReadonlyArray<TaskEntry>>
  readonly has: (taskId: string) => Effect.Effect<boolean>
  /** The ids whose StartTask or RecoverTask is in progress (their containers are not registered yet). */
  readonly inProgress: Effect.Effect<ReadonlyArray<string>>
}

export const makeTaskRegistry: Effect.Effect<TaskRegistry> = Effect.sync(() => {
  const tasks = new Map<string, TaskEntry>()
  const pending = new Set<string>()

  const tryClaim = (taskId: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        if (tasks.has(taskId) || pending.has(taskId)) return false
        pending.add(taskId)
        return true
      }),
      (claimed) => Effect.sync(() => claimed && pending.delete(taskId))
    )

  const lookup = (taskId: string) =>
    Effect.suspend(() => {
      const t = tasks.get(taskId)
      return t ? Effect.succeed(t) : Effect.fail(new TaskNotFound({ taskId }))
    })

  return {
    claim: (taskId) =>
      tryClaim(taskId).pipe(Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail(new TaskAlreadyExists({ taskId }))))),
    tryClaim,
    add: (entry) => Effect.sync(() => void tasks.set(entry.taskId, entry)),
    lookup,
    take: (taskId) => lookup(taskId).pipe(Effect.tap(() => Effect.sync(() => tasks.delete(taskId)))),
    entries: Effect.sync(() => [...tasks.values()]),
    has: (taskId) => Effect.sync(() => tasks.has(taskId)),
    inProgress: Effect.sync(() => [...pending])
  }
})
