/**
 * Live layers for the `DriverConfig` service (src/services/DriverConfig.ts): the plugin
 * configuration in force, replaceable at runtime.
 *
 * All three layers are backed by one `SubscriptionRef`:
 * - `get` reads the current value,
 * - `set` replaces it (Nomad's `SetConfig` RPC; the value is already decoded and validated by the
 *   caller, so `set` cannot fail),
 * - `changes` emits the current value first and then every value passed to `set` (the ref's
 *   PubSub replays the latest value to each new subscriber, so there is no gap between reading
 *   the current value and subscribing). Consumers that only care about real changes can add
 *   `Stream.changesWith(equal)`; config changes are rare, so the unbounded PubSub never grows.
 *
 * Layers:
 * - `layer`: starts from `defaultPluginConfig` (a plugin process before its first `SetConfig`).
 * - `layerStatic(config)`: for embedding the driver in another program with a fixed config.
 *   `set` still works and is purely in memory: the service contract says `set` cannot fail, and a
 *   host that forwards `SetConfig` (or a test) should see its value take effect rather than be
 *   silently ignored. "Static" means "no outside source feeds it", not "frozen".
 * - `layerFromInput(raw)`: decodes an untrusted value (e.g. parsed HCL/JSON from the CLI) with
 *   `decodePluginConfig`; the layer fails with `InvalidPluginConfig` when it does not decode.
 */
import { Effect, Layer, SubscriptionRef } from "effect"
import { decodePluginConfig, defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import type { InvalidPluginConfig } from "../../src/domain/errors.ts"
import { type AgentFacts, DriverConfig } from "../../src/services/DriverConfig.ts"

/** Builds the service over a fresh `SubscriptionRef` seeded with `initial`. */
export const make = (initial: PluginConfig): Effect.Effect<DriverConfig["Service"]> =>
  Effect.map(SubscriptionRef.make(initial), (ref) => {
    let agent: AgentFacts = { cpuMhzPerCore: 0 }
    return DriverConfig.of({
      get: SubscriptionRef.get(ref),
      set: (config) => SubscriptionRef.set(ref, config),
      changes: SubscriptionRef.changes(ref),
      agent: Effect.sync(() => agent),
      setAgent: (facts) => Effect.sync(() => {
        agent = facts
      })
    })
  })

/** Starts with `defaultPluginConfig`; Nomad's `SetConfig` replaces it through `set`. */
export const layer: Layer.Layer<DriverConfig> = Layer.effect(DriverConfig, make(defaultPluginConfig))

/** A fixed starting config for embedding; `set` still replaces it in memory (see the module doc). */
export const layerStatic = (config: PluginConfig): Layer.Layer<DriverConfig> => Layer.effect(DriverConfig, make(config))

/** Decodes `raw` as a plugin `config {}` block (defaults applied); fails with `InvalidPluginConfig`. */
export const layerFromInput = (raw: unknown): Layer.Layer<DriverConfig, InvalidPluginConfig> =>
  Layer.effect(DriverConfig, Effect.flatMap(decodePluginConfig(raw), make))
