/**
 * The `HostFiles` service: reading files Podman keeps on this host, when Podman runs here (the
 * client is `local`): a container's cgroup files (stats Podman does not report, the cpuset kept in
 * step with Nomad's shared cores) and its k8s-file log (tailed losslessly instead of Podman's
 * follow API). Every I/O failure is a typed
 * `HostFileError`; callers fall back to the API. The live layer is on Effect's FileSystem
 * (layers/host-files).
 */
import type { Effect, Scope } from "effect"
import { Context } from "effect"
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
}

export class HostFiles extends Context.Service<HostFiles, {
  /** A small file's whole text (a cgroup's `memory.stat`, `cpu.stat`...). */
  readonly readText: (path: string) => Effect.Effect<string, HostFileError>
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
  /** Watches a directory until the Scope closes. */
  readonly watch: (dir: string) => Effect.Effect<DirWatch, HostFileError, Scope.Scope>
}>()("nomad-driver-podman/services/HostFiles") {}
