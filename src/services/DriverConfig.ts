/**
 * The `DriverConfig` service: the plugin configuration in force. Starts with the defaults; Nomad's
 * SetConfig replaces it at runtime (layers/config). Embedders use a static layer.
 */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { PluginConfig } from "../domain/PluginConfig.ts"

/** What the Nomad agent tells the plugin about its node (SetConfig's `nomad_config`). */
export interface AgentFacts {
  /** Average usable speed of the node's cores in MHz (from the client's CPU topology); 0 = unknown. */
  readonly cpuMhzPerCore: number
}

export class DriverConfig extends Context.Service<DriverConfig, {
  readonly get: Effect.Effect<PluginConfig>
  readonly set: (config: PluginConfig) => Effect.Effect<void>
  /** The current value, then every change. */
  readonly changes: Stream.Stream<PluginConfig>
  /** Node facts from the agent; `cpuMhzPerCore` 0 until SetConfig brings them. */
  readonly agent: Effect.Effect<AgentFacts>
  readonly setAgent: (facts: AgentFacts) => Effect.Effect<void>
}>()("nomad-driver-podman/services/DriverConfig") {}
