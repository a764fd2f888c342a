/**
 * The `HostFiles` service: reading files Podman keeps on this host, when Podman runs here (the
 * client is `local`): a container's cgroup files (stats Podman does not report, the cpuset kept in
 * step with Nomad's shared cores) and its k8s-file log (tailed losslessly instead of Podman's
 * follow API). Every I/O failure is a typed
 * `HostFileError`; callers fall back to the API. The live layer is on Effect's FileSystem
 * (layers/host-files).
 */
import { Context, Effect, type Scope } from "effect"
import type { HostFileError } from "../domain/errors.ts"

/** A file opened for tailing: positioned reads, and its current size (to notice truncation). */
export interface TailFile {
  /** Reads into `buffer` from byte `offset`; the number of bytes read, 0 at the end of the file. */
  readonly readAt: (buffer: Uint8Array, offset: number) => Effect.Effect<number, HostFileError>
  /** The file's size now. */
  readonly size: Effect.Effect<number, HostFileError>
  /** The open file's identity, `<device>:<inode>` (compared with `identity(path)` to notice a rotation). */
  readonly identity: Effect.Effect<string, HostFileError>
  /** The OS descriptor, so that a helper process can be handed the same open file; undefined when there is none (an in-memory file system). */
  readonly fd: number | undefined
}

/** A directory watched for changes (inotify): wakes a tailer at once instead of at its next poll. */
export interface DirWatch {
  /** Waits until a file in the directory changed since the previous call (returns at once if one did). */
  readonly changed: Effect.Effect<void>
  /** False once the watch has failed: the caller polls instead. */
  readonly working: Effect.Effect<boolean>
  /** With `openAt`, when the implementation can: the files that appeared at that path (see `ArrivingFiles`). */
  readonly arrivals: ArrivingFiles | undefined
}

/** A file opened by the watch the moment it appeared at the watched path; the receiver releases it. */
export interface ArrivedFile {
  readonly file: TailFile
  /** Its identity, `<device>:<inode>`. */
  readonly id: string
  readonly release: Effect.Effect<void>
}

/**
 * The files renamed over a path (conmon's log rotation), each opened as soon as the rename is seen,
 * away from the caller's own work: a file stays at the path only until the next rotation, which at
 * full speed and a small size limit is a few milliseconds.
 */
export interface ArrivingFiles {
  /**
   * Undefined until the watch is in place; then the identity of the file at the path at that
   * moment (null: none). Only files after that one arrive: the caller opens that one itself.
   */
  readonly watchedFrom: Effect.Effect<string | null | undefined>
  /** Completes when the watch is in place, or has failed (its thread takes 0.1-0.2 s to start). */
  readonly settled: Effect.Effect<void>
  /** The files opened since the last call, oldest first. */
  readonly take: Effect.Effect<ReadonlyArray<ArrivedFile>>
  /** Renames over the path whose file was replaced again before it could be opened (lost unread). */
  readonly missed: Effect.Effect<number>
  /** False once the watch failed: the caller looks at the path itself. */
  readonly working: Effect.Effect<boolean>
}

/** Small files read again and again (`HostFiles.counterFiles`). */
export interface CounterFiles {
  /** Each file's whole text now, in the order given; undefined for one that is missing or unreadable. */
  readonly read: Effect.Effect<ReadonlyArray<string | undefined>>
}

/** `counterFiles` for a HostFiles that can only read a file whole: every read reads each path. */
export const counterFilesOver = (readText: (path: string) => Effect.Effect<string, HostFileError>) =>
(paths: ReadonlyArray<string>): Effect.Effect<CounterFiles> =>
  Effect.succeed({
    read: Effect.forEach(paths, (path) => readText(path).pipe(Effect.orElseSucceed(() => undefined)))
  })

export class HostFiles extends Context.Service<HostFiles, {
  /** A small file's whole text (a cgroup's `memory.stat`, `cpu.stat`...). */
  readonly readText: (path: string) => Effect.Effect<string, HostFileError>
  /**
   * Small files read again and again, e.g. a container's cgroup counters at every TaskStats
   * sample: where it can, each is opened once (one missing then stays missing) and read again from
   * its start on each `read`; they are closed when the Scope closes.
   */
  readonly counterFiles: (paths: ReadonlyArray<string>) => Effect.Effect<CounterFiles, never, Scope.Scope>
  /** Replaces a small file's content (a cgroup's `cpuset.cpus`). */
  readonly writeText: (path: string, text: string) => Effect.Effect<void, HostFileError>
  /**
   * Opens a file for reading; it is closed when the Scope closes. `create`: an empty one (mode 0600)
   * when there is none yet, so a reader can hold it before its writer appends (conmon appends to an
   * existing log).
   */
  readonly openForTail: (path: string, options?: { readonly create?: boolean }) => Effect.Effect<TailFile, HostFileError, Scope.Scope>
  /** The identity (`<device>:<inode>`) of the file at `path` now. */
  readonly identity: (path: string) => Effect.Effect<string, HostFileError>
  /**
   * Watches a directory until the Scope closes. `openAt`: also open each new file that appears at
   * this path in the directory (`DirWatch.arrivals`).
   */
  readonly watch: (dir: string, options?: { readonly openAt: string }) => Effect.Effect<DirWatch, HostFileError, Scope.Scope>
  /**
   * Readies a watch with `openAt` ahead of time (its thread takes 0.1-0.2 s to start): called as a
   * task with a small log size limit is created, so that its watch is in place as its container
   * starts writing.
   */
  readonly prepareWatch: Effect.Effect<void>
}>()("nomad-driver-podman/services/HostFiles") {}
