/**
 * The files at a k8s-file log path over time: conmon, with a size limit (`logging.max_size`),
 * closes the log before a record that would pass the limit, creates a new file and renames it over
 * the path (docs/podman.md, "Logs"). The follower opens each new file within milliseconds of its
 * rename (a fiber woken by inotify on the directory, polling without it) and queues it; the tailer
 * (k8sFileLogs.ts) reads the current file to its end, then takes the next one. An unlinked file
 * stays readable while it is open, so nothing is lost while the tailer lags, however fast conmon
 * writes, and Podman's own copy stays within its limit: queued files take disk only until read,
 * at most {@link MAX_PENDING_BYTES} of them (and always {@link MIN_PENDING} files, whatever their
 * size). Lagging further, a file can be renamed away unread: `warnLost` says so.
 *
 * Under a small size limit StartTask starts a follower as the container starts (`followLog` with
 * `create`, lifecycle.ts): a burst at start could otherwise fill and rotate files away before
 * anything watches. With a larger limit the tailer's own follower, started from the inspect after
 * StartTask's reply, is in time.
 */
import * as posix from "node:path/posix"
import { Effect, Exit, Latch, Option, Scope, Semaphore } from "effect"
import type { HostFileError } from "../domain/errors.ts"
import { HostFiles, type TailFile } from "../services/HostFiles.ts"

/** Rotated files opened ahead of reading them: always this many… */
export const MIN_PENDING = 3
/** …and more while they hold less than this (a burst right at a task's start, a small max_size). */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024

/** The follower looks at the path at most this often during a burst (every write is an inotify event). */
const WATCH_MIN_MILLIS = 5
/** …and this often when inotify is unavailable. */
const WATCH_POLL_MILLIS = 20

/** An open log file, its identity (`<device>:<inode>`) and how to close it. */
export interface OpenLog {
  readonly file: TailFile
  readonly id: string
  readonly release: Effect.Effect<void>
}

export interface LogFollower {
  readonly path: string
  /** The file at the path when the follower started. */
  readonly first: OpenLog
  /** Opens a file in the follower's scope. */
  readonly open: (path: string) => Effect.Effect<OpenLog, HostFileError>
  /** The file the tailer reads: files that replace it at the path are queued. */
  readonly setCurrent: (id: string) => void
  /** Looks at the path now; opens and queues a new file found there. */
  readonly noteRotation: Effect.Effect<void, HostFileError>
  /** Whether a rotation is known (a queued file, or one seen while the queue was full). */
  readonly rotated: () => boolean
  /** The next queued file (it becomes the current one); undefined when none. */
  readonly takeNext: () => OpenLog | undefined
  /** Warns once per file lost unread since the last call. */
  readonly warnLost: Effect.Effect<void>
  /** Forgets earlier changes: `changed` waits for the next one. */
  readonly resetChanged: Effect.Effect<void>
  /** Completes at the next change in the directory (never without inotify). */
  readonly changed: Effect.Effect<void>
  /** Whether inotify works (else the tailer polls more often). */
  readonly watching: Effect.Effect<boolean>
  /** Ends the follower: its fiber and every file it still holds. */
  readonly release: Effect.Effect<void>
}

/**
 * Starts following the log at `path` in a new scope under `parent` (closed by `release`). `create`:
 * create the file when it is not there yet (before the container starts: conmon appends to it).
 */
export const followLog = (
  path: string,
  parent: Scope.Scope,
  options: { readonly create: boolean; readonly maxPendingBytes?: number }
): Effect.Effect<LogFollower, HostFileError, HostFiles> =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    const maxPendingBytes = options.maxPendingBytes ?? MAX_PENDING_BYTES
    const scope = yield* Scope.fork(parent)
    const releaseAll = Scope.close(scope, Exit.void)
    return yield* Effect.gen(function*() {
      const openIn = (p: string, create: boolean) =>
        Effect.gen(function*() {
          const own = yield* Scope.fork(scope)
          const close = Scope.close(own, Exit.void)
          const file = yield* Scope.provide(files.openForTail(p, { create }), own).pipe(Effect.onError(() => close))
          const id = yield* file.identity.pipe(Effect.onError(() => close))
          return { file, id, release: close } satisfies OpenLog
        })
      const first = yield* openIn(path, options.create)
      const pathId = files.identity(path).pipe(
        Effect.map(Option.some),
        Effect.catchIf((e) => e.kind === "NotFound", () => Effect.succeed(Option.none<string>()))
      )

      let currentId = first.id
      const queue: Array<OpenLog> = []
      /** A file seen at the path while the queue was full: lost if another one is found there later. */
      let skipped: string | undefined
      let lost = 0
      let warned = 0
      const known = (id: string) => id === currentId || queue.some((o) => o.id === id)
      const lock = yield* Semaphore.make(1)
      const noteRotation = Semaphore.withPermits(lock, 1)(Effect.gen(function*() {
        const seen = yield* pathId
        if (Option.isNone(seen) || known(seen.value)) return
        if (queue.length >= MIN_PENDING) {
          // sizes now, not at open: a queued file may still have been growing when it was opened
          const sizes = yield* Effect.forEach(queue, (o) => o.file.size.pipe(Effect.orElseSucceed(() => 0)))
          if (sizes.reduce((a, b) => a + b, 0) >= maxPendingBytes) {
            skipped ??= seen.value
            return
          }
        }
        const opened = yield* openIn(path, false).pipe(Effect.option)
        if (Option.isNone(opened)) return
        const o = opened.value
        if (known(o.id)) return yield* o.release
        // renamed away between the look and the open, or while the queue was full: lost unread
        if (o.id !== seen.value || (skipped !== undefined && skipped !== o.id)) lost++
        skipped = undefined
        queue.push(o)
      }))

      // The watcher: a change wakes the tailer and looks for a rotation.
      const watch = yield* Scope.provide(files.watch(posix.dirname(path)), scope).pipe(Effect.option)
      const wake = yield* Latch.make(false)
      const watching = Option.isSome(watch) ? watch.value.working : Effect.succeed(false)
      yield* Effect.forkIn(
        Effect.forever(Effect.gen(function*() {
          if (Option.isSome(watch) && (yield* watch.value.working)) {
            yield* watch.value.changed
            yield* wake.open
            yield* noteRotation.pipe(Effect.ignore)
            yield* Effect.sleep(WATCH_MIN_MILLIS)
          } else {
            yield* Effect.sleep(WATCH_POLL_MILLIS)
            yield* noteRotation.pipe(Effect.ignore)
          }
        })),
        scope
      )

      return {
        path,
        first,
        open: (p) => openIn(p, false),
        setCurrent: (id) => void (currentId = id),
        noteRotation,
        rotated: () => queue.length > 0 || skipped !== undefined,
        takeNext: () => {
          const next = queue.shift()
          // at once: the watcher must not take it for a new file
          if (next !== undefined) currentId = next.id
          return next
        },
        warnLost: Effect.suspend(() => {
          if (lost === warned) return Effect.void
          warned = lost
          return Effect.logWarning(
            `log forwarding fell too far behind Podman's log (more than ${Math.ceil(maxPendingBytes / 1024 / 1024)} MiB of rotated files, logging.max_size): a rotated file of ${path} was lost unread`
          )
        }),
        resetChanged: wake.close.pipe(Effect.asVoid),
        changed: wake.await,
        watching,
        release: releaseAll
      } satisfies LogFollower
    }).pipe(Effect.onError(() => releaseAll))
  })
