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
}

export interface TranslateInput {
  readonly config: TaskConfig
  readonly task: NomadTask
  readonly plugin: PluginConfig
  readonly podman: PodmanFacts
}

/** Where a module reports problems. */
export type Issues = Array<ConfigIssue>

/** Removes readonly from a type's top-level properties (for building a spec part). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The container name Nomad tasks get: `<task>-<allocId>`. */
export const containerName = (task: NomadTask): string => `${task.name}-${task.allocId}`

/** The container name of a sibling task in the same allocation (`task:<name>` modes). */
export const siblingContainerName = (task: NomadTask, siblingTask: string): string => `${siblingTask}-${task.allocId}`

/** Podman's major version from an API version string (`4.3.1` → 4; unparseable → 0). */
export const majorVersion = (apiVersion: string): number => {
  const m = /^v?(\d+)/.exec(apiVersion.trim())
  return m === null ? 0 : Number(m[1])
}
