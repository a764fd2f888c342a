/**
 * The files at a k8s-file log path over time: conmon, with a size limit (`logging.max_size`),
 * closes the log before a record that would pass the limit, creates a new file and renames it over
 * the path (docs/podman.md, "Logs"). The follower holds each new file open from the moment of its
 * rename and queues it; the tailer (k8sFileLogs.ts) reads the current file to its end, then takes
 * the next one. An unlinked file stays readable while it is open, so nothing is lost while the
 * tailer lags, however far, and Podman's own copy stays within its limit: queued files take disk
 * only until read, at most {@link MAX_PENDING_BYTES} of them (and always {@link MIN_PENDING}
 * files, whatever their size, plus the newest one). Lagging further, a file is dropped unread.
 *
 * Who opens: the directory watch (`HostFiles.watch` with `openAt`), which opens each file as its
 * rename is seen, on a thread of its own: at full speed under a small limit a file stays at the
 * path only for milliseconds, less than this event loop can promise. That works as long as the
 * output rate stays under (max_size / a few ms); faster, a file can be replaced before it is
 * opened. Without such a watch (no inotify, another file system) the follower looks at the path
 * itself, when the directory changes and after every read. Either way `warnLost` says when a file
 * was lost.
 *
 * Under a small size limit StartTask starts a follower before the container starts (`followLog`
 * with `create`, lifecycle.ts), and waits until its watch is in place: a burst at start could
 * otherwise fill and rotate files away before anything watches. With a larger limit the tailer's
 * own follower, started from the inspect after StartTask's reply, is in time.
 */
import * as posix from "node:path/posix"
import { Effect, Exit, Latch, Option, Scope, Semaphore } from "effect"
import type { HostFileError } from "../domain/errors.ts"
import { type ArrivedFile, HostFiles, type TailFile } from "../services/HostFiles.ts"

/** Rotated files opened ahead of reading them: always this many… */
export const MIN_PENDING = 3
/** …and more while they hold less than this (a burst right at a task's start, a small max_size). */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024

/** The follower looks at the path at most this often during a burst (every write is an inotify event). */
const WATCH_MIN_MILLIS = 5
/** …and this often when inotify is unavailable. */
const WATCH_POLL_MILLIS = 20
/** How long a follower started before its container waits for its watch to be in place (a thread's start). */
const SETTLE_MILLIS = 2_000

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
  /** Queues the files the watch opened; without it, looks at the path now and opens and queues a new file found there. */
  readonly noteRotation: Effect.Effect<void, HostFileError>
  /** Whether a rotation is known (a queued file, or one seen while the queue was full). */
  readonly rotated: () => boolean
  /** The next queued file (it becomes the current one); undefined when none. */
  readonly takeNext: () => OpenLog | undefined
  /**
   * Queues `first` to be read after the current file: the tailer resumed in an older one (the file
   * the task's log keeper held), which the first one replaced at the path.
   */
  readonly queueFirst: () => void
  /** Warns when files were lost unread since the last call (how many, and why). */
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
      /**
       * Files read and released before the watch took over (see `handedOver`), kept open until its
       * first file not among them arrives: until then their identities stay theirs (a freed inode is
       * soon a new log file's) and tell the watch's copies of them from new files.
       */
      let retired: Array<{ readonly id: string; readonly close: Effect.Effect<void> }> | undefined
      const retiring = (id: string, close: Effect.Effect<void>) =>
        Effect.suspend(() => retired === undefined ? close : Effect.sync(() => void retired?.push({ id, close })))
      const openIn = (p: string, create: boolean) =>
        Effect.gen(function*() {
          const own = yield* Scope.fork(scope)
          const close = Scope.close(own, Exit.void)
          const file = yield* Scope.provide(files.openForTail(p, { create }), own).pipe(Effect.onError(() => close))
          const id = yield* file.identity.pipe(Effect.onError(() => close))
          return { file, id, release: retiring(id, close) } satisfies OpenLog
        })
      const first = yield* openIn(path, options.create)
      const pathId = files.identity(path).pipe(
        Effect.map(Option.some),
        Effect.catchIf((e) => e.kind === "NotFound", () => Effect.succeed(Option.none<string>()))
      )
      // A follower started before the container (a small size limit, see above): its files are
      // opened by the watch, the moment they appear
      const watchOptions = options.create ? { openAt: path } : undefined
      const watch = yield* Scope.provide(files.watch(posix.dirname(path), watchOptions), scope).pipe(Effect.option)
      const arrivals = Option.isSome(watch) ? watch.value.arrivals : undefined
      if (arrivals !== undefined) retired = []

      let currentId = first.id
      const queue: Array<OpenLog> = []
      /** The newest file, opened while the queue was full: held, it may be the last one. */
      let spare: OpenLog | undefined
      /** (Looking at the path itself) a file seen there while the queue was full: lost if another one is found there later. */
      let skipped: string | undefined
      /** Files lost unread: dropped while the queue was full, and replaced at the path before they were opened. */
      let lostBehind = 0
      let lostFast = 0
      let warned = { behind: 0, fast: 0 }
      const known = (id: string) => id === currentId || spare?.id === id || queue.some((o) => o.id === id)
      // sizes now, not at open: a queued file may still have been growing when it was opened
      const room = Effect.gen(function*() {
        if (queue.length < MIN_PENDING) return true
        const sizes = yield* Effect.forEach(queue, (o) => o.file.size.pipe(Effect.orElseSucceed(() => 0)))
        return sizes.reduce((a, b) => a + b, 0) < maxPendingBytes
      })
      /** Queues a new file, in order: the spare first when there is room, else the older of the two is dropped. */
      const place = (o: OpenLog) =>
        Effect.gen(function*() {
          if (known(o.id)) return yield* o.release
          if (spare !== undefined) {
            if (!(yield* room)) {
              yield* spare.release
              lostBehind++
              spare = o
              return
            }
            queue.push(spare)
            spare = undefined
          }
          if (yield* room) queue.push(o)
          else spare = o
        })
      /** A file the watch opened, released with the follower. */
      const adopt = (a: ArrivedFile) =>
        Effect.gen(function*() {
          const own = yield* Scope.fork(scope)
          yield* Scope.addFinalizer(own, a.release)
          return { file: a.file, id: a.id, release: Scope.close(own, Exit.void) } satisfies OpenLog
        })
      const lock = yield* Semaphore.make(1)
      /**
       * Whether the watch opens every new file: from the moment it is in place (its worker may take
       * 0.1-0.2 s to start) the follower has every file up to the watch's first one; until then it
       * looks at the path itself.
       */
      let handedOver = false
      let fellBack = false
      const endRetiring = Effect.suspend(() => {
        const closes = retired ?? []
        retired = undefined
        return Effect.forEach(closes, (r) => r.close, { discard: true })
      })
      const noteRotation = Semaphore.withPermits(lock, 1)(Effect.gen(function*() {
        const from = arrivals === undefined || handedOver ? undefined : yield* arrivals.watchedFrom
        if (from !== undefined) {
          // Only files after `from` will arrive: hold `from` too (opened here already, or still at
          // the path), or count it lost (replaced before it was opened here).
          const had = from === null || known(from) || retired?.some((r) => r.id === from) === true
          if (!had) {
            const opened = yield* openIn(path, false).pipe(Effect.option)
            if (Option.isSome(opened) && opened.value.id === from) yield* place(opened.value)
            else {
              if (Option.isSome(opened)) yield* opened.value.release
              lostFast++
            }
          }
          handedOver = true
        }
        if (arrivals !== undefined && !(yield* arrivals.working)) {
          // no watch to take over (any more): nothing to tell apart, files released are closed
          yield* endRetiring
          if (!fellBack) {
            fellBack = true
            yield* Effect.logWarning(`the watch that opens Podman's rotated log files of ${path} is gone: looking at the path instead (a fast task may lose files)`)
          }
        }
        if (arrivals !== undefined && handedOver) {
          for (const a of yield* arrivals.take) {
            // the first arrivals can be files opened here before the hand-over: in order, then new ones
            if (known(a.id) || retired?.some((r) => r.id === a.id) === true) yield* a.release
            else {
              yield* place(yield* adopt(a))
              yield* endRetiring
            }
          }
          // the watch opens every file, in order: opening one here could overtake one on its way
          if (yield* arrivals.working) {
            if (spare !== undefined && (yield* room)) {
              queue.push(spare)
              spare = undefined
            }
            return
          }
        }
        const seen = yield* pathId
        if (Option.isNone(seen) || known(seen.value)) return
        if (!(yield* room)) {
          skipped ??= seen.value
          return
        }
        const opened = yield* openIn(path, false).pipe(Effect.option)
        if (Option.isNone(opened)) return
        const o = opened.value
        if (known(o.id)) return yield* o.release
        // renamed away between the look and the open, or while the queue was full: lost unread
        if (o.id !== seen.value) lostFast++
        else if (skipped !== undefined && skipped !== o.id) lostBehind++
        skipped = undefined
        yield* place(o)
      }))

      // A follower started before the container: its watch in place before the container writes
      if (arrivals !== undefined && options.create) {
        yield* arrivals.settled.pipe(Effect.timeoutOption(SETTLE_MILLIS))
        yield* noteRotation
      }

      // The watcher: a change wakes the tailer and takes in (or looks for) a rotation.
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
        rotated: () => queue.length > 0 || spare !== undefined || skipped !== undefined,
        takeNext: () => {
          let next = queue.shift()
          if (next === undefined) {
            next = spare
            spare = undefined
          }
          // at once: the watcher must not take it for a new file
          if (next !== undefined) currentId = next.id
          return next
        },
        queueFirst: () => void queue.unshift(first),
        warnLost: Effect.gen(function*() {
          const now = { behind: lostBehind, fast: lostFast + (arrivals === undefined ? 0 : yield* arrivals.missed) }
          if (now.behind === warned.behind && now.fast === warned.fast) return
          const reasons = [
            ...(now.fast > warned.fast
              ? [`${now.fast - warned.fast} replaced by Podman before they could be opened (logging.max_size too small for the task's output rate)`]
              : []),
            ...(now.behind > warned.behind
              ? [`${now.behind - warned.behind} dropped: forwarding fell more than ${Math.ceil(maxPendingBytes / 1024 / 1024)} MiB of rotated files behind`]
              : [])
          ]
          warned = now
          yield* Effect.logWarning(`rotated files of Podman's log ${path} lost unread: ${reasons.join("; ")}`)
        }),
        resetChanged: wake.close.pipe(Effect.asVoid),
        changed: wake.await,
        watching,
        release: releaseAll
      } satisfies LogFollower
    }).pipe(Effect.onError(() => releaseAll))
  })
