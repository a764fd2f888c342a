/**
 * End to end: the real plugin executable launched as Nomad launches it (test/support/nomad/launch.ts),
 * driven over gRPC with the generated clients, against the sandbox Podman (PODMAN_SOCKET).
 *
 * PluginInfo → ConfigSchema → SetConfig → TaskConfigSchema → Capabilities → Fingerprint →
 * StartTask (logs through logmon-like FIFOs) → InspectTask → TaskStats → SignalTask → ExecTask →
 * ExecTaskStreaming (tty) → StopTask → DestroyTask; SIGKILL of the plugin leaves the container
 * running and a relaunched plugin recovers it; GRPCController.Shutdown exits 0 and leaves tasks
 * running; a bad task config is InvalidArgument naming the field and leaves nothing behind.
 */
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeDriverState } from "../../src/domain/DriverState.ts"
import { pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { hclSpecToProto } from "../../layers/nomad-rpc/codec.ts"
import {
  ExecTaskStreamingRequest, FingerprintResponse_HealthState, type TaskHandle, TaskConfig, TaskState
} from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { PluginType } from "../../proto/gen/plugins/base/proto/base.ts"
import { call, callError, connect, type PluginClients, recoverableDetail } from "../support/nomad/clients.ts"
import { collectDuplex, follow, staysOpenFor, streamOutcome, take } from "../support/nomad/grpcStreams.ts"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { type FifoReader, openFifo } from "../support/nomad/fifo.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"
import { launchPlugin, type LaunchedPlugin, pluginCommand } from "../support/nomad/launch.ts"
import { makeAllocDirs, wireTaskConfig } from "../support/nomad/wireTask.ts"
import { containersNamed, containerState, removeContainer } from "../support/nomad/podmanApi.ts"
import { makeTempDir, removeDir } from "../support/tmp.ts"

const PODMAN = process.env.PODMAN_SOCKET ?? ""
const allocId = crypto.randomUUID()
const root = makeTempDir("ndp-e2e-")
const allocDir = path.join(root, allocId)
const plugins: Array<LaunchedPlugin> = []
const fifos: Array<FifoReader> = []
let plugin: LaunchedPlugin
let c: PluginClients

const launch = async () => {
  const p = await launchPlugin({ timeoutMillis: 60_000 })
  plugins.push(p)
  return p
}

const setConfig = (cl: PluginClients, withNomadConfig = true) =>
  call(cl.base.setConfig.bind(cl.base), {
    // the reaper and image GC stay off: other test files share this Podman
    msgpackConfig: ctyEncode(decodeLikeNomad(pluginConfigSpec, { socket_path: PODMAN, gc: { image: false, dangling_containers: { enabled: false } } })),
    nomadConfig: withNomadConfig ? { driver: { ClientMinPort: 14000, ClientMaxPort: 14512, Topology: undefined } } : undefined,
    pluginApiVersion: "v0.1.0"
  })

let seq = 0
const makeTask = (name: string, config: Record<string, unknown>, logs = false): TaskConfig => {
  const id = `${allocId}/${name}/${(++seq).toString(16).padStart(8, "0")}`
  let stdoutPath = ""
  let stderrPath = ""
  makeAllocDirs(allocDir, name)
  if (logs) {
    const dir = path.join(allocDir, "alloc", "logs")
    const out = openFifo(path.join(dir, `.${name}.stdout.fifo`))
    const err = openFifo(path.join(dir, `.${name}.stderr.fifo`))
    fifos.push(out, err)
    stdoutPath = out.path
    stderrPath = err.path
  }
  return wireTaskConfig({
    id,
    name,
    allocId,
    allocDir,
    msgpackDriverConfig: ctyEncode(decodeLikeNomad(taskConfigSpec, config)),
    stdoutPath,
    stderrPath
  })
}

const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const containerIdOf = async (handle: TaskHandle) => (await Effect.runPromise(decodeDriverState(handle.driverState))).containerId

beforeAll(async () => {
  expect(PODMAN, "PODMAN_SOCKET from the test sandbox").not.toBe("")
  process.stderr.write(`e2e plugin command: ${pluginCommand().join(" ")}\n`)
  plugin = await launch()
  c = connect(plugin.handshake.address)
}, 90_000)

afterAll(async () => {
  c?.close()
  for (const p of plugins) await p.kill()
  for (const f of fifos) f.close()
  if (PODMAN !== "") for (const ct of await containersNamed(PODMAN, allocId)) await removeContainer(PODMAN, ct.id)
  removeDir(root)
}, 90_000)

// The traps come first: "hello-stdout" on the task's log means they are installed (the tests that
// signal the task wait for it).
const LOOP = "trap 'echo got-usr1' USR1; trap 'echo got-int; exit 130' INT; " +
  "echo hello-stdout; echo hello-stderr >&2; while true; do sleep 0.2; done"

describe("plugin end to end", () => {
  let handle: TaskHandle
  let containerId: string

  it("handshake, PluginInfo, ConfigSchema", async () => {
    expect(plugin.handshake.raw).toBe(`1|2|unix|${plugin.handshake.address}|grpc|`)
    const info = await call(c.base.pluginInfo.bind(c.base), {})
    expect(info.type).toBe(PluginType.DRIVER)
    expect(info.pluginApiVersions).toStrictEqual(["v0.1.0"])
    expect(info.name).toBe("podman")
    expect(info.pluginVersion).toMatch(/^\d+\.\d+\.\d+/)
    const schema = await call(c.base.configSchema.bind(c.base), {})
    expect(schema.spec).toEqual(hclSpecToProto(pluginConfigSpec))
  })

  it("SetConfig (validation launch twice, then with nomad_config), TaskConfigSchema, Capabilities", async () => {
    await setConfig(c, false)
    await setConfig(c, false)
    await setConfig(c, true)
    await call(c.driver.init.bind(c.driver), {})
    const ts = await call(c.driver.taskConfigSchema.bind(c.driver), {})
    expect(ts.spec?.object?.attributes.image).toBeDefined()
    const caps = await call(c.driver.capabilities.bind(c.driver), {})
    expect(caps.capabilities?.sendSignals).toBe(true)
    expect(caps.capabilities?.exec).toBe(true)
  })

  it("Fingerprint: HEALTHY first message, stream stays open", async () => {
    const [f] = await take(c.driver.fingerprint({}), 1, 15_000)
    expect(f!.err).toBe("")
    expect(f!.health).toBe(FingerprintResponse_HealthState.HEALTHY)
    expect(Object.keys(f!.attributes).some((k) => k.startsWith("driver.podman"))).toBe(true)
  })

  it("StartTask: handle echoes the config; logs arrive on the right FIFO", async () => {
    const task = makeTask("web", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] }, true)
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    handle = r.handle!
    expect(handle.version).toBeGreaterThanOrEqual(1)
    expect(handle.state).toBe(TaskState.RUNNING)
    expect(handle.config?.id).toBe(task.id)
    containerId = await containerIdOf(handle)
    expect(await containerState(PODMAN, containerId)).toBe("running")
    const [out, err] = fifos.slice(-2)
    await out!.waitFor(/hello-stdout/)
    await err!.waitFor(/hello-stderr/)
    expect(out!.text()).not.toMatch(/hello-stderr/)
  }, 90_000)

  it("InspectTask: RUNNING with both timestamps and a result", async () => {
    const r = await call(c.driver.inspectTask.bind(c.driver), { taskId: handle.config!.id })
    expect(r.task?.state).toBe(TaskState.RUNNING)
    expect(r.task?.startedAt?.seconds).toBeGreaterThan(1_700_000_000)
    expect(r.task?.completedAt).toBeDefined()
    expect(r.task?.result).toBeDefined()
  })

  it("TaskStats: a first sample quickly, with timestamp and aggregate usage", async () => {
    const t0 = Date.now()
    const [s] = await take(c.driver.taskStats({ taskId: handle.config!.id, collectionInterval: { seconds: 10n, nanos: 0 } }), 1, 15_000)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(s!.stats?.timestamp?.seconds).toBeGreaterThan(1_700_000_000)
    expect(s!.stats?.aggResourceUsage?.memory).toBeDefined()
    expect(s!.stats?.aggResourceUsage?.cpu).toBeDefined()
  })

  it("SignalTask: SIGUSR1 reaches the task; an unknown signal is an error", async () => {
    await call(c.driver.signalTask.bind(c.driver), { taskId: handle.config!.id, signal: "SIGUSR1" })
    await fifos.at(-2)!.waitFor(/got-usr1/)
    const e = await callError(c.driver.signalTask.bind(c.driver), { taskId: handle.config!.id, signal: "FOO" })
    expect(e.code).not.toBe(grpc.status.OK)
  })

  it("ExecTask: output and exit code", async () => {
    const r = await call(c.driver.execTask.bind(c.driver), {
      taskId: handle.config!.id, command: ["/bin/sh", "-c", "echo exec-out; exit 3"], timeout: { seconds: 10n, nanos: 0 }
    })
    expect(Buffer.from(r.stdout).toString()).toMatch(/exec-out/)
    expect(r.result?.exitCode).toBe(3)
  })

  it("ExecTaskStreaming with a tty: resize applies, exited + result last, status OK", async () => {
    const s = c.driver.execTaskStreaming()
    const { done, messages: out } = collectDuplex<ExecTaskStreamingRequest, any>(s)
    s.write(ExecTaskStreamingRequest.fromPartial({ setup: { taskId: handle.config!.id, command: ["/bin/sh", "-c", "sleep 1; stty size"], tty: true } }))
    s.write(ExecTaskStreamingRequest.fromPartial({ ttySize: { height: 50, width: 40 } }))
    s.write(ExecTaskStreamingRequest.fromPartial({ ttySize: { height: 100, width: 100 } }))
    await done
    const text = out.filter((m) => m.stdout).map((m) => Buffer.from(m.stdout.data).toString()).join("")
    expect(text).toMatch(/100 100\r\n/)
    const last = out.at(-1)
    expect(last.exited).toBe(true)
    expect(last.result?.exitCode).toBe(0)
  }, 30_000)

  // The ExecTaskStreaming conformance table of Nomad's driver harness (plugins/drivers/testutils in the Nomad sources).
  const execCases: Array<{
    name: string
    tty: boolean
    cmd: string
    stdin?: string
    closeStdin?: boolean
    /** stdin data and close in a single message */
    stdinAndClose?: boolean
    stdout?: RegExp | string
    stderr?: RegExp | string
    exit: number
  }> = [
    { name: "notty: basic", tty: false, cmd: "echo hello stdout; echo hello stderr >&2; exit 43", stdout: "hello stdout\n", stderr: "hello stderr\n", exit: 43 },
    { name: "notty: streaming", tty: false, cmd: "for n in 1 2 3; do echo $n; sleep 1; done", stdout: "1\n2\n3\n", exit: 0 },
    { name: "notty: stty check", tty: false, cmd: "stty size", stderr: /stty: .?standard input.?: (Inappropriate ioctl for device|Not a tty)\n/, exit: 1 },
    { name: "notty: stdin passing", tty: false, cmd: "echo hello from command; cat", stdin: "hello from stdin\n", closeStdin: true, stdout: "hello from command\nhello from stdin\n", exit: 0 },
    { name: "notty: stdin data and close in one message", tty: false, cmd: "cat", stdin: "one message\n", stdinAndClose: true, stdout: "one message\n", exit: 0 },
    { name: "tty: basic", tty: true, cmd: "echo hello stdout; echo hello stderr >&2; exit 43", stdout: "hello stdout\r\nhello stderr\r\n", exit: 43 },
    { name: "tty: streaming", tty: true, cmd: "for n in 1 2 3; do echo $n; sleep 1; done", stdout: "1\r\n2\r\n3\r\n", exit: 0 },
    { name: "tty: stdin passing", tty: true, cmd: "head -n1", stdin: "hello from stdin\n", stdout: "hello from stdin\r\nhello from stdin\r\n", exit: 0 },
    { name: "tty: children processes", tty: true, cmd: "(sleep 3600 >/dev/null 2>&1 &); echo from main", stdout: "from main\r\n", exit: 0 }
  ]
  for (const tc of execCases) {
    it(`ExecTaskStreaming conformance: ${tc.name}`, async () => {
      const s = c.driver.execTaskStreaming()
      const { done, messages: out } = collectDuplex<ExecTaskStreamingRequest, any>(s)
      s.write(ExecTaskStreamingRequest.fromPartial({ setup: { taskId: handle.config!.id, command: ["/bin/sh", "-c", tc.cmd], tty: tc.tty } }))
      if (tc.stdin !== undefined) s.write(ExecTaskStreamingRequest.fromPartial({ stdin: { data: Buffer.from(tc.stdin), close: tc.stdinAndClose === true } }))
      if (tc.closeStdin) s.write(ExecTaskStreamingRequest.fromPartial({ stdin: { data: new Uint8Array(), close: true } }))
      await done
      const text = (k: "stdout" | "stderr") => out.filter((m) => m[k]?.data?.length).map((m) => Buffer.from(m[k].data).toString()).join("")
      if (tc.stdout !== undefined) expect(text("stdout")).toMatch(typeof tc.stdout === "string" ? new RegExp(`^${escape(tc.stdout)}$`) : tc.stdout)
      if (tc.stderr !== undefined) expect(text("stderr")).toMatch(typeof tc.stderr === "string" ? new RegExp(`^${escape(tc.stderr)}$`) : tc.stderr)
      const last = out.at(-1)
      expect(last.exited).toBe(true)
      expect(last.result?.exitCode).toBe(tc.exit)
    }, 30_000)
  }

  it("StopTask with a signal ends the task; every WaitTask answers; DestroyTask removes the container", async () => {
    const id = handle.config!.id
    const waits = [call(c.driver.waitTask.bind(c.driver), { taskId: id }), call(c.driver.waitTask.bind(c.driver), { taskId: id })]
    await call(c.driver.stopTask.bind(c.driver), { taskId: id, timeout: { seconds: 5n, nanos: 0 }, signal: "SIGINT" })
    for (const w of await Promise.all(waits)) {
      expect(w.result?.exitCode === 130 || w.result?.signal === 2).toBe(true)
    }
    const after = await call(c.driver.inspectTask.bind(c.driver), { taskId: id })
    expect(after.task?.state).toBe(TaskState.EXITED)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: id, force: true })
    expect(await containerState(PODMAN, containerId)).toBe("gone")
  }, 60_000)

  it("a bad task config is InvalidArgument naming the field, and leaves no container", async () => {
    const task = makeTask("bad", { image: "localhost/busybox:latest", shm_size: "lots" })
    const e = await callError(c.driver.startTask.bind(c.driver), { task })
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(e.details).toMatch(/shm_size/)
    expect(await containersNamed(PODMAN, `bad.${allocId}`)).toStrictEqual([])
  })

  it("reattach (agent crash): a new connection without SetConfig keeps the config; a short task exits 0", async () => {
    c.close()
    c = connect(plugin.handshake.address)
    expect((await call(c.base.pluginInfo.bind(c.base), {})).name).toBe("podman")
    await call(c.driver.init.bind(c.driver), {})
    const task = makeTask("short", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "echo done; exit 0"] })
    await call(c.driver.startTask.bind(c.driver), { task })
    const w = await call(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    expect(w.result).toStrictEqual({ exitCode: 0, signal: 0, oomKilled: false })
    expect(w.err).toBe("")
    // after exit, WaitTask answers again immediately until DestroyTask
    expect((await call(c.driver.waitTask.bind(c.driver), { taskId: task.id })).result?.exitCode).toBe(0)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
    const gone = await callError(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    expect(gone.code).toBe(grpc.status.NOT_FOUND)
  }, 60_000)

  it("an unreachable registry is a recoverable start error (RecoverableError detail, matching code)", async () => {
    const task = makeTask("unreach", { image: "127.0.0.1:9/nothing/here:latest", image_pull_timeout: "10s" })
    const e = await callError(c.driver.startTask.bind(c.driver), { task })
    expect(e.code).not.toBe(grpc.status.UNAVAILABLE)
    expect(recoverableDetail(e)).toStrictEqual({ code: e.code, recoverable: true, message: e.details })
    expect(await containersNamed(PODMAN, `unreach.${allocId}`)).toStrictEqual([])
  }, 60_000)

  it("SIGKILL of the plugin leaves the container running; a relaunched plugin recovers, waits, stops and destroys it", async () => {
    const task = makeTask("survivor", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] }, true)
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    const id = await containerIdOf(r.handle!)
    await fifos.at(-2)!.waitFor(/hello-stdout/) // its INT trap is installed
    c.close()
    const pid = plugin.child.pid!
    await plugin.kill()
    // the plugin process itself is gone (no wrapper left a child behind)
    expect(() => process.kill(pid, 0)).toThrow()
    // and the container runs on (the SIGINT below ends it with its trap's exit code)
    expect(await containerState(PODMAN, id)).toBe("running")

    plugin = await launch()
    c = connect(plugin.handshake.address)
    await setConfig(c)
    await call(c.driver.init.bind(c.driver), {})
    // What an agent restart hands back: msgpack_driver_config is not persisted; task_id unset.
    const restored = { ...r.handle!, config: { ...r.handle!.config!, msgpackDriverConfig: new Uint8Array() } }
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle: restored })
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle: restored })
    const wait = call(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    await call(c.driver.stopTask.bind(c.driver), { taskId: task.id, timeout: { seconds: 5n, nanos: 0 }, signal: "SIGINT" })
    const w = await wait
    expect(w.result?.exitCode === 130 || w.result?.signal === 2).toBe(true)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: true })
    expect(await containerState(PODMAN, id)).toBe("gone")
  }, 120_000)

  it("GRPCController.Shutdown: exit 0 within 2 s, running tasks keep running", async () => {
    const task = makeTask("keeper", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] })
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    const id = await containerIdOf(r.handle!)
    const t0 = Date.now()
    await call(c.controller.shutdown.bind(c.controller), {}).catch(() => undefined)
    const exit = await plugin.exited
    expect(exit).toStrictEqual({ code: 0, signal: null })
    expect(Date.now() - t0).toBeLessThan(2500)
    expect(await containerState(PODMAN, id)).toBe("running")
    c.close()
    await removeContainer(PODMAN, id)
  }, 60_000)
})

// Per-RPC semantics that Nomad's Go client and its driver harness rely on.
describe("plugin conformance details", () => {
  let p: LaunchedPlugin
  let d: PluginClients

  beforeAll(async () => {
    p = await launch()
    d = connect(p.handshake.address)
    await setConfig(d)
    await call(d.driver.init.bind(d.driver), {})
  }, 90_000)

  afterAll(() => {
    d?.close()
  })

  it("an unknown task id: every per-task RPC fails NOT_FOUND with Go's text", async () => {
    const taskId = `${allocId}/nobody/00000000`
    const errors = [
      await callError(d.driver.waitTask.bind(d.driver), { taskId }),
      await callError(d.driver.stopTask.bind(d.driver), { taskId, timeout: { seconds: 1n, nanos: 0 }, signal: "" }),
      await callError(d.driver.destroyTask.bind(d.driver), { taskId, force: true }),
      await callError(d.driver.inspectTask.bind(d.driver), { taskId }),
      await callError(d.driver.signalTask.bind(d.driver), { taskId, signal: "SIGHUP" }),
      await callError(d.driver.execTask.bind(d.driver), { taskId, command: ["true"], timeout: undefined })
    ]
    const stats = await streamOutcome(d.driver.taskStats({ taskId, collectionInterval: { seconds: 1n, nanos: 0 } }), 10_000)
    for (const e of [...errors.map((x) => ({ code: x.code, details: x.details })), stats]) {
      expect(e).toMatchObject({ code: grpc.status.NOT_FOUND, details: "task not found for given id" })
    }
  })

  it("StopTask(timeout 0) kills at once even if the task ignores the signal; returns after exit", async () => {
    const task = makeTask("stubborn", {
      image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "trap '' TERM INT; echo ready; while true; do sleep 0.2; done"]
    }, true)
    await call(d.driver.startTask.bind(d.driver), { task })
    await fifos.at(-2)!.waitFor(/ready/) // the signal is ignored from here on
    const wait = call(d.driver.waitTask.bind(d.driver), { taskId: task.id })
    const t0 = Date.now()
    await call(d.driver.stopTask.bind(d.driver), { taskId: task.id, timeout: { seconds: 0n, nanos: 0 }, signal: "" })
    expect(Date.now() - t0).toBeLessThan(5000)
    // StopTask returns after the exit: InspectTask already says EXITED
    const status = await call(d.driver.inspectTask.bind(d.driver), { taskId: task.id })
    expect(status.task?.state).toBe(TaskState.EXITED)
    const w = await wait
    expect(w.result?.exitCode).not.toBe(0)
    expect(w.result?.signal).toBe(9)
    // StopTask again on the exited task is OK
    await call(d.driver.stopTask.bind(d.driver), { taskId: task.id, timeout: { seconds: 5n, nanos: 0 }, signal: "SIGTERM" })
    await call(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: true })
  }, 60_000)

  it("TaskStats: first sample at once, then the stream ends OK when the task exits", async () => {
    const task = makeTask("statsend", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] })
    await call(d.driver.startTask.bind(d.driver), { task })
    const stream = d.driver.taskStats({ taskId: task.id, collectionInterval: { seconds: 1n, nanos: 0 } })
    const { firstMessage, ended } = follow(stream, 30_000)
    await firstMessage // the stream is flowing: now the task exits
    await call(d.driver.stopTask.bind(d.driver), { taskId: task.id, timeout: { seconds: 0n, nanos: 0 }, signal: "SIGKILL" })
    const r = await ended
    expect(r.code).toBe(grpc.status.OK)
    expect(r.messages.length).toBeGreaterThanOrEqual(1)
    for (const m of r.messages) {
      expect(m.stats?.timestamp).toBeDefined()
      expect(m.stats?.aggResourceUsage?.cpu).toBeDefined()
      expect(m.stats?.aggResourceUsage?.memory).toBeDefined()
    }
    await call(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: true })
  }, 60_000)

  it("natural exit: WaitTask result + empty err, InspectTask EXITED with real timestamps and result, DestroyTask(force=false) OK", async () => {
    const task = makeTask("exit3", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "sleep 1; exit 3"] })
    await call(d.driver.startTask.bind(d.driver), { task })
    const w = await call(d.driver.waitTask.bind(d.driver), { taskId: task.id })
    expect(w.result).toStrictEqual({ exitCode: 3, signal: 0, oomKilled: false })
    expect(w.err).toBe("")
    const s = await call(d.driver.inspectTask.bind(d.driver), { taskId: task.id })
    expect(s.task?.state).toBe(TaskState.EXITED)
    expect(s.task?.result?.exitCode).toBe(3)
    const started = s.task!.startedAt!.seconds
    const completed = s.task!.completedAt!.seconds
    expect(started).toBeGreaterThan(1_700_000_000)
    expect(completed).toBeGreaterThanOrEqual(started)
    await call(d.driver.stopTask.bind(d.driver), { taskId: task.id, timeout: { seconds: 5n, nanos: 0 }, signal: "" })
    await call(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: false })
    expect((await callError(d.driver.inspectTask.bind(d.driver), { taskId: task.id })).code).toBe(grpc.status.NOT_FOUND)
  }, 60_000)

  it("DestroyTask: force=false on a running task fails; force=true kills it and answers a pending WaitTask", async () => {
    const task = makeTask("destroyme", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] })
    const r = await call(d.driver.startTask.bind(d.driver), { task })
    const id = await containerIdOf(r.handle!)
    const wait = call(d.driver.waitTask.bind(d.driver), { taskId: task.id })
    const e = await callError(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: false })
    expect(e.code).not.toBe(grpc.status.UNAVAILABLE)
    expect(e.code).not.toBe(grpc.status.CANCELLED)
    await call(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: true })
    const w = await wait
    expect(w.result).toBeDefined()
    expect(await containerState(PODMAN, id)).toBe("gone")
  }, 60_000)

  it("ExecTask: a failing command still has a result, a non-zero exit code and its error text", async () => {
    const task = makeTask("execfail", { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", LOOP] })
    await call(d.driver.startTask.bind(d.driver), { task })
    const r = await call(d.driver.execTask.bind(d.driver), {
      taskId: task.id, command: ["/bin/ls", "/does-not-exist"], timeout: { seconds: 10n, nanos: 0 }
    })
    expect(r.result).toBeDefined()
    expect(r.result!.exitCode).not.toBe(0)
    expect(Buffer.concat([Buffer.from(r.stdout), Buffer.from(r.stderr)]).toString()).toMatch(/does-not-exist/)
    await call(d.driver.stopTask.bind(d.driver), { taskId: task.id, timeout: { seconds: 0n, nanos: 0 }, signal: "" })
    await call(d.driver.destroyTask.bind(d.driver), { taskId: task.id, force: true })
  }, 60_000)

  it("TaskEvents and Fingerprint streams stay open (ending OK would make the client reopen them in a hot loop)", async () => {
    const events = d.driver.taskEvents({})
    const fingerprint = d.driver.fingerprint({})
    const [eventsOpen, fingerprintOpen] = await Promise.all([staysOpenFor(events, 3000), staysOpenFor(fingerprint, 3000)])
    expect(eventsOpen).toBe(true)
    expect(fingerprintOpen).toBe(true)
  }, 30_000)
})
