/**
 * The input of the translation (task config + Nomad task + plugin config + Podman facts) and the
 * helpers every translation module shares. Modules are pure functions `(input, issues) => part`:
 * they map decoded values (the config decoder has parsed and checked every value already) and
 * push the problems only the task can reveal to `issues` (field path + reason); index.ts merges
 * the parts and fails with all issues at once.
 */
import type { ConfigIssue } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"

/** Facts about the Podman endpoint that change the spec (learned from `info`). */
export interface PodmanFacts {
  readonly rootless: boolean
  /** `v1` | `v2` */
  readonly cgroupVersion: string
  readonly cgroupManager: string
  /** Libpod API version, e.g. `4.3.1`. */
  readonly apiVersion: string
  /** Host CPU count (for cpu_hard_limit). */
  readonly hostCpus: number
  /** Podman's default capabilities (`info`), e.g. `CAP_CHOWN`: those outside `allow_caps` are dropped. Unknown: none dropped. */
  readonly defaultCapabilities?: ReadonlyArray<string>
}

export interface TranslateInput {
  readonly config: TaskConfig
  readonly task: NomadTask
  readonly plugin: PluginConfig
  readonly podman: PodmanFacts
  /**
   * The CPUs of Nomad's shared cpuset (read from the task's cpuset cgroup Nomad prepared): a task
   * without reserved cores is confined to them, as under Nomad's docker driver. Unknown: no cpuset.
   */
  readonly sharedCpus?: string
}

/** Where a module reports problems. */
export type Issues = Array<ConfigIssue>

/** Removes readonly from a type's top-level properties (for building a spec part). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * The container name Nomad tasks get: `<task>.<allocId>`. Not `<task>-<allocId>` (the Go driver's,
 * and the docker driver's own pattern): Nomad's docker driver, pointed at Podman's
 * Docker-compatible socket, takes a running container whose name has `-<uuid>` and that mounts
 * /alloc, /local and /secrets for one of its own and removes it as dangling (docs/podman.md,
 * "Sharing a node with the docker driver").
 */
export const containerName = (task: NomadTask): string => `${task.name}.${task.allocId}`

/** The container name of a sibling task in the same allocation (`task:<name>` modes). */
export const siblingContainerName = (task: NomadTask, siblingTask: string): string => `${siblingTask}.${task.allocId}`

/** A container name this driver gives: `<task>.<uuid>` (the reaper's test for storage-only leftovers). */
export const isDriverContainerName = (name: string): boolean =>
  /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name.replace(/^\//, ""))

/** Podman's major version from an API version string (`4.3.1` → 4; unparseable → 0). */
export const majorVersion = (apiVersion: string): number => {
  const m = /^v?(\d+)/.exec(apiVersion.trim())
  return m === null ? 0 : Number(m[1])
}
