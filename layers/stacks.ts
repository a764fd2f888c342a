/**
 * The composition root: the ready-made layer stacks. The plugin (Nomad FIFO logs, config replaced
 * by SetConfig), the CLI (console logs, one socket) and embedding (any LogSink, a static config).
 * This is the one place that picks the live implementations; the core in `src/` never imports
 * `layers/` (docs/architecture.md).
 */
import { Layer } from "effect"
import * as ConfigLayers from "./config/index.ts"
import * as HostFilesLayers from "./host-files/index.ts"
import * as LogSinks from "./log-sink/index.ts"
import * as Platform from "./platform.ts"
import * as PodmanLayers from "./podman/index.ts"
import { makeRestClient } from "./podman-rest/index.ts"
import { makeVarlinkClient } from "./podman-varlink/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../src/domain/PluginConfig.ts"
import type { Driver } from "../src/services/Driver.ts"
import type { DriverConfig } from "../src/services/DriverConfig.ts"
import type { LogSink } from "../src/services/LogSink.ts"
import type { Podman } from "../src/services/Podman.ts"
import * as DriverCore from "../src/driver/DriverCore.ts"

/** Both transports: REST for `unix://`/`http://` sockets, varlink for `varlink:` ones. */
export const transports: PodmanLayers.Transports = { rest: makeRestClient, varlink: makeVarlinkClient }

/** Driver + Podman over an existing DriverConfig and LogSink (host files read from this machine's file system). */
export const driverLayer: Layer.Layer<Driver | Podman, never, DriverConfig | LogSink> = DriverCore.layer.pipe(
  Layer.provideMerge(PodmanLayers.layer(transports)),
  Layer.provide(Layer.mergeAll(HostFilesLayers.layer, Platform.layer))
)

/** What the Nomad plugin runs: FIFO log sink, config starting at the defaults and replaced by SetConfig. */
export const pluginLayer: Layer.Layer<Driver | Podman | DriverConfig | LogSink> = driverLayer.pipe(
  Layer.provideMerge(Layer.mergeAll(ConfigLayers.layer, LogSinks.layerFifo))
)

/**
 * A config for a driver that shares its Podman with a Nomad plugin (the CLI's `run`): it never
 * removes containers it does not track (the reaper) nor images (image GC), which are the plugin's.
 */
export const guestConfig = (config: PluginConfig): PluginConfig => ({
  ...config,
  gc: { ...config.gc, image: false, dangling_containers: { ...config.gc.dangling_containers, enabled: false } }
})

/** What the CLI runs: console logs, one socket (or the plugin default); no reaper, no image GC. */
export const cliLayer = (options: { readonly socketPath?: string; readonly config?: PluginConfig } = {}) =>
  driverLayer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        ConfigLayers.layerStatic(guestConfig({
          ...(options.config ?? defaultPluginConfig),
          ...(options.socketPath ? { socket_path: options.socketPath, socket: [] } : {})
        })),
        LogSinks.layerConsole
      )
    )
  )

/**
 * For embedding: a static plugin config and the LogSink of your choice. Tasks' output is discarded
 * unless a sink is given (`LogSinks.layerConsole` prints it, `LogSinks.layerMemory` keeps it).
 */
export const embeddedLayer = (config: PluginConfig, logSink: Layer.Layer<LogSink> = LogSinks.layerDiscard) =>
  driverLayer.pipe(Layer.provideMerge(Layer.mergeAll(ConfigLayers.layerStatic(config), logSink)))
