/**
 * The gRPC layer over a real unix socket, in process, against the FAKE Driver
 * (test/support/nomad/FakeDriver.ts, no Podman): every RPC Nomad makes, the wire encodings it
 * relies on, and the error statuses its client and driver harness expect.
 */
import * as grpc from "@grpc/grpc-js"
import { Effect, Exit, Layer, Logger, Scope } from "effect"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { call, callError, connect, type PluginClients, recoverableDetail } from "../support/nomad/clients.ts"
import { collectDuplex, staysOpenFor, take } from "../support/nomad/grpcStreams.ts"
import { fakeAppLayer, type FakeDriverState } from "../support/nomad/FakeDriver.ts"
import { tempDirForFile } from "../support/tmp.ts"
import { hclSpecToProto, GO_ZERO_TIME } from "../../layers/nomad-rpc/codec.ts"
import { hclogLogger } from "../../layers/nomad-rpc/hclog.ts"
import { makeNomadRpcServer, ShutdownRequest } from "../../layers/nomad-rpc/server.ts"
import { decodeDriverState } from "../../src/domain/DriverState.ts"
import { pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { encodeTaskConfig, taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import type { PluginConfig } from "../../src/domain/PluginConfig.ts"
import {
  DriverCapabilities_FSIsolation, ExecTaskStreamingRequest, FingerprintResponse_HealthState, TaskConfig, TaskState
} from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { HealthCheckResponse_ServingStatus } from "../../proto/gen/grpc/health/v1/health.ts"
import { PluginType } from "../../proto/gen/plugins/base/proto/base.ts"

const pkgVersion = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version as string

let scope: Scope.Closeable
let c: PluginClients
let fake: FakeDriverState
let configSets: Array<PluginConfig>
const announced: Array<string> = []
const logs: Array<string> = []
let shutdownRequests = 0
const socketPath = `${tempDirForFile("ndp-nrpc-")}/plugin.sock`

const allocId = "5f1d2a3b-0000-4000-8000-000000000001"
let seq = 0
const taskConfig = (config: unknown, over: Partial<TaskConfig> = {}): TaskConfig =>
  TaskConfig.fromPartial({
    id: `${allocId}/web/${(++seq).toString(16).padStart(8, "0")}`,
    name: "web",
    allocId,
    jobName: "job",
    jobId: "job",
    taskGroupName: "group",
    namespace: "default",
    msgpackDriverConfig: ctyEncode(config),
    env: { NOMAD_TASK_NAME: "web" },
    stdoutPath: "/dev/null",
    stderrPath: "/dev/null",
    allocDir: "/tmp/ndp-alloc",
    resources: {
      allocatedResources: { cpu: { cpuShares: 500n }, memory: { memoryMb: 256n, memoryMaxMb: 512n }, networks: [] },
      linuxResources: { cpuShares: 500n, memoryLimitBytes: 512n * 1048576n, cpusetCpus: "0", PercentTicks: 0.25 },
      ports: [{ label: "http", value: 25000, to: 8080, hostIp: "127.0.0.1" }]
    },
    ...over
  })

beforeAll(async () => {
  const app = await Effect.runPromise(fakeAppLayer)
  fake = app.driverState
  configSets = app.configSets
  scope = Effect.runSync(Scope.make())
  const layer = makeNomadRpcServer({ socketPath, announce: (l) => announced.push(l) }).pipe(
    Layer.provide(app.layer),
    Layer.provide(Logger.layer([hclogLogger("test", (l) => logs.push(l))])),
    Layer.provide(Layer.succeed(ShutdownRequest, () => {
      shutdownRequests++
    }))
  )
  await Effect.runPromise(Layer.buildWithScope(layer, scope))
  c = connect(socketPath)
})

afterAll(async () => {
  c?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("handshake and go-plugin services", () => {
  it("announces 1|2|unix|<abs path>|grpc| once, after listening", () => {
    expect(announced).toStrictEqual([`1|2|unix|${socketPath}|grpc|\n`])
  })

  it("health: service `plugin` is SERVING", async () => {
    const r = await call(c.health.check.bind(c.health), { service: "plugin" })
    expect(r.status).toBe(HealthCheckResponse_ServingStatus.SERVING)
  })

  it("StreamStdio and the broker stream are accepted and stay open", async () => {
    const stdio = c.stdio.streamStdio({})
    const broker = c.broker.startStream()
    broker.write({ serviceId: 1, network: "", address: "", knock: undefined })
    const [stdioOpen, brokerOpen] = await Promise.all([staysOpenFor(stdio, 300), staysOpenFor(broker, 300)])
    expect(stdioOpen).toBe(true)
    expect(brokerOpen).toBe(true)
    const info = await call(c.base.pluginInfo.bind(c.base), {})
    expect(info.name).toBe("podman")
  })

  it("logs are hclog JSON with string fields and a 6-digit timestamp", () => {
    expect(logs.length).toBeGreaterThan(0)
    for (const l of logs) {
      const j = JSON.parse(l)
      expect(typeof j["@level"]).toBe("string")
      expect(typeof j["@message"]).toBe("string")
      expect(j["@timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
      expect(j["@module"]).toBe("test")
    }
  })
})

describe("BasePlugin", () => {
  it("PluginInfo: DRIVER (2), v0.1.0, package version, name podman", async () => {
    const r = await call(c.base.pluginInfo.bind(c.base), {})
    expect(r).toStrictEqual({ type: PluginType.DRIVER, pluginApiVersions: ["v0.1.0"], pluginVersion: pkgVersion, name: "podman" })
    expect(PluginType.DRIVER).toBe(2)
  })

  it("ConfigSchema returns the plugin config spec", async () => {
    const r = await call(c.base.configSchema.bind(c.base), {})
    expect(r.spec).toEqual(hclSpecToProto(pluginConfigSpec))
    expect(Object.values(r.spec ?? {}).filter((v) => v !== undefined)).toHaveLength(1)
  })

  it("SetConfig decodes cty msgpack into DriverConfig; idempotent; empty bytes and no nomad_config accepted", async () => {
    const before = configSets.length
    const bytes = ctyEncode({ socket_path: "unix:///run/test.sock" })
    await call(c.base.setConfig.bind(c.base), { msgpackConfig: bytes, nomadConfig: undefined, pluginApiVersion: "v0.1.0" })
    await call(c.base.setConfig.bind(c.base), { msgpackConfig: bytes, nomadConfig: undefined, pluginApiVersion: "v0.1.0" })
    expect(configSets.slice(before).map((s) => s.socket_path)).toStrictEqual(["unix:///run/test.sock", "unix:///run/test.sock"])
    await call(c.base.setConfig.bind(c.base), {
      msgpackConfig: new Uint8Array(),
      nomadConfig: { driver: { ClientMinPort: 14000, ClientMaxPort: 14512, Topology: undefined } },
      pluginApiVersion: "v0.1.0"
    })
    expect(configSets.length).toBe(before + 3)
  })

  it("SetConfig with malformed msgpack is InvalidArgument", async () => {
    const e = await callError(c.base.setConfig.bind(c.base), { msgpackConfig: Uint8Array.from([0x92, 0xa1]), nomadConfig: undefined, pluginApiVersion: "" })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/cty msgpack/)
  })
})

describe("Driver", () => {
  it("TaskConfigSchema returns the task config spec", async () => {
    const r = await call(c.driver.taskConfigSchema.bind(c.driver), {})
    expect(r.spec).toEqual(hclSpecToProto(taskConfigSpec))
  })

  it("Capabilities maps the driver's capabilities", async () => {
    const r = await call(c.driver.capabilities.bind(c.driver), {})
    expect(r.capabilities).toMatchObject({
      sendSignals: true,
      exec: true,
      fsIsolation: DriverCapabilities_FSIsolation.IMAGE,
      networkIsolationModes: [0, 1, 2],
      mustCreateNetwork: false,
      mountConfigs: 0,
      disableLogCollection: false
    })
  })

  it("Fingerprint: first message immediately, typed attributes, stream stays open", async () => {
    const started = Date.now()
    const stream = c.driver.fingerprint({})
    const first = await new Promise<any>((resolve, reject) => {
      stream.once("data", resolve)
      stream.once("error", reject)
    })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(first.health).toBe(FingerprintResponse_HealthState.HEALTHY)
    expect(first.healthDescription).toBe("Healthy")
    expect(first.err).toBe("")
    expect(first.attributes["driver.podman"]).toEqual({ boolVal: true, unit: "" })
    expect(first.attributes["driver.podman.version"]).toEqual({ stringVal: "4.3.1", unit: "" })
    expect(first.attributes["driver.podman.cpus"]).toEqual({ intVal: 2n, unit: "" })
    expect(first.attributes["driver.podman.ratio"]).toEqual({ floatVal: 0.5, unit: "" })
    expect(await staysOpenFor(stream, 300)).toBe(true)
  })

  it("StartTask: handle v1 echoes the config, RUNNING, driver_state; NomadTask and cty config reach the driver", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest", args: ["-c", "sleep 1"], hostname: "web-1" })
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    expect(r.handle?.version).toBe(1)
    expect(r.handle?.state).toBe(TaskState.RUNNING)
    // byte-identical echo of the request's TaskConfig (msgpack_driver_config included)
    expect(Buffer.from(TaskConfig.encode(r.handle!.config!).finish())).toStrictEqual(Buffer.from(TaskConfig.encode(task).finish()))
    const ds = await Effect.runPromise(decodeDriverState(r.handle!.driverState))
    expect(ds.taskId).toBe(task.id)
    expect(r.networkOverride).toStrictEqual({ portMap: { http: 8080 }, addr: "10.0.0.2", autoAdvertise: true })
    const seen = fake.started.at(-1)!
    // decoded at the gRPC edge: the driver gets a typed config
    expect(encodeTaskConfig(seen.config)).toMatchObject({ image: "localhost/busybox:latest", args: ["-c", "sleep 1"], hostname: "web-1" })
    expect(seen.task).toMatchObject({
      id: task.id, name: "web", allocId, jobName: "job", taskGroupName: "group", stdoutPath: "/dev/null",
      env: { NOMAD_TASK_NAME: "web" },
      resources: {
        cpuShares: 500, cpusetCpus: "0", memoryMb: 256, memoryMaxMb: 512, percentTicks: 0.25,
        ports: [{ label: "http", value: 25000, to: 8080, hostIp: "127.0.0.1" }]
      }
    })
  })

  it("StartTask with an invalid config is InvalidArgument naming the field; nothing started", async () => {
    const n = fake.started.length
    const e = await callError(c.driver.startTask.bind(c.driver), { task: taskConfig({ args: ["x"] }) })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/image/)
    expect(recoverableDetail(e)).toBeUndefined()
    expect(fake.started.length).toBe(n)
  })

  it("retryable start failures carry RecoverableError{true} with a matching code", async () => {
    for (const image of ["fake/unavailable", "fake/pull-timeout"]) {
      const e = await callError(c.driver.startTask.bind(c.driver), { task: taskConfig({ image }) })
      expect(e.code).toBe(grpc.status.FAILED_PRECONDITION)
      expect(e.code).not.toBe(grpc.status.UNAVAILABLE)
      const d = recoverableDetail(e)
      expect(d).toStrictEqual({ code: e.code, recoverable: true, message: e.details })
    }
    const e = await callError(c.driver.startTask.bind(c.driver), { task: taskConfig({ image: "fake/pull-auth" }) })
    expect(e.code).toBe(grpc.status.PERMISSION_DENIED)
    expect(recoverableDetail(e)).toBeUndefined()
  })

  it("WaitTask: concurrent long polls all answered on exit, then immediately; InspectTask before/after", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const running = await call(c.driver.inspectTask.bind(c.driver), { taskId: task.id })
    expect(running.task?.state).toBe(TaskState.RUNNING)
    expect(running.task?.completedAt).toStrictEqual(GO_ZERO_TIME)
    expect(running.task?.startedAt?.seconds).toBeGreaterThan(1_700_000_000)
    expect(running.task?.result).toStrictEqual({ exitCode: 0, signal: 0, oomKilled: false })

    let answered = 0
    const waits = [1, 2, 3].map(() => call(c.driver.waitTask.bind(c.driver), { taskId: task.id }).then((r) => (answered++, r)))
    // the three long polls reach the driver...
    await expect.poll(() => fake.waiting(task.id)).toBe(3)
    // ...and none is answered while the task runs: a window to see a wrong answer in (the
    // behaviour under test is that nothing arrives)
    await new Promise((r) => setTimeout(r, 200))
    expect(answered).toBe(0)
    await call(c.driver.stopTask.bind(c.driver), { taskId: task.id, timeout: { seconds: 5n, nanos: 0 }, signal: "SIGINT" })
    for (const r of await Promise.all(waits)) expect(r).toStrictEqual({ result: { exitCode: 130, signal: 2, oomKilled: false }, err: "" })
    const again = await call(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    expect(again.result?.signal).toBe(2)

    const exited = await call(c.driver.inspectTask.bind(c.driver), { taskId: task.id })
    expect(exited.task?.state).toBe(TaskState.EXITED)
    expect(exited.task?.completedAt?.seconds).toBeGreaterThan(1_700_000_000)
    expect(exited.task?.result?.signal).toBe(2)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("unknown task ids: NotFound with Nomad's text", async () => {
    for (const m of ["waitTask", "inspectTask", "destroyTask", "signalTask"] as const) {
      const fn = (c.driver[m] as any).bind(c.driver)
      const e = await callError(fn, { taskId: "nope/x/00000000", force: true, signal: "SIGHUP" })
      expect(e.code).toBe(grpc.status.NOT_FOUND)
      expect(e.details).toBe("task not found for given id")
    }
  })

  it("TaskStats: first sample immediately even with a 10 s interval; required fields set", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const t0 = Date.now()
    const [r] = await take(c.driver.taskStats({ taskId: task.id, collectionInterval: { seconds: 10n, nanos: 0 } }), 1)
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(r!.stats?.timestamp?.seconds).toBeGreaterThan(1_700_000_000)
    expect(r!.stats?.aggResourceUsage?.memory?.rss).toBe(1024n)
    expect(r!.stats?.aggResourceUsage?.memory?.measuredFields).toStrictEqual([0, 5])
    expect(r!.stats?.aggResourceUsage?.cpu?.percent).toBe(1.5)
    expect(r!.stats?.aggResourceUsage?.cpu?.measuredFields).toStrictEqual([5, 2])
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("TaskEvents: events carry alloc_id, task_name, timestamp; the stream stays open", async () => {
    const task = taskConfig({ image: "localhost/events:latest" })
    // The FAKE driver's events wait in a queue until a stream takes them: the stream need not be
    // open on the server before StartTask.
    const stream = c.driver.taskEvents({})
    const got = new Promise<any>((resolve) => stream.on("data", (e) => e.taskId === task.id && resolve(e)))
    stream.on("error", () => {})
    await call(c.driver.startTask.bind(c.driver), { task })
    const ev = await got
    expect(ev).toMatchObject({ taskId: task.id, allocId, taskName: "web", message: "started localhost/events:latest", annotations: { image: "localhost/events:latest" } })
    expect(ev.timestamp.seconds).toBeGreaterThan(1_700_000_000)
    stream.cancel()
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("SignalTask: known signal OK, unknown name is an InvalidArgument naming it (parsed at the edge)", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    await call(c.driver.signalTask.bind(c.driver), { taskId: task.id, signal: "SIGHUP" })
    const e = await callError(c.driver.signalTask.bind(c.driver), { taskId: task.id, signal: "FOO" })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/FOO/)
    const stop = await callError(c.driver.stopTask.bind(c.driver), { taskId: task.id, signal: "SIGBOGUS", timeout: { seconds: 1n, nanos: 0 } })
    expect(stop.code).toBe(grpc.status.INVALID_ARGUMENT)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("ExecTask always returns result", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const r = await call(c.driver.execTask.bind(c.driver), { taskId: task.id, command: ["echo", "hi"], timeout: { seconds: 5n, nanos: 0 } })
    expect(Buffer.from(r.stdout).toString()).toBe("echo hi\n")
    expect(r.result).toStrictEqual({ exitCode: 0, signal: 0, oomKilled: false })
    const f = await call(c.driver.execTask.bind(c.driver), { taskId: task.id, command: ["false"], timeout: undefined })
    expect(f.result?.exitCode).toBe(1)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("ExecTaskStreaming: setup, stdin, resize, heartbeat, stdin close → output then exited+result, status OK", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const s = c.driver.execTaskStreaming()
    const { done, messages: out } = collectDuplex<ExecTaskStreamingRequest, any>(s)
    s.write(ExecTaskStreamingRequest.fromPartial({ setup: { taskId: task.id, command: ["/bin/sh"], tty: true } }))
    s.write(ExecTaskStreamingRequest.fromPartial({ stdin: { data: Buffer.from("hello\n"), close: false } }))
    s.write(ExecTaskStreamingRequest.fromPartial({ ttySize: { height: 100, width: 100 } }))
    s.write(ExecTaskStreamingRequest.fromPartial({})) // heartbeat
    s.write(ExecTaskStreamingRequest.fromPartial({ stdin: { data: new Uint8Array(), close: true } }))
    await done
    expect(out.map((m) => m.stdout ? ["stdout", Buffer.from(m.stdout.data).toString()] : m.stderr ? ["stderr", Buffer.from(m.stderr.data).toString()] : ["exited", m.exited, m.result]))
      .toStrictEqual([
        ["stdout", "tty=true cmd=/bin/sh\n"],
        ["stdout", "hello\n"],
        ["stderr", "size 100 100\n"],
        ["exited", true, { exitCode: 7, signal: 0, oomKilled: false }]
      ])
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("ExecTaskStreaming without setup first is rejected", async () => {
    const s = c.driver.execTaskStreaming()
    const err = new Promise<grpc.ServiceError>((resolve) => s.on("error", resolve))
    s.on("data", () => {})
    s.write(ExecTaskStreamingRequest.fromPartial({ stdin: { data: Buffer.from("x"), close: false } }))
    const e = await err
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toBe("first message should always be setup")
  })

  it("RecoverTask uses handle.config.id (task_id unset), is idempotent, rejects a handle without state", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    // after an agent restart msgpack_driver_config is not persisted
    const handle = { ...r.handle!, config: { ...r.handle!.config!, msgpackDriverConfig: new Uint8Array() } }
    const before = fake.recovered.length
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle })
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle })
    expect(fake.recovered.slice(before).map((s) => s.taskId)).toStrictEqual([task.id, task.id])
    const e = await callError(c.driver.recoverTask.bind(c.driver), { taskId: "", handle: { ...handle, driverState: new Uint8Array() } })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    const bad = await callError(c.driver.recoverTask.bind(c.driver), { taskId: "", handle: { ...handle, driverState: Buffer.from("{") } })
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("DestroyTask: force=false on a running task fails; force=true kills and resolves pending waits", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const wait = call(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    const e = await callError(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: false })
    expect(e.code).toBe(grpc.status.FAILED_PRECONDITION)
    expect(e.details).toMatch(/cannot destroy running task/)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
    expect((await wait).result?.signal).toBe(9)
  })

  it("Init, Shutdown OK; CreateNetwork/DestroyNetwork UNIMPLEMENTED (must_create_network is false)", async () => {
    await call(c.driver.init.bind(c.driver), {})
    await call(c.driver.shutdown.bind(c.driver), {})
    const e = await callError(c.driver.createNetwork.bind(c.driver), { allocId, hostname: "" })
    expect(e.code).toBe(grpc.status.UNIMPLEMENTED)
  })

  it("a cancelled WaitTask interrupts its handler and leaves the server healthy", async () => {
    const task = taskConfig({ image: "localhost/busybox:latest" })
    await call(c.driver.startTask.bind(c.driver), { task })
    const callObj = c.driver.waitTask({ taskId: task.id }, () => {})
    await expect.poll(() => fake.waiting(task.id)).toBe(1)
    callObj.cancel()
    // the handler's fiber is interrupted: the driver's wait ends without the task exiting
    await expect.poll(() => fake.waiting(task.id)).toBe(0)
    const info = await call(c.base.pluginInfo.bind(c.base), {})
    expect(info.name).toBe("podman")
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
  })

  it("GRPCController.Shutdown answers, then asks the process to stop", async () => {
    await call(c.controller.shutdown.bind(c.controller), {})
    await expect.poll(() => shutdownRequests).toBe(1)
  })
})
