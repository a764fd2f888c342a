/**
 * The `DriverConfig` service: the plugin configuration in force. Starts with the defaults; Nomad's
 * SetConfig replaces it at runtime (layers/config). Embedders use a static layer.
 */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { PluginConfig } from "../domain/PluginConfig.ts"

export class DriverConfig extends Context.Service<DriverConfig, {
  readonly get: Effect.Effect<PluginConfig>
  readonly set: (config: PluginConfig) => Effect.Effect<void>
  /** The current value, then every change. */
  readonly changes: Stream.Stream<PluginConfig>
}>()("nomad-driver-podman/services/DriverConfig") {}
