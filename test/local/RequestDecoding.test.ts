/**
 * Decoding never throws: every well-formed request decodes (int64 fields over their whole range),
 * and bytes that do not decode, an oversized config or an out-of-range number Nomad cannot mean
 * are INVALID_ARGUMENT with a reason, never INTERNAL. Over a real unix socket, in process, against
 * the FAKE Driver (test/support/nomad/FakeDriver.ts, no Podman).
 */
import * as grpc from "@grpc/grpc-js"
import { Effect, Exit, Layer, Logger, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { call, callError, connect, type PluginClients } from "../support/nomad/clients.ts"
import { fakeAppLayer } from "../support/nomad/FakeDriver.ts"
import { tempDirForFile } from "../support/tmp.ts"
import { hclogLogger } from "../../layers/nomad-rpc/hclog.ts"
import { makeNomadRpcServer, ShutdownRequest } from "../../layers/nomad-rpc/server.ts"
import { ExecTaskStreamingRequest, StartTaskRequest, TaskConfig } from "../../proto/gen/plugins/drivers/proto/driver.ts"

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

let scope: Scope.Closeable
let c: PluginClients
let raw: grpc.Client
const logs: Array<string> = []
const socketPath = `${tempDirForFile("ndp-rdec-")}/plugin.sock`

const allocId = "5f1d2a3b-0000-4000-8000-00000000000d"
let seq = 0
const task = (over: Partial<TaskConfig> = {}): TaskConfig =>
  TaskConfig.fromPartial({
    id: `${allocId}/web/${(++seq).toString(16).padStart(8, "0")}`,
    name: "web",
    allocId,
    msgpackDriverConfig: ctyEncode({ image: "localhost/busybox:latest" }),
    allocDir: "/tmp/alloc",
    ...over
  })

/** A unary call with raw request bytes (what a broken or hostile client could send). */
const rawCall = (method: string, bytes: Uint8Array) =>
  new Promise<grpc.ServiceError | undefined>((resolve) => {
    raw.makeUnaryRequest(`/hashicorp.nomad.plugins.drivers.proto.Driver/${method}`, (b: Buffer) => b, (b: Buffer) => b,
      Buffer.from(bytes), (err) => resolve(err ?? undefined))
  })

beforeAll(async () => {
  const app = await Effect.runPromise(fakeAppLayer)
  scope = Effect.runSync(Scope.make())
  const layer = makeNomadRpcServer({ socketPath, announce: () => {} }).pipe(
    Layer.provide(app.layer),
    Layer.provide(Logger.layer([hclogLogger("test", (l) => logs.push(l))])),
    Layer.provide(Layer.succeed(ShutdownRequest, () => {}))
  )
  await Effect.runPromise(Layer.buildWithScope(layer, scope))
  c = connect(socketPath)
  raw = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure())
})

afterAll(async () => {
  raw?.close()
  c?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("decoding never throws", () => {
  it("int64 fields at their extremes and doubles like 1e300 decode; unused ones are echoed exactly", async () => {
    const t = task({
      resources: {
        allocatedResources: { cpu: { cpuShares: 100n }, memory: { memoryMb: 64n, memoryMaxMb: 0n }, networks: [] },
        linuxResources: {
          cpuPeriod: INT64_MIN, cpuQuota: INT64_MAX, cpuShares: 100n, memoryLimitBytes: INT64_MAX, oomScoreAdj: INT64_MIN,
          cpusetCpus: "", cpusetCgroup: "", PercentTicks: 1e300
        },
        ports: []
      }
    })
    const r = await call(c.driver.startTask.bind(c.driver), { task: t })
    expect(r.handle?.config?.resources?.linuxResources?.cpuPeriod).toBe(INT64_MIN)
    expect(r.handle?.config?.resources?.linuxResources?.memoryLimitBytes).toBe(INT64_MAX)
  })

  it("a number Nomad cannot mean is INVALID_ARGUMENT naming the field", async () => {
    const t = task({
      resources: {
        allocatedResources: { cpu: { cpuShares: -1n }, memory: { memoryMb: INT64_MAX, memoryMaxMb: 0n }, networks: [] },
        linuxResources: undefined,
        ports: []
      }
    })
    const e = await callError(c.driver.startTask.bind(c.driver), { task: t })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/resources\.cpu\.cpu_shares: -1 is out of range/)
    expect(e.details).toMatch(/resources\.memory\.memory_mb: 9223372036854775807 is out of range/)
  })

  it("bytes that do not decode are INVALID_ARGUMENT, unary and streaming, never INTERNAL", async () => {
    const truncated = StartTaskRequest.encode({ task: task() }).finish().slice(0, 20)
    for (const bytes of [truncated, Uint8Array.of(0xff, 0xff, 0xff), Uint8Array.of(0x0a, 0x80)]) {
      const e = await rawCall("StartTask", bytes)
      expect(e?.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(e?.details).toMatch(/StartTask request does not decode/)
    }
    const stop = await rawCall("StopTask", Uint8Array.of(0x12, 0x05, 0x08))
    expect(stop?.code).toBe(grpc.status.INVALID_ARGUMENT)
    // a bidi stream whose second message does not decode
    const t = task()
    await call(c.driver.startTask.bind(c.driver), { task: t })
    const exec = raw.makeBidiStreamRequest("/hashicorp.nomad.plugins.drivers.proto.Driver/ExecTaskStreaming",
      (b: Buffer) => b, (b: Buffer) => b)
    const status = new Promise<grpc.StatusObject>((resolve) => exec.on("status", resolve))
    exec.on("data", () => {})
    exec.on("error", () => {})
    exec.write(Buffer.from(ExecTaskStreamingRequest.encode(ExecTaskStreamingRequest.fromPartial({
      setup: { taskId: t.id, command: ["cat"], tty: false }
    })).finish()))
    exec.write(Buffer.from([0xff, 0xff]))
    const s = await status
    expect(s.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(s.details).toMatch(/ExecTaskStreaming request does not decode/)
  })

  it("a config over 1 MiB is refused before it is decoded", async () => {
    const t = task({ msgpackDriverConfig: ctyEncode({ image: "localhost/busybox:latest", args: [Array(1100).fill("x".repeat(1000)).join("")] }) })
    const e = await callError(c.driver.startTask.bind(c.driver), { task: t })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/\(config\): is \d+ bytes of msgpack; at most 1048576/)
  })

  it("a StopTask timeout of int64 seconds is accepted (clamped, not thrown)", async () => {
    const t = task()
    await call(c.driver.startTask.bind(c.driver), { task: t })
    await call(c.driver.stopTask.bind(c.driver), { taskId: t.id, timeout: { seconds: INT64_MAX, nanos: 999_999_999 }, signal: "SIGKILL" })
  })

  it("hostile input makes bounded errors and log lines", async () => {
    const huge = "x".repeat(1024 * 1024)
    const t = task({ msgpackDriverConfig: ctyEncode({ image: "localhost/busybox:latest", command: huge, labels: { [huge]: huge } }) })
    const e = await callError(c.driver.startTask.bind(c.driver), { task: t })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details.length).toBeLessThan(4200)
    const longest = Math.max(...logs.map((l) => l.length))
    expect(longest).toBeLessThan(10_000)
    const id = await callError(c.driver.waitTask.bind(c.driver), { taskId: huge })
    expect(id.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(id.details.length).toBeLessThan(200)
  })
})
