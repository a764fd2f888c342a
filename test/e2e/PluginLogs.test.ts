/**
 * End to end, the log path across a plugin crash: the real plugin executable, Nomad's FIFOs read
 * by logmon-like readers (test/support/logmon.ts: one `cat` per FIFO, one copy until EOF, never
 * reopened), the sandbox Podman.
 *
 * The scenario of a plugin crash as Nomad lives it: a task prints numbered lines on both streams;
 * the plugin is SIGKILLed mid-way and relaunched 2 s later; RecoverTask with the handle Nomad
 * kept. The readers must not see EOF at the crash (the task's keeper process still holds the
 * FIFOs), every line must arrive exactly once and in order on each stream (the ones written while
 * no plugin ran, and all later ones), and DestroyTask must end the keeper: the readers see EOF
 * then, and no keeper process is left.
 */
import { Effect } from "effect"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeDriverState } from "../../src/domain/DriverState.ts"
import { pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { wireTaskConfig } from "../support/nomad/wireTask.ts"
import { KEEPER_TAG, LAUNCHER_TAG } from "../../layers/log-sink/keeper.ts"
import { call, connect, type PluginClients } from "../support/nomad/clients.ts"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"
import { launchPlugin, type LaunchedPlugin } from "../support/nomad/launch.ts"
import { containersNamed, containerState, removeContainer } from "../support/nomad/podmanApi.ts"
import { allocLayout, killLogmons, logmon, numbered, numberedTask } from "../support/logmon.ts"
import { makeTempDir, removeDir } from "../support/tmp.ts"

const PODMAN = process.env.PODMAN_SOCKET ?? ""
const allocId = crypto.randomUUID()
const root = makeTempDir("ndp-e2e-logs-")
const allocDir = path.join(root, allocId)
const plugins: Array<LaunchedPlugin> = []

const launch = async () => {
  const p = await launchPlugin({ timeoutMillis: 60_000 })
  plugins.push(p)
  return p
}

const configure = async (cl: PluginClients) => {
  await call(cl.base.setConfig.bind(cl.base), {
    // the reaper and image GC stay off: other test files share this Podman
    msgpackConfig: ctyEncode(decodeLikeNomad(pluginConfigSpec, { socket_path: PODMAN, gc: { image: false, dangling_containers: { enabled: false } } })),
    nomadConfig: { driver: { ClientMinPort: 14000, ClientMaxPort: 14512, Topology: undefined } },
    pluginApiVersion: "v0.1.0"
  })
  await call(cl.driver.init.bind(cl.driver), {})
}

/** The keeper processes (a fork of the launcher, or the sh keeper) holding this FIFO as fd 3. */
const keepersOf = (fifo: string): Array<number> =>
  readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0")
      const keeper = argv.includes(LAUNCHER_TAG) || argv.includes(KEEPER_TAG)
      return keeper && readlinkSync(`/proc/${d}/fd/3`) === fifo ? [Number(d)] : []
    } catch {
      return []
    }
  })

/** Running (a zombie waiting for its reaper counts as ended). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

beforeAll(() => {
  expect(PODMAN, "PODMAN_SOCKET from the test sandbox").not.toBe("")
})

afterAll(async () => {
  for (const p of plugins) await p.kill()
  await killLogmons()
  if (PODMAN !== "") for (const ct of await containersNamed(PODMAN, allocId)) await removeContainer(PODMAN, ct.id)
  removeDir(root)
}, 90_000)

describe("logs across a plugin crash", () => {
  it("SIGKILL, relaunch 2 s later, RecoverTask: every line exactly once on each stream, to readers that never reopen; DestroyTask ends the keeper", async () => {
    let plugin = await launch()
    let c = connect(plugin.handshake.address)
    await configure(c)

    const name = "numbers"
    const fifos = allocLayout(allocDir, name)
    const out = logmon(fifos.stdoutFifo)
    const err = logmon(fifos.stderrFifo)
    const n = 400
    const task = wireTaskConfig({
      id: `${allocId}/${name}/0000000a`,
      name,
      allocId,
      allocDir,
      msgpackDriverConfig: ctyEncode(decodeLikeNomad(taskConfigSpec, {
        image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", numberedTask(n, "0.01")], network_mode: "none"
      })),
      stdoutPath: fifos.stdoutFifo,
      stderrPath: fifos.stderrFifo
    })
    const r = await call(c.driver.startTask.bind(c.driver), { task })
    const state = await Effect.runPromise(decodeDriverState(r.handle!.driverState))
    expect(state.logKeeper, "a keeper was started with the task").toBeDefined()
    // one keeper per task (replaced when it is handed the next Podman log file, not added)
    await out.waitFor(/\nout100\n/)
    const held = keepersOf(fifos.stdoutFifo)
    expect(held).toHaveLength(1)
    const keeper = held[0]!

    c.close()
    await plugin.kill()
    // the crash does not end the readers: the keeper still holds the FIFOs
    expect(alive(keeper)).toBe(true)
    expect(out.ended() || err.ended()).toBe(false)
    // the task keeps printing while no plugin runs (the scenario: a relaunch 2 s later)
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    expect(await containerState(PODMAN, state.containerId)).toBe("running")

    plugin = await launch()
    c = connect(plugin.handshake.address)
    await configure(c)
    // What an agent restart hands back: msgpack_driver_config is not persisted; task_id unset.
    const restored = { ...r.handle!, config: { ...r.handle!.config!, msgpackDriverConfig: new Uint8Array() } }
    await call(c.driver.recoverTask.bind(c.driver), { taskId: "", handle: restored })
    const w = await call(c.driver.waitTask.bind(c.driver), { taskId: task.id })
    expect(w.result?.exitCode).toBe(0)
    await call(c.driver.destroyTask.bind(c.driver), { taskId: task.id, force: false })

    // DestroyTask ended the keeper after the last lines: the readers see EOF now, with everything
    await Promise.all([out.eof, err.eof])
    const lines = (text: string) => text.split("\n").filter((l) => l !== "")
    const dupes = (text: string) => lines(text).length - new Set(lines(text)).size
    expect({ duplicated: dupes(out.text()), missing: n - new Set(lines(out.text())).size }).toStrictEqual({ duplicated: 0, missing: 0 })
    expect({ duplicated: dupes(err.text()), missing: n - new Set(lines(err.text())).size }).toStrictEqual({ duplicated: 0, missing: 0 })
    expect(out.text()).toBe(numbered("out", n))
    expect(err.text()).toBe(numbered("err", n))
    // nothing left behind: no keeper, no container
    expect(alive(keeper)).toBe(false)
    expect(keepersOf(fifos.stdoutFifo)).toStrictEqual([])
    expect(await containerState(PODMAN, state.containerId)).toBe("gone")
    c.close()
  }, 240_000)
})
