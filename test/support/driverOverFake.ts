/**
 * The driver core over a client given by the test (usually the FAKE Podman of FakePodman.ts), for
 * unit tests of logic: a static plugin config, the in-memory log sink, no host files (unless the
 * test gives a FAKE of its own).
 */
import { Layer } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import * as Platform from "../../layers/platform.ts"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import * as DriverCore from "../../src/driver/DriverCore.ts"
import type { HostFiles } from "../../src/services/HostFiles.ts"
import { noHostFiles } from "./FakeHostFiles.ts"

export const driverOver = (
  client: Parameters<typeof PodmanLayers.layerClient>[0],
  config: PluginConfig = defaultPluginConfig,
  hostFiles: Layer.Layer<HostFiles> = noHostFiles
) =>
  DriverCore.layer.pipe(
    Layer.provide(Layer.mergeAll(
      PodmanLayers.layerClient(client),
      ConfigLayers.layerStatic(config),
      LogSinks.layerMemory,
      hostFiles,
      Platform.layer
    ))
  )
