/**
 * Opening each file renamed over a path the moment the rename is seen (`HostFiles.watch` with
 * `openAt`): conmon's log rotation. A rotated-away log stays readable only while something holds it
 * open, and conmon replaces the file at the path again after `logging.max_size` more bytes: at full
 * speed and 1 MiB that is 10-15 ms. The plugin's event loop cannot promise to come back that often
 * (a task's start, a burst of parsing, a garbage collection: 70 ms stalls measured), so one worker
 * thread per layer does only this: an inotify watch per followed path whose callback stats the path
 * and, when a new file is there, opens it synchronously (no thread-pool hop) and posts its
 * descriptor to the main thread. Descriptors belong to the process, so the main thread reads the
 * very file the worker opened. docs/podman.md, "Logs", has the numbers.
 *
 * Conmon creates `ctr.log.tmp` and renames it over `ctr.log` right after (microseconds): watching
 * for the temporary file gains nothing, so only the path itself is looked at.
 *
 * Loss accounting: every rename over the path brings one new file. The worker counts renames and
 * the new files it opened; a rename without a file of its own (two rotations between two looks)
 * is a file lost unread, reported as `missed`.
 */
import * as NFS from "node:fs"
import { Worker } from "node:worker_threads"
import { Deferred, Effect, type Scope } from "effect"
import { HostFileError } from "../../src/domain/errors.ts"
import type { ArrivedFile, ArrivingFiles, TailFile } from "../../src/services/HostFiles.ts"

/** The worker's program (CommonJS, Node built-ins only: it runs from this string in the single executable too). */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const fs = require("node:fs")
const path = require("node:path")
const follows = new Map()
// It must run within milliseconds of a rename even on a busy host (measured: stalls of 100-150 ms
// at a load of 10 on 2 cores, none at nice -10): a higher priority for this thread, where allowed
// (root, CAP_SYS_NICE). /proc/thread-self names the thread; setpriority on a thread id is per thread.
try { require("node:os").setPriority(Number(fs.readlinkSync("/proc/thread-self").split("/").pop()), -10) } catch {}
const idOf = (st) => st.dev + ":" + st.ino
const look = (f, renamed) => {
  let st
  try { st = fs.statSync(f.file, { bigint: true }) } catch { return }
  if (idOf(st) !== f.last) {
    let fd = -1
    try { fd = fs.openSync(f.file, "r") } catch {}
    if (fd >= 0) {
      const id = idOf(fs.fstatSync(fd, { bigint: true }))
      if (id === f.last) fs.closeSync(fd)
      else { f.last = id; f.unclaimed++; parentPort.postMessage({ key: f.key, fd, id }) }
    }
  }
  if (renamed) {
    if (f.unclaimed > 0) f.unclaimed--
    else parentPort.postMessage({ key: f.key, missed: ++f.missed })
  }
}
parentPort.on("message", (m) => {
  if (m.op === "follow") {
    const f = { key: m.key, file: m.file, base: path.basename(m.file), last: null, unclaimed: 0, missed: 0, watcher: undefined }
    try {
      f.watcher = fs.watch(path.dirname(m.file), (event, name) => { if (name === f.base) look(f, event === "rename") })
      f.watcher.on("error", () => { follows.delete(f.key); f.watcher.close(); parentPort.postMessage({ key: f.key, failed: true }) })
    } catch { parentPort.postMessage({ key: f.key, failed: true }); return }
    follows.set(f.key, f)
    // the file there now: the caller opens it if it has not yet; the worker opens only later ones
    try { f.last = idOf(fs.statSync(f.file, { bigint: true })) } catch { f.last = null }
    parentPort.postMessage({ key: f.key, ready: f.last })
  } else if (m.op === "stop") {
    const f = follows.get(m.key)
    if (f !== undefined) { f.watcher.close(); follows.delete(m.key) }
  }
})
`

type FromWorker =
  | { readonly key: number; readonly fd: number; readonly id: string }
  | { readonly key: number; readonly missed: number }
  | { readonly key: number; readonly failed: true }
  | { readonly key: number; readonly ready: string | null }

interface Follow {
  readonly pending: Array<{ readonly fd: number; readonly id: string }>
  missed: number
  working: boolean
  watchedFrom: string | null | undefined
  /** Completes when the watch is in place or has failed. */
  readonly settled: Deferred.Deferred<void>
}

/** How long the worker stays after its last follow ended: tasks started one after another pay its start (0.1-0.2 s) once. */
const LINGER_MILLIS = 60_000

const errnoKind = (code: unknown): string =>
  code === "ENOENT" || code === "ENOTDIR" ? "NotFound" : code === "EACCES" || code === "EPERM" ? "PermissionDenied" : "Unknown"

const fileError = (operation: string, path: string) => (e: NodeJS.ErrnoException) =>
  new HostFileError({ operation, path, kind: errnoKind(e.code), detail: e.message })

const closeQuietly = (fd: number) => {
  try {
    NFS.closeSync(fd)
  } catch {
    // already closed: nothing to release
  }
}

/** A file the worker opened, read through its descriptor (closed by `release`, once). */
const arrivedFile = (path: string, fd: number, id: string): ArrivedFile => {
  let open = true
  const stat = Effect.callback<NFS.BigIntStats, HostFileError>((resume) =>
    NFS.fstat(fd, { bigint: true }, (e, st) => resume(e ? Effect.fail(fileError("stat", path)(e)) : Effect.succeed(st)))
  )
  const file: TailFile = {
    readAt: (buffer, offset) =>
      Effect.callback<number, HostFileError>((resume) =>
        NFS.read(fd, buffer, 0, buffer.length, offset, (e, n) => resume(e ? Effect.fail(fileError("read", path)(e)) : Effect.succeed(n)))
      ),
    size: Effect.map(stat, (st) => Number(st.size)),
    identity: Effect.map(stat, (st) => `${st.dev}:${st.ino}`),
    fd
  }
  return { file, id, release: Effect.sync(() => open && (open = false, closeQuietly(fd))) }
}

export interface Opener {
  /** Starts the worker now if it is not running (it takes 0.1-0.2 s), for a follow that must be in place at once. */
  readonly prepare: Effect.Effect<void>
  /** Follows `path` until the Scope closes; undefined without a worker. */
  readonly follow: (path: string) => Effect.Effect<ArrivingFiles | undefined, never, Scope.Scope>
}

/** The opener of a layer: its worker starts at the first follow and ends with the layer's scope. */
export const makeOpener: Effect.Effect<Opener, never, Scope.Scope> = Effect.gen(function*() {
  let worker: Worker | undefined
  let broken = false
  let nextKey = 0
  const follows = new Map<number, Follow>()
  let linger: ReturnType<typeof setTimeout> | undefined
  const stopped = (f: Follow) => {
    f.working = false
    Deferred.doneUnsafe(f.settled, Effect.void)
  }
  const fail = () => {
    broken = true
    for (const f of follows.values()) stopped(f)
  }
  const end = () => {
    const w = worker
    worker = undefined
    if (linger !== undefined) clearTimeout(linger)
    if (w === undefined) return Promise.resolve()
    w.off("exit", fail)
    return w.terminate().then(() => undefined)
  }
  const onMessage = (m: FromWorker) => {
    const f = follows.get(m.key)
    if ("fd" in m) {
      // a file posted just before its follow ended: nobody will read it
      if (f === undefined) closeQuietly(m.fd)
      else f.pending.push({ fd: m.fd, id: m.id })
    } else if (f === undefined) return
    else if ("missed" in m) f.missed = m.missed
    else if ("ready" in m) {
      f.watchedFrom = m.ready
      Deferred.doneUnsafe(f.settled, Effect.void)
    } else stopped(f)
  }
  const started = (): Worker | undefined => {
    if (worker !== undefined || broken) return worker
    try {
      // trackUnmanagedFds off: by default Node closes, when a worker ends, every fd it opened,
      // though these belong to the main thread from the moment they are posted
      const w = new Worker(WORKER_SOURCE, { eval: true, name: "log-rotation-opener", trackUnmanagedFds: false })
      w.on("message", onMessage)
      w.on("error", fail)
      w.on("exit", fail)
      // it only serves the followers: it must not keep the process alive
      w.unref()
      worker = w
    } catch {
      broken = true
    }
    return worker
  }
  yield* Effect.addFinalizer(() =>
    Effect.promise(() => {
      broken = true
      return end()
    })
  )

  const follow = (path: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const w = started()
        if (w === undefined) return undefined
        if (linger !== undefined) clearTimeout(linger)
        linger = undefined
        const key = nextKey++
        const state: Follow = { pending: [], missed: 0, working: true, watchedFrom: undefined, settled: Deferred.makeUnsafe<void>() }
        follows.set(key, state)
        w.postMessage({ op: "follow", key, file: path })
        return { key, state }
      }),
      (f) =>
        Effect.sync(() => {
          if (f === undefined) return
          follows.delete(f.key)
          worker?.postMessage({ op: "stop", key: f.key })
          for (const p of f.state.pending.splice(0)) closeQuietly(p.fd)
          if (follows.size === 0 && worker !== undefined) {
            linger = setTimeout(() => void end(), LINGER_MILLIS)
            linger.unref()
          }
        })
    ).pipe(
      Effect.map((f): ArrivingFiles | undefined =>
        f === undefined ? undefined : {
          settled: Deferred.await(f.state.settled),
          watchedFrom: Effect.sync(() => f.state.watchedFrom),
          take: Effect.sync(() => f.state.pending.splice(0).map((p) => arrivedFile(path, p.fd, p.id))),
          missed: Effect.sync(() => f.state.missed),
          working: Effect.sync(() => f.state.working)
        }
      )
    )

  const prepare = Effect.sync(() => {
    if (started() !== undefined && follows.size === 0) {
      // not used yet: lingers as after a follow
      if (linger !== undefined) clearTimeout(linger)
      linger = setTimeout(() => void end(), LINGER_MILLIS)
      linger.unref()
    }
  })

  return { prepare, follow } satisfies Opener
})
