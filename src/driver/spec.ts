/**
 * The container spec StartTask sends to Podman, as one pure function that the CLI's `plan` calls
 * too, so that `plan` prints what the driver would send for the same task, config, plugin config
 * and Podman facts (docs/config.md). The image in the spec is the reference the config names,
 * normalised (`docker://redis` → `docker.io/library/redis:latest`); when StartTask pulls the image
 * it creates the container from the pulled image's id instead (see ./images.ts).
 */
import { Effect } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import type { InvalidTaskConfig } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { PodmanInfo } from "../services/Podman.ts"
import { type PodmanFacts, translate } from "../translate/index.ts"
import { checkGuardRails } from "./guardRails.ts"

/** What the translation needs to know about a Podman endpoint, from its `info`. */
export const podmanFacts = (info: PodmanInfo): PodmanFacts => ({
  rootless: info.rootless,
  cgroupVersion: info.cgroupVersion,
  cgroupManager: info.cgroupManager,
  apiVersion: info.apiVersion,
  hostCpus: info.cpus,
  defaultCapabilities: info.capabilities.split(",").map((c) => c.trim()).filter((c) => c !== "")
})

/** What else the spec depends on besides the task, its config and the plugin config. */
export interface SpecContext {
  readonly facts: PodmanFacts
  /** The OCI runtime Podman uses by default (what `allow_runtimes` allows when unset). */
  readonly defaultRuntime?: string
  /** Nomad's shared cores, for tasks without reserved ones. */
  readonly sharedCpus?: string
}

/** The context of a Podman endpoint from its `info`. */
export const specContext = (info: PodmanInfo, sharedCpus?: string): SpecContext => ({
  facts: podmanFacts(info),
  defaultRuntime: info.ociRuntime,
  ...(sharedCpus !== undefined ? { sharedCpus } : {})
})

/**
 * The spec of a task's container, or every config issue found (nothing is pulled or created):
 * the translation, then the plugin's guard rails (`allow_privileged`, `allow_caps`, `allow_runtimes`).
 */
export const containerSpec = (
  task: NomadTask,
  config: TaskConfig,
  plugin: PluginConfig,
  context: SpecContext
): Effect.Effect<ContainerSpec, InvalidTaskConfig> =>
  translate({
    config,
    task,
    plugin,
    podman: context.facts,
    ...(context.sharedCpus !== undefined ? { sharedCpus: context.sharedCpus } : {})
  }).pipe(
    Effect.tap(() => checkGuardRails(config, plugin, context.defaultRuntime !== undefined ? { defaultRuntime: context.defaultRuntime } : {}))
  )
