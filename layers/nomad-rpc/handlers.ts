/**
 * The gRPC service implementations: Nomad's BasePlugin and Driver, go-plugin's controller, stdio
 * and broker, and gRPC health. Each handler decodes the request, calls the `Driver` /
 * `DriverConfig` services and encodes the reply (codec.ts); failures go through status.ts.
 */
import { status as Code } from "@grpc/grpc-js"
import { Cause, Effect, Queue, Stream } from "effect"
import pkg from "../../package.json" with { type: "json" }
import { decodeDriverState, DRIVER_STATE_VERSION, encodeDriverState } from "../../src/domain/DriverState.ts"
import { decodePluginConfig, pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { type ConfigIssue, InvalidPluginConfig, InvalidTaskConfig } from "../../src/domain/errors.ts"
import { MAX_CONFIG_BYTES, MAX_NAME_BYTES } from "../../src/domain/limits.ts"
import { boundedText } from "../../src/domain/values/text.ts"
import { parseSignal } from "../../src/domain/values/signals.ts"
import { Driver, type ExecInput } from "../../src/services/Driver.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import { HealthCheckResponse, HealthCheckResponse_ServingStatus, type HealthServer } from "../../proto/gen/grpc/health/v1/health.ts"
import type { GRPCBrokerServer } from "../../proto/gen/plugin/grpc_broker.ts"
import type { GRPCControllerServer } from "../../proto/gen/plugin/grpc_controller.ts"
import type { GRPCStdioServer } from "../../proto/gen/plugin/grpc_stdio.ts"
import { type BasePluginServer, type ClientTopology, PluginInfoResponse, PluginType } from "../../proto/gen/plugins/base/proto/base.ts"
import {
  CapabilitiesResponse, type DriverServer, ExecTaskStreamingResponse, InspectTaskResponse, StartTaskResponse, TaskHandle,
  TaskState, TaskStatsResponse, WaitTaskResponse, type ExecTaskStreamingRequest
} from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { bidiStream, type CallTracker, serverStream, unary } from "./adapters.ts"
import {
  capabilitiesToProto, durationToMillis, execResultToProto, exitErrorText, exitResultToProto, fingerprintToProto,
  hclSpecToProto, startedNetwork, statsToProto, taskEventToProto, taskStatusToProto, toNomadTask, wireTaskIssues
} from "./codec.ts"
import { decodeCty } from "./cty.ts"
import { fromGoDriverState } from "./goDriverState.ts"
import { RpcRequestError } from "./status.ts"

/** The driver name jobs use (`driver = "podman"`). */
export const DRIVER_NAME = "podman"
/** Nomad's driver API version, spelled as Go drivers spell it (Nomad echoes it back in SetConfig). */
export const DRIVER_API_VERSION = "v0.1.0"
/** Our own version, from package.json. */
export const PLUGIN_VERSION: string = pkg.version

type R = Driver | DriverConfig

const requireTaskId = (id: string) =>
  id === ""
    ? Effect.fail(new RpcRequestError(Code.INVALID_ARGUMENT, "task_id is required"))
    : id.length > MAX_NAME_BYTES
    ? Effect.fail(new RpcRequestError(Code.INVALID_ARGUMENT, `task_id ${boundedText(id, 64)} is longer than ${MAX_NAME_BYTES} characters`))
    : Effect.succeed(id)

/** Nomad's signal text (`SIGUSR1`), parsed here at the edge; an unknown one is the caller's mistake. */
const requireSignal = (text: string) =>
  Effect.suspend(() => {
    const signal = parseSignal(text)
    return signal === undefined
      ? Effect.fail(new RpcRequestError(Code.INVALID_ARGUMENT, `unknown signal ${JSON.stringify(text.slice(0, 64))}`))
      : Effect.succeed(signal)
  })

/** A config of more than MAX_CONFIG_BYTES (1 MiB) of msgpack is refused before it is decoded. */
const configSizeIssues = (bytes: Uint8Array): Array<ConfigIssue> =>
  bytes.length > MAX_CONFIG_BYTES
    ? [{ field: "(config)", reason: `is ${bytes.length} bytes of msgpack; at most ${MAX_CONFIG_BYTES} are allowed` }]
    : []

/** A stream that must never end by itself (the client would reopen it in a hot loop). */
const endless = <A, E, R0>(s: Stream.Stream<A, E, R0>) => Stream.concat(s, Stream.never)

export const basePluginServer = (tracker: CallTracker<R>): BasePluginServer => ({
  pluginInfo: unary(tracker, "PluginInfo", () =>
    Effect.succeed(PluginInfoResponse.fromPartial({
      type: PluginType.DRIVER,
      pluginApiVersions: [DRIVER_API_VERSION],
      pluginVersion: PLUGIN_VERSION,
      name: DRIVER_NAME
    }))),
  configSchema: unary(tracker, "ConfigSchema", () => Effect.succeed({ spec: hclSpecToProto(pluginConfigSpec) })),
  setConfig: unary(tracker, "SetConfig", (req) =>
    Effect.gen(function*() {
      const tooLarge = configSizeIssues(req.msgpackConfig)
      if (tooLarge.length > 0) return yield* new InvalidPluginConfig({ issues: tooLarge })
      const raw = yield* decodeCty(req.msgpackConfig)
      // 0 bytes: the agent has no config block for us; defaults apply.
      const config = yield* decodePluginConfig(raw ?? {})
      const driverConfig = yield* DriverConfig
      yield* driverConfig.set(config)
      const agent = req.nomadConfig?.driver
      const cpuMhzPerCore = agent?.Topology ? topologyMhzPerCore(agent.Topology) : 0
      if (cpuMhzPerCore > 0) yield* driverConfig.setAgent({ cpuMhzPerCore })
      yield* Effect.logDebug("plugin config set").pipe(Effect.annotateLogs({
        api_version: req.pluginApiVersion,
        validation_only: req.nomadConfig === undefined,
        ...(agent ? { client_min_port: agent.ClientMinPort, client_max_port: agent.ClientMaxPort } : {})
      }))
      return {}
    }))
})

/**
 * The average speed (MHz) of the node's usable cores, from the client's CPU topology: what Nomad's
 * own drivers use to turn a CPU percentage into MHz ("TotalTicks"). Per core the best known speed
 * is taken (base, else guessed, else max); disabled cores are skipped. 0 when unknown.
 */
export const topologyMhzPerCore = (topology: ClientTopology): number => {
  const speeds = topology.cores
    .filter((c) => !c.disable)
    .map((c) => Number(c.baseSpeed || c.guessSpeed || c.maxSpeed))
    .filter((mhz) => mhz > 0)
  return speeds.length === 0 ? 0 : speeds.reduce((a, b) => a + b, 0) / speeds.length
}

/**
 * One client message as exec input (none for a heartbeat). Every field set is honoured: data then
 * close when a message carries both (Go's server would drop the data; losing the close would leave
 * `cat` waiting forever), and a resize that rides along with stdin.
 */
export const toExecInputs = (m: ExecTaskStreamingRequest): ReadonlyArray<ExecInput> => {
  const out: Array<ExecInput> = []
  if (m.stdin !== undefined && m.stdin.data.length > 0) out.push({ _tag: "Stdin", data: m.stdin.data })
  if (m.stdin?.close) out.push({ _tag: "StdinClose" })
  if (m.ttySize !== undefined) out.push({ _tag: "Resize", height: m.ttySize.height, width: m.ttySize.width })
  return out
}

export const driverServer = (tracker: CallTracker<R>): DriverServer => ({
  taskConfigSchema: unary(tracker, "TaskConfigSchema", () => Effect.succeed({ spec: hclSpecToProto(taskConfigSpec) })),

  capabilities: unary(tracker, "Capabilities", () =>
    Effect.gen(function*() {
      const caps = yield* (yield* Driver).capabilities
      return CapabilitiesResponse.fromPartial({ capabilities: capabilitiesToProto(caps) })
    })),

  fingerprint: serverStream(tracker, "Fingerprint", () =>
    endless(Stream.unwrap(Effect.gen(function*() { return (yield* Driver).fingerprint })).pipe(Stream.map(fingerprintToProto)))),

  recoverTask: unary(tracker, "RecoverTask", (req) =>
    Effect.gen(function*() {
      const handle = req.handle
      if (handle === undefined) return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "RecoverTask: handle is required")
      // The client never fills in task_id: the id is the handle's config.id.
      const taskId = handle.config?.id || req.taskId
      if (taskId === "") return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "RecoverTask: handle.config.id is required")
      if (handle.driverState.length === 0) {
        return yield* new RpcRequestError(Code.INVALID_ARGUMENT, `RecoverTask: handle for ${taskId} has no driver_state`)
      }
      // A handle written by the Go nomad-driver-podman (after a binary swap) is adopted too.
      const state = yield* decodeDriverState(handle.driverState).pipe(
        Effect.catchTag("InvalidTaskConfig", (ours) => fromGoDriverState(handle).pipe(Effect.mapError(() => ours)))
      )
      yield* (yield* Driver).recoverTask(state.taskId === taskId ? state : { ...state, taskId })
      return {}
    })),

  startTask: unary(tracker, "StartTask", (req) =>
    Effect.gen(function*() {
      const task = req.task
      if (task === undefined || task.id === "") {
        return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "StartTask: task with an id is required")
      }
      // Checked and decoded here, at the edge: the driver core only sees a typed TaskConfig and
      // a NomadTask whose numbers are in range.
      const wire = [...configSizeIssues(task.msgpackDriverConfig), ...wireTaskIssues(task)]
      if (wire.length > 0) return yield* new InvalidTaskConfig({ issues: wire })
      const config = yield* decodeUnknownTaskConfig(yield* decodeCty(task.msgpackDriverConfig))
      const started = yield* (yield* Driver).startTask(toNomadTask(task), config)
      const network = startedNetwork(started)
      return StartTaskResponse.fromPartial({
        handle: TaskHandle.fromPartial({
          version: DRIVER_STATE_VERSION,
          config: task,
          state: TaskState.RUNNING,
          driverState: encodeDriverState(started.state)
        }),
        ...(network ? { networkOverride: network } : {})
      })
    })),

  waitTask: unary(tracker, "WaitTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      const result = yield* (yield* Driver).waitTask(id)
      return WaitTaskResponse.fromPartial({ result: exitResultToProto(result), err: exitErrorText(result) })
    })),

  stopTask: unary(tracker, "StopTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      const signal = req.signal === "" ? undefined : yield* requireSignal(req.signal)
      yield* (yield* Driver).stopTask(id, durationToMillis(req.timeout), signal)
      return {}
    })),

  destroyTask: unary(tracker, "DestroyTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      yield* (yield* Driver).destroyTask(id, req.force)
      return {}
    })),

  inspectTask: unary(tracker, "InspectTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      const status = yield* (yield* Driver).inspectTask(id)
      return InspectTaskResponse.fromPartial({
        task: taskStatusToProto(status),
        driver: { attributes: { ...status.driverAttributes } }
      })
    })),

  taskStats: serverStream(tracker, "TaskStats", (req) =>
    Stream.unwrap(Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      const interval = durationToMillis(req.collectionInterval) || 1000
      return (yield* Driver).taskStats(id, interval)
    })).pipe(Stream.map((s) => TaskStatsResponse.fromPartial({ stats: statsToProto(s) })))),

  taskEvents: serverStream(tracker, "TaskEvents", () =>
    endless(Stream.unwrap(Effect.gen(function*() { return (yield* Driver).taskEvents })).pipe(Stream.map(taskEventToProto)))),

  signalTask: unary(tracker, "SignalTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      yield* (yield* Driver).signalTask(id, yield* requireSignal(req.signal))
      return {}
    })),

  execTask: unary(tracker, "ExecTask", (req) =>
    Effect.gen(function*() {
      const id = yield* requireTaskId(req.taskId)
      if (req.command.length === 0) return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "ExecTask: command is required")
      const r = yield* (yield* Driver).execTask(id, req.command, durationToMillis(req.timeout))
      return execResultToProto(r)
    })),

  execTaskStreaming: bidiStream(tracker, "ExecTaskStreaming", (input: Queue.Dequeue<ExecTaskStreamingRequest, Cause.Done>) =>
    Stream.unwrap(Effect.gen(function*() {
      const driver = yield* Driver
      // The first message carries the setup; the rest is forwarded input (heartbeats dropped).
      const first = yield* Queue.take(input).pipe(Effect.catchCause(() => Effect.succeed(undefined)))
      const setup = first?.setup
      if (setup === undefined) {
        return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "first message should always be setup")
      }
      const id = yield* requireTaskId(setup.taskId)
      if (setup.command.length === 0) return yield* new RpcRequestError(Code.INVALID_ARGUMENT, "command is required")
      const execInput = Stream.fromQueue(input).pipe(Stream.map(toExecInputs), Stream.flattenIterable)
      return driver.execStreaming(id, { command: setup.command, tty: setup.tty }, execInput).pipe(
        Stream.map((o) =>
          o._tag === "Stdout"
            ? ExecTaskStreamingResponse.fromPartial({ stdout: { data: o.data } })
            : o._tag === "Stderr"
            ? ExecTaskStreamingResponse.fromPartial({ stderr: { data: o.data } })
            : ExecTaskStreamingResponse.fromPartial({ exited: true, result: { exitCode: o.exitCode } })
        ),
        Stream.takeUntil((r) => r.exited)
      )
    }))),

  createNetwork: unary(tracker, "CreateNetwork", () =>
    Effect.fail(new RpcRequestError(Code.UNIMPLEMENTED, "CreateNetwork RPC not supported by driver"))),

  destroyNetwork: unary(tracker, "DestroyNetwork", () =>
    Effect.fail(new RpcRequestError(Code.UNIMPLEMENTED, "DestroyNetwork RPC not supported by driver"))),

  init: unary(tracker, "Init", () => Effect.succeed({})),

  shutdown: unary(tracker, "Shutdown", () => Effect.logDebug("driver shutdown notice").pipe(Effect.as({})))
})

export const healthServer = (tracker: CallTracker<R>): HealthServer => ({
  check: unary(tracker, "Health.Check", (req) =>
    req.service === "" || req.service === "plugin"
      ? Effect.succeed(HealthCheckResponse.fromPartial({ status: HealthCheckResponse_ServingStatus.SERVING }))
      : Effect.fail(new RpcRequestError(Code.NOT_FOUND, `unknown service ${req.service}`))),
  watch: serverStream(tracker, "Health.Watch", () =>
    endless(Stream.succeed(HealthCheckResponse.fromPartial({ status: HealthCheckResponse_ServingStatus.SERVING }))))
})

/** go-plugin stdio forwarding: we send nothing (logs go to stderr), but keep the stream open. */
export const stdioServer = (tracker: CallTracker<R>): GRPCStdioServer => ({
  streamStdio: serverStream(tracker, "GRPCStdio.StreamStdio", () => Stream.never)
})

/** go-plugin broker: accepted and left idle (Nomad never brokers anything). */
export const brokerServer = (tracker: CallTracker<R>): GRPCBrokerServer => ({
  startStream: bidiStream(tracker, "GRPCBroker.StartStream", (input) => Stream.fromQueue(input).pipe(Stream.drain))
})

/** go-plugin controller: Shutdown answers first, then asks the process to stop gracefully. */
export const controllerServer = (tracker: CallTracker<R>, requestShutdown: () => void): GRPCControllerServer => ({
  shutdown: unary(tracker, "GRPCController.Shutdown", () =>
    Effect.sync(() => {
      // Let the reply go out before the server stops.
      setTimeout(requestShutdown, 50)
      return {}
    }))
})
