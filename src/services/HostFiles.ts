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
}

export class HostFiles extends Context.Service<HostFiles, {
  /** A small file's whole text (a cgroup's `memory.stat`, `cpu.stat`...). */
  readonly readText: (path: string) => Effect.Effect<string, HostFileError>
  /** Replaces a small file's content (a cgroup's `cpuset.cpus`). */
  readonly writeText: (path: string, text: string) => Effect.Effect<void, HostFileError>
  /** Opens a file for reading; it is closed when the Scope closes. */
  readonly openForTail: (path: string) => Effect.Effect<TailFile, HostFileError, Scope.Scope>
}>()("nomad-driver-podman/services/HostFiles") {}
