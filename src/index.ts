/**
 * nomad-driver-podman as a library: the Driver service and its layers, the Podman service and its
 * transports, the config schemas, the translation and the typed errors.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Driver, embeddedLayer, decodeTaskConfig, defaultPluginConfig, LogSinks, makeNomadTask } from "nomad-driver-podman"
 * const program = Effect.gen(function*() {
 *   const driver = yield* Driver
 *   const config = yield* decodeTaskConfig({ image: "docker.io/library/busybox", args: ["echo", "hi"] })
 *   const started = yield* driver.startTask(makeNomadTask({ name: "hello" }), config)
 *   return yield* driver.waitTask(started.state.taskId)
 * })
 * Effect.runPromise(program.pipe(Effect.provide(embeddedLayer({ ...defaultPluginConfig, socket_path: "unix:///run/podman/podman.sock" }, LogSinks.layerConsole))))
 * ```
 */
export * from "./domain/errors.ts"
export * from "./domain/NomadTask.ts"
export * from "./domain/DriverState.ts"
export type * from "./domain/results.ts"
export type * from "./domain/ContainerSpec.ts"
export type { HclSpec } from "./domain/hclspec.ts"
export {
  decodeTaskConfig,
  decodeUnknownTaskConfig,
  encodeTaskConfig,
  type TaskConfig,
  type TaskConfigInput,
  taskConfigSpec
} from "./domain/TaskConfig.ts"
export type * from "./domain/values/index.ts"
export {
  type PluginConfig,
  type PluginConfigInput,
  decodePluginConfig,
  defaultPluginConfig,
  pluginConfigSpec,
  resolveSockets,
  type SocketConfig
} from "./domain/PluginConfig.ts"
export { containerName, type PodmanFacts, translate, type TranslateInput } from "./translate/index.ts"
export { Driver, type DriverCapabilitiesInfo, type ExecInput, type ExecOutput, type StartedTask } from "./services/Driver.ts"
export { DriverConfig } from "./services/DriverConfig.ts"
export { LogSink, type LogTarget, type LogWriter } from "./services/LogSink.ts"
export { type CounterFiles, counterFilesOver, HostFiles, type TailFile } from "./services/HostFiles.ts"
export * from "./services/Podman.ts"
export { cliLayer, driverLayer, embeddedLayer, guestConfig, pluginLayer, transports } from "../layers/stacks.ts"
export { checkGuardRails, disallowedCaps, type GuardRailFacts, guardRailIssues } from "./driver/guardRails.ts"
export * as DriverCore from "./driver/DriverCore.ts"
export * as ConfigLayers from "../layers/config/index.ts"
export * as LogSinks from "../layers/log-sink/index.ts"
export * as PodmanLayers from "../layers/podman/index.ts"
export { makeRestClient } from "../layers/podman-rest/index.ts"
export { makeVarlinkClient } from "../layers/podman-varlink/index.ts"
export * as HostFilesLayers from "../layers/host-files/index.ts"
// The varlink protocol client's own errors, for embedders that use it (the Podman transport turns
// them into PodmanError reasons).
export { makeVarlinkClient as makeVarlinkProtocolClient, type VarlinkClient, VarlinkError, VarlinkTransportError } from "../layers/varlink/index.ts"
