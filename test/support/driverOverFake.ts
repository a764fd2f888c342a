/**
 * The driver core over a client given by the test (usually the FAKE Podman of FakePodman.ts), for
 * unit tests of logic: a static plugin config, the in-memory log sink, no host files.
 */
import { Layer } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import * as Platform from "../../layers/platform.ts"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import * as DriverCore from "../../src/driver/DriverCore.ts"
import { noHostFiles } from "./FakeHostFiles.ts"

export const driverOver = (client: Parameters<typeof PodmanLayers.layerClient>[0], config: PluginConfig = defaultPluginConfig) =>
  DriverCore.layer.pipe(
    Layer.provide(Layer.mergeAll(
      PodmanLayers.layerClient(client),
      ConfigLayers.layerStatic(config),
      LogSinks.layerMemory,
      noHostFiles,
      Platform.layer
    ))
  )
