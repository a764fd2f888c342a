/**
 * Conformance of the RPC layer's pure pieces with what Nomad's client sends and expects.
 */
import { describe, expect, it } from "vitest"
import { toExecInputs } from "../../layers/nomad-rpc/handlers.ts"
import { ExecTaskStreamingRequest } from "../../proto/gen/plugins/drivers/proto/driver.ts"

/** A request as it arrives off the wire (absent sub-messages are undefined). */
const msg = (m: {
  readonly stdin?: { readonly data: Uint8Array; readonly close: boolean }
  readonly ttySize?: { readonly height: number; readonly width: number }
}) =>
  ExecTaskStreamingRequest.decode(ExecTaskStreamingRequest.encode(ExecTaskStreamingRequest.fromPartial({
    ...(m.stdin ? { stdin: { data: new Uint8Array(m.stdin.data), close: m.stdin.close } } : {}),
    ...(m.ttySize ? { ttySize: { height: m.ttySize.height, width: m.ttySize.width } } : {})
  })).finish())

describe("ExecTaskStreaming input messages", () => {
  it("an empty message is a heartbeat: no input", () => {
    expect(toExecInputs(msg({}))).toStrictEqual([])
  })

  it("stdin data, stdin close, resize as separate messages", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("hi"), close: false } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("hi")) }
    ])
    expect(toExecInputs(msg({ stdin: { data: new Uint8Array(), close: true } }))).toStrictEqual([{ _tag: "StdinClose" }])
    expect(toExecInputs(msg({ ttySize: { height: 100, width: 80 } }))).toStrictEqual([{ _tag: "Resize", height: 100, width: 80 }])
  })

  it("data and close in ONE message: the close is not lost (else `cat` never sees EOF)", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("x\n"), close: true } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("x\n")) },
      { _tag: "StdinClose" }
    ])
  })

  it("a resize riding along with stdin is applied too", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("a"), close: false }, ttySize: { height: 50, width: 40 } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("a")) },
      { _tag: "Resize", height: 50, width: 40 }
    ])
  })
})

/** The field tags a message with exactly one field set encodes to (first varint of each field). */
const tags = (bytes: Uint8Array): Array<number> => {
  const out: Array<number> = []
  let i = 0
  const varint = () => {
    let v = 0
    let shift = 0
    for (;;) {
      const b = bytes[i++]!
      v += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return v
      shift += 7
    }
  }
  while (i < bytes.length) {
    const key = varint()
    out.push(key)
    const wire = key & 7
    if (wire === 0) varint()
    else if (wire === 1) i += 8
    else if (wire === 2) {
      const n = varint()
      i += n
    }
    else if (wire === 5) i += 4
    else throw new Error(`wire type ${wire}`)
  }
  return out
}
const tag = (field: number, wire: number) => field * 8 + wire

describe("field numbers and wire types of the odd-looking fields", () => {
  it("hclspec.Spec: oneof members 1..10, Attr is field 3", async () => {
    const { Spec } = await import("../../proto/gen/plugins/shared/hclspec/hcl_spec.ts")
    expect(tags(Spec.encode(Spec.fromPartial({ Attr: { name: "a", type: "string", required: false } })).finish())).toStrictEqual([tag(3, 2)])
    expect(tags(Spec.encode(Spec.fromPartial({ literal: { value: "1" } })).finish())).toStrictEqual([tag(10, 2)])
    expect(tags(Spec.encode(Spec.fromPartial({ blockAttrs: { name: "o", type: "string", required: false } })).finish())).toStrictEqual([tag(5, 2)])
  })

  it("base: PluginType DRIVER = 2; NomadDriverConfig ClientMaxPort 1, ClientMinPort 2, Topology 3", async () => {
    const { PluginInfoResponse, PluginType, NomadDriverConfig } = await import("../../proto/gen/plugins/base/proto/base.ts")
    expect(PluginType.DRIVER).toBe(2)
    const info = PluginInfoResponse.encode(PluginInfoResponse.fromPartial({ type: PluginType.DRIVER })).finish()
    expect([...info]).toStrictEqual([tag(1, 0), 2])
    const d = NomadDriverConfig.decode(Uint8Array.from([tag(1, 0), 0x90, 0x71, tag(2, 0), 0xb0, 0x6d]))
    expect(d).toMatchObject({ ClientMaxPort: 14480, ClientMinPort: 14000 })
  })

  it("driver: hostsConfig 4, disable_log_collection 8, dynamic_workload_users 9, PercentTicks 8, cpuset_cgroup 9, parent_job_id 22", async () => {
    const m = await import("../../proto/gen/plugins/drivers/proto/driver.ts")
    expect(tags(m.NetworkIsolationSpec.encode(m.NetworkIsolationSpec.fromPartial({ hostsConfig: { hostname: "h", address: "" } })).finish()))
      .toStrictEqual([tag(4, 2)])
    expect(tags(m.DriverCapabilities.encode(m.DriverCapabilities.fromPartial({ disableLogCollection: true })).finish())).toStrictEqual([tag(8, 0)])
    expect(tags(m.DriverCapabilities.encode(m.DriverCapabilities.fromPartial({ dynamicWorkloadUsers: true })).finish())).toStrictEqual([tag(9, 0)])
    expect(tags(m.LinuxResources.encode(m.LinuxResources.fromPartial({ PercentTicks: 0.5 })).finish())).toStrictEqual([tag(8, 1)])
    expect(tags(m.LinuxResources.encode(m.LinuxResources.fromPartial({ cpusetCgroup: "/x" })).finish())).toStrictEqual([tag(9, 2)])
    expect(tags(m.TaskConfig.encode(m.TaskConfig.fromPartial({ parentJobId: "p" })).finish())).toStrictEqual([tag(22, 2)])
  })

  it("driver: MemoryUsage measured_fields 6 (packed), usage 7, swap 8; CPUUsage measured_fields 7; TaskStats timestamp 2, agg 3", async () => {
    const m = await import("../../proto/gen/plugins/drivers/proto/driver.ts")
    expect(tags(m.MemoryUsage.encode(m.MemoryUsage.fromPartial({ measuredFields: [m.MemoryUsage_Fields.SWAP] })).finish())).toStrictEqual([tag(6, 2)])
    expect(tags(m.MemoryUsage.encode(m.MemoryUsage.fromPartial({ usage: 1 })).finish())).toStrictEqual([tag(7, 0)])
    expect(tags(m.MemoryUsage.encode(m.MemoryUsage.fromPartial({ swap: 1 })).finish())).toStrictEqual([tag(8, 0)])
    expect(m.MemoryUsage_Fields.SWAP).toBe(6)
    expect(tags(m.CPUUsage.encode(m.CPUUsage.fromPartial({ measuredFields: [m.CPUUsage_Fields.PERCENT] })).finish())).toStrictEqual([tag(7, 2)])
    expect(tags(m.TaskStats.encode(m.TaskStats.fromPartial({ timestamp: { seconds: 1, nanos: 0 }, aggResourceUsage: {} })).finish()))
      .toStrictEqual([tag(2, 2), tag(3, 2)])
  })

  it("driver: enums (TaskState, FSIsolation, MountConfigs alias, NetworkIsolationMode, HealthState)", async () => {
    const m = await import("../../proto/gen/plugins/drivers/proto/driver.ts")
    expect([m.TaskState.UNKNOWN, m.TaskState.RUNNING, m.TaskState.EXITED]).toStrictEqual([0, 1, 2])
    expect([m.DriverCapabilities_FSIsolation.NONE, m.DriverCapabilities_FSIsolation.CHROOT, m.DriverCapabilities_FSIsolation.IMAGE, m.DriverCapabilities_FSIsolation.UNVEIL])
      .toStrictEqual([0, 1, 2, 3])
    expect([m.DriverCapabilities_MountConfigs.ANY_MOUNTS, m.DriverCapabilities_MountConfigs.NO_MOUNTS]).toStrictEqual([0, 1])
    expect([
      m.NetworkIsolationSpec_NetworkIsolationMode.HOST, m.NetworkIsolationSpec_NetworkIsolationMode.GROUP,
      m.NetworkIsolationSpec_NetworkIsolationMode.TASK, m.NetworkIsolationSpec_NetworkIsolationMode.NONE
    ]).toStrictEqual([0, 1, 2, 3])
    expect([m.FingerprintResponse_HealthState.UNDETECTED, m.FingerprintResponse_HealthState.UNHEALTHY, m.FingerprintResponse_HealthState.HEALTHY])
      .toStrictEqual([0, 1, 2])
  })

  it("driver: ExecTaskStreamingResponse exited 3, result 4; StartTaskResponse handle 3, network_override 4; StopTaskRequest timeout is a Duration at 2", async () => {
    const m = await import("../../proto/gen/plugins/drivers/proto/driver.ts")
    expect(tags(m.ExecTaskStreamingResponse.encode(m.ExecTaskStreamingResponse.fromPartial({ exited: true, result: { exitCode: 1 } })).finish()))
      .toStrictEqual([tag(3, 0), tag(4, 2)])
    expect(tags(m.StartTaskResponse.encode(m.StartTaskResponse.fromPartial({ handle: { version: 1 }, networkOverride: { addr: "x" } })).finish()))
      .toStrictEqual([tag(3, 2), tag(4, 2)])
    const stop = m.StopTaskRequest.decode(Uint8Array.from([tag(2, 2), 4, tag(1, 0), 5, tag(2, 0), 7]))
    expect(stop.timeout).toStrictEqual({ seconds: 5n, nanos: 7 })
  })

  it("go-plugin services and health have the paths the client dials", async () => {
    const { GRPCControllerService } = await import("../../proto/gen/plugin/grpc_controller.ts")
    const { GRPCStdioService } = await import("../../proto/gen/plugin/grpc_stdio.ts")
    const { GRPCBrokerService } = await import("../../proto/gen/plugin/grpc_broker.ts")
    const { HealthService } = await import("../../proto/gen/grpc/health/v1/health.ts")
    const { BasePluginService } = await import("../../proto/gen/plugins/base/proto/base.ts")
    const { DriverService } = await import("../../proto/gen/plugins/drivers/proto/driver.ts")
    expect(GRPCControllerService.shutdown.path).toBe("/plugin.GRPCController/Shutdown")
    expect(GRPCStdioService.streamStdio.path).toBe("/plugin.GRPCStdio/StreamStdio")
    expect(GRPCBrokerService.startStream.path).toBe("/plugin.GRPCBroker/StartStream")
    expect(HealthService.check.path).toBe("/grpc.health.v1.Health/Check")
    expect(BasePluginService.setConfig.path).toBe("/hashicorp.nomad.plugins.base.proto.BasePlugin/SetConfig")
    const driverPaths = Object.values(DriverService).map((d) => d.path).sort()
    expect(driverPaths).toStrictEqual([
      "Capabilities", "CreateNetwork", "DestroyNetwork", "DestroyTask", "ExecTask", "ExecTaskStreaming", "Fingerprint", "Init",
      "InspectTask", "RecoverTask", "Shutdown", "SignalTask", "StartTask", "StopTask", "TaskConfigSchema", "TaskEvents",
      "TaskStats", "WaitTask"
    ].map((n) => `/hashicorp.nomad.plugins.drivers.proto.Driver/${n}`).sort())
    expect(DriverService.execTaskStreaming.requestStream && DriverService.execTaskStreaming.responseStream).toBe(true)
    expect(DriverService.waitTask.responseStream).toBe(false)
  })
})
