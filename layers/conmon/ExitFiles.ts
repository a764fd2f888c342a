/**
 * conmon's exit files, read on the Podman host (docs/podman.md, "Exits").
 *
 * conmon, the monitor Podman starts next to each container, writes the exit code as text to
 * `<exit dir>/<container id>` the moment the container's process ends (a temporary file renamed
 * into place: a file that is there is complete), and the marker `<bundle dir>/oom` when the kernel's
 * OOM killer ended it. Podman's cleanup reads both into its database and deletes the exit file
 * 200-350 ms later. Both directories are on conmon's command line (`--exit-dir`, `-b`), readable in
 * /proc while conmon runs.
 *
 * One watch (inotify, through Effect's FileSystem with the local watch backend) per exit directory
 * serves every container in it, and lives while any container waits there: an exit is seen within
 * milliseconds of the process ending, and nothing asks Podman anything while containers run. Every
 * failure here (no /proc, a directory this process cannot read, a different mount namespace)
 * answers "not usable" and the transport falls back to asking Podman.
 *
 * The files themselves are read synchronously: conmon's command line is in /proc, its exit and
 * bundle directories are in Podman's runtime directory (a tmpfs: /run, or $XDG_RUNTIME_DIR when
 * rootless), so no read waits on a disk. Each task reads them about ten times (locating its conmon,
 * then at every event about its exit file); synchronously that costs 3-25 µs a call, through
 * Effect's FileSystem 40-50 µs and a fiber each (`npx tsx bench/fs.ts`).
 */
import * as NFS from "node:fs"
import { Effect, FileSystem, Option, Queue, RcMap, Scope, Stream } from "effect"
import type { ContainerExit } from "../../src/services/Podman.ts"
import { withLocalWatch } from "../host-files/watchBackend.ts"

/** Where conmon writes for one container. */
export interface ConmonPaths {
  readonly exitDir: string
  readonly bundleDir: string
}

/** Interest in one container's exit file, while its Scope is open. */
export interface ExitFileWatch {
  /**
   * Waits for the next event about the container's exit file (it appeared, or was deleted).
   * `false`: the directory's watch failed; stop relying on it. (A removed directory is not
   * reported: inotify says nothing more about it, and the waiter's conmon check notices.)
   */
  readonly next: Effect.Effect<boolean>
}

export interface ExitFiles {
  /**
   * The paths of conmon `pid`, read from its command line; None when it cannot be read here, is not
   * (or no longer) the conmon of container `id`, or its exit directory is not the one this process
   * sees under that path (Podman in another mount namespace).
   */
  readonly locate: (pid: number, id: string) => Effect.Effect<Option.Option<ConmonPaths>>
  /** Watches `exitDir` for `id`'s exit file; None when the directory cannot be watched. */
  readonly watch: (exitDir: string, id: string) => Effect.Effect<Option.Option<ExitFileWatch>, never, Scope.Scope>
  /** The exit as conmon's files tell it, when the exit file is there. */
  readonly read: (paths: ConmonPaths, id: string) => Effect.Effect<Option.Option<ContainerExit>>
}

/** conmon's command line: NUL-separated arguments. */
export const conmonArgs = (cmdline: string): { readonly cid?: string; readonly exitDir?: string; readonly bundleDir?: string } => {
  const args = cmdline.split("\0")
  const value = (...names: Array<string>) => {
    for (let i = 0; i < args.length - 1; i++) if (names.includes(args[i]!)) return args[i + 1]
    for (const a of args) {
      for (const n of names) if (n.startsWith("--") && a.startsWith(`${n}=`)) return a.slice(n.length + 1)
    }
    return undefined
  }
  const cid = value("-c", "--cid")
  const exitDir = value("--exit-dir")
  const bundleDir = value("-b", "--bundle")
  return {
    ...(cid !== undefined ? { cid } : {}),
    ...(exitDir !== undefined ? { exitDir } : {}),
    ...(bundleDir !== undefined ? { bundleDir } : {})
  }
}

/** The exit code conmon wrote: a decimal integer (a trailing newline tolerated). */
export const parseExitCode = (text: string): number | undefined => {
  const t = text.trim()
  return /^-?\d{1,10}$/.test(t) ? Number(t) : undefined
}

/** `f()`, or None when it throws (a missing or unreadable file). */
const attempt = <A>(f: () => A): Option.Option<A> => {
  try {
    return Option.some(f())
  } catch {
    return Option.none()
  }
}

/** A directory's watch, shared by every container waiting in it. */
interface DirWatch {
  readonly listeners: Map<string, Set<Queue.Queue<boolean>>>
  ended: boolean
}

/** How long an unused directory watch is kept (a task starting right after another exits reuses it). */
const WATCH_IDLE = "30 seconds"

export const makeExitFiles: Effect.Effect<ExitFiles, never, FileSystem.FileSystem | Scope.Scope> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem

  const dirWatches = yield* RcMap.make({
    lookup: (dir: string) =>
      Effect.gen(function*() {
        const state: DirWatch = { listeners: new Map(), ended: false }
        const notifyAll = (value: boolean) => {
          for (const set of state.listeners.values()) for (const q of set) Queue.offerUnsafe(q, value)
        }
        const ready = yield* Queue.bounded<boolean>(1)
        yield* fs.watch(dir, { onReady: () => void Queue.offerUnsafe(ready, true) }).pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              for (const q of state.listeners.get(event.path) ?? []) Queue.offerUnsafe(q, true)
            })
          ),
          withLocalWatch,
          Effect.ignore,
          // The watch failed: whoever waits must fall back.
          Effect.ensuring(Effect.sync(() => {
            state.ended = true
            Queue.offerUnsafe(ready, false)
            notifyAll(false)
          })),
          Effect.forkScoped
        )
        if (!(yield* Queue.take(ready))) return yield* Effect.fail("unwatchable" as const)
        return state
      }),
    idleTimeToLive: WATCH_IDLE
  })

  const readText = (path: string) => Effect.sync(() => attempt(() => NFS.readFileSync(path, "utf8")))

  /** Whether both paths are the same directory; None when either cannot be looked at. */
  const sameDirectory = (a: string, b: string) =>
    Effect.sync(() => {
      const x = attempt(() => NFS.statSync(a, { bigint: true }))
      const y = attempt(() => NFS.statSync(b, { bigint: true }))
      return Option.isSome(x) && Option.isSome(y) ? Option.some(x.value.dev === y.value.dev && x.value.ino === y.value.ino) : Option.none()
    })

  const locate = (pid: number, id: string) =>
    Effect.gen(function*() {
      if (!Number.isSafeInteger(pid) || pid <= 0) return Option.none()
      const cmdline = yield* readText(`/proc/${pid}/cmdline`)
      if (Option.isNone(cmdline)) return Option.none()
      const args = conmonArgs(cmdline.value)
      if (args.cid !== id || args.exitDir === undefined || args.bundleDir === undefined) return Option.none()
      if (!args.exitDir.startsWith("/") || !args.bundleDir.startsWith("/")) return Option.none()
      // conmon's path names the directory in ITS mount namespace: make sure it is the one we would
      // watch. Through /proc/<pid>/root the path resolves in conmon's view; when that cannot be
      // read (no privilege) the two views are taken to be the same.
      const same = yield* sameDirectory(`/proc/${pid}/root${args.exitDir}`, args.exitDir)
      if (Option.isSome(same) && !same.value) return Option.none()
      if (!NFS.existsSync(args.exitDir)) return Option.none()
      return Option.some({ exitDir: args.exitDir, bundleDir: args.bundleDir })
    })

  const watch = (exitDir: string, id: string) =>
    Effect.gen(function*() {
      let dir = yield* RcMap.get(dirWatches, exitDir).pipe(Effect.option)
      if (Option.isSome(dir) && dir.value.ended) {
        // A watch that failed: try anew.
        yield* RcMap.invalidate(dirWatches, exitDir)
        dir = yield* RcMap.get(dirWatches, exitDir).pipe(Effect.option)
      }
      if (Option.isNone(dir) || dir.value.ended) return Option.none<ExitFileWatch>()
      const state = dir.value
      // Sliding: several events before the waiter looks again mean one "look now".
      const queue = yield* Queue.sliding<boolean>(1)
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const set = state.listeners.get(id) ?? new Set()
          set.add(queue)
          state.listeners.set(id, set)
        }),
        () =>
          Effect.sync(() => {
            const set = state.listeners.get(id)
            set?.delete(queue)
            if (set?.size === 0) state.listeners.delete(id)
          })
      )
      return Option.some<ExitFileWatch>({ next: Effect.suspend(() => (state.ended ? Effect.succeed(false) : Queue.take(queue))) })
    })

  const read = (paths: ConmonPaths, id: string) =>
    Effect.sync(() => {
      const file = `${paths.exitDir}/${id}`
      const text = attempt(() => NFS.readFileSync(file, "utf8"))
      if (Option.isNone(text)) return Option.none<ContainerExit>()
      const exitCode = parseExitCode(text.value)
      if (exitCode === undefined) return Option.none<ContainerExit>()
      // The file is written when the process ends: its time is the exit time.
      const info = attempt(() => NFS.statSync(file))
      return Option.some<ContainerExit>({
        exitCode,
        oomKilled: NFS.existsSync(`${paths.bundleDir}/oom`),
        finishedAt: Option.isSome(info) ? info.value.mtime : undefined,
        error: ""
      })
    })

  return { locate, watch, read }
})
