/**
 * Drop-in migration: a task started by the Go nomad-driver-podman keeps running when the operator
 * swaps in this plugin. Nomad hands RecoverTask the Go driver's handle (driver_state = Nomad's msgpack
 * of the Go `TaskState{TaskConfig, ContainerID, StartedAt, Net, LogStreamer}`); the plugin adopts the
 * container and Wait/Stop/Destroy work on it.
 */
import { encode } from "@msgpack/msgpack"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { TaskConfig, TaskHandle, TaskState } from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { call, connect, type PluginClients } from "../support/nomad/clients.ts"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"
import { launchPlugin, type LaunchedPlugin } from "../support/nomad/launch.ts"
import { libpod } from "../support/libpod.ts"
import { containerState, removeContainer } from "../support/nomad/podmanApi.ts"

const PODMAN = process.env.PODMAN_SOCKET ?? ""
const allocId = crypto.randomUUID()
let plugin: LaunchedPlugin
let c: PluginClients
let containerId = ""

/** Creates and starts a container the way the Go driver would (its name, none of our labels). */
const createLikeGoDriver = async (name: string): Promise<string> => {
  const created = await libpod("POST", "/v4.0.0/libpod/containers/create", {
    name,
    image: "localhost/busybox:latest",
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"],
    netns: { nsmode: "none" }
  })
  const id = created.json.Id as string
  await libpod("POST", `/v4.0.0/libpod/containers/${id}/start`)
  // "ready" in its log: the TERM trap is installed (a SIGTERM before that would kill it with 143)
  await expect.poll(async () => (await libpod("GET", `/v4.0.0/libpod/containers/${id}/logs?stdout=true`)).text, { timeout: 10_000 })
    .toContain("ready")
  return id
}

beforeAll(async () => {
  plugin = await launchPlugin({ timeoutMillis: 60_000 })
  c = connect(plugin.handshake.address)
  await call(c.base.setConfig.bind(c.base), {
    // the reaper and image GC stay off: other test files share this Podman
    msgpackConfig: ctyEncode(decodeLikeNomad(pluginConfigSpec, { socket_path: PODMAN, gc: { image: false, dangling_containers: { enabled: false } } })),
    nomadConfig: undefined,
    pluginApiVersion: "v0.1.0"
  })
}, 90_000)

afterAll(async () => {
  c?.close()
  await plugin?.kill()
  if (containerId !== "") await removeContainer(PODMAN, containerId).catch(() => undefined)
}, 60_000)

describe("migration from the Go driver", () => {
  it("RecoverTask adopts a container from a Go driver handle; Wait, Stop and Destroy then work", async () => {
    const name = "legacy"
    containerId = await createLikeGoDriver(`${name}-${allocId}`)
    const config = TaskConfig.fromPartial({
      id: `${allocId}/${name}/0000abcd`,
      name,
      allocId,
      jobName: "legacy",
      jobId: "legacy",
      taskGroupName: "group",
      namespace: "default",
      msgpackDriverConfig: ctyEncode(decodeLikeNomad(taskConfigSpec, { image: "localhost/busybox:latest" }))
    })
    // What the Go driver persisted: Nomad's msgpack of its TaskState struct.
    const goState = encode({
      TaskConfig: { ID: config.id, Name: name, AllocID: allocId, JobName: "legacy" },
      ContainerID: containerId,
      StartedAt: new Date(),
      Net: null,
      LogStreamer: false
    })
    const handle = TaskHandle.fromPartial({ version: 1, config, state: TaskState.RUNNING, driverState: goState })
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle })
    const inspect = await call(c.driver.inspectTask.bind(c.driver), { taskId: config.id })
    expect(inspect.task?.state).toBe(TaskState.RUNNING)
    const wait = call(c.driver.waitTask.bind(c.driver), { taskId: config.id })
    await call(c.driver.stopTask.bind(c.driver), { taskId: config.id, timeout: { seconds: 5n, nanos: 0 }, signal: "SIGTERM" })
    expect((await wait).result?.exitCode).toBe(0)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: config.id, force: true })
    expect(await containerState(PODMAN, containerId)).toBe("gone")
    containerId = ""
  }, 60_000)
})
