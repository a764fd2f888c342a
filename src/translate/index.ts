/**
 * PLACEHOLDER contract (the translation engineer replaces the body): the pure translation of a task
 * into the libpod container spec.
 */
import { Effect } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import type { InvalidTaskConfig } from "../domain/errors.ts"
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
  /** The image to create from (resolved name or id; archive images resolve to their loaded name). */
  readonly image: string
}

/** The container name Nomad tasks get: `<task>-<allocId>`. */
export const containerName = (task: NomadTask): string => `${task.name}-${task.allocId}`

/** PLACEHOLDER implementation. */
export const translate = (input: TranslateInput): Effect.Effect<ContainerSpec, InvalidTaskConfig> =>
  Effect.succeed({
    name: containerName(input.task),
    image: input.image,
    env: input.task.env,
    labels: { "com.hashicorp.nomad.alloc_id": input.task.allocId }
  })
