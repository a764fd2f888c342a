/**
 * The plugin as a process (runPlugin serving the FAKE Driver): cookie check, handshake line,
 * stdout discipline, hclog stderr, SIGINT ignored, Shutdown / SIGTERM → exit 0 (PROTOCOL.md §1, §9.4 1-3).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { call, callError, connect } from "../support/nomad/clients.ts"
import { launchPlugin, type LaunchedPlugin, REPO_ROOT } from "../support/nomad/launch.ts"
import { spawnSync } from "node:child_process"
import { pathToFileURL } from "node:url"

const entry = path.join(REPO_ROOT, "test/support/nomad/fakePluginMain.ts")
const launched: Array<LaunchedPlugin> = []
const dirs: Array<string> = []

afterEach(async () => {
  for (const p of launched.splice(0)) await p.kill()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const start = async (env: Record<string, string> = {}) => {
  const p = await launchPlugin({ entry, env, timeoutMillis: 30_000 })
  launched.push(p)
  return p
}

describe("plugin process", () => {
  it("refuses to run without the magic cookie: message on stderr, exit 1, nothing on stdout", () => {
    const env = { ...process.env }
    delete env.NOMAD_PLUGIN_MAGIC_COOKIE
    const node = path.join(REPO_ROOT, "node_modules/.bin/node")
    const loader = pathToFileURL(path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs")).href
    const r = spawnSync(node, ["--import", loader, entry], { env, cwd: "/", encoding: "utf8", timeout: 30_000 })
    expect(r.status).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/plugin for Nomad/)
  })

  it("prints 1|2|unix|<abs path>|grpc| first and only; the socket lives in PLUGIN_UNIX_SOCKET_DIR", async () => {
    const dir = mkdtempSync("/tmp/ndp-nrpc-sock-")
    dirs.push(dir)
    const p = await start({ PLUGIN_UNIX_SOCKET_DIR: dir })
    const h = p.handshake
    expect([h.core, h.app, h.network, h.protocol, h.rest]).toStrictEqual(["1", "2", "unix", "grpc", [""]])
    expect(h.raw).toBe(`1|2|unix|${h.address}|grpc|`)
    expect(path.dirname(h.address)).toBe(dir)
    expect(Buffer.byteLength(h.address)).toBeLessThan(108)
    expect(statSync(h.address).isSocket()).toBe(true)
    const c = connect(h.address)
    const info = await call(c.base.pluginInfo.bind(c.base), {})
    expect(info.name).toBe("podman")
    await call(c.driver.capabilities.bind(c.driver), {})
    c.close()
    expect(p.stdout()).toBe(h.raw + "\n")
  })

  it("stderr carries hclog JSON lines with string fields and 6 fractional digits, handler logs included", async () => {
    const p = await start()
    const c = connect(p.handshake.address)
    await call(c.base.pluginInfo.bind(c.base), {})
    // a failing handler logs a warning: it must go to stderr as hclog, never to stdout
    await callError(c.driver.waitTask.bind(c.driver), { taskId: "missing/task/00000000" })
    c.close()
    await new Promise((r) => setTimeout(r, 300))
    expect(p.stdout()).toBe(p.handshake.raw + "\n")
    const lines = p.stderrLines()
    expect(lines.some((l) => JSON.parse(l)["@message"].includes("WaitTask failed"))).toBe(true)
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) {
      const j = JSON.parse(l)
      expect(typeof j["@level"]).toBe("string")
      expect(typeof j["@message"]).toBe("string")
      expect(j["@timestamp"]).toMatch(/\.\d{6}Z$/)
      expect(typeof j["@module"]).toBe("string")
    }
  })

  it("survives its stderr reader going away (agent crash: EPIPE on every log line)", async () => {
    const p = await start()
    p.child.stderr!.destroy()
    p.child.stdout!.destroy()
    const c = connect(p.handshake.address)
    for (let i = 0; i < 5; i++) await callError(c.driver.waitTask.bind(c.driver), { taskId: `missing/task/${i}` })
    await new Promise((r) => setTimeout(r, 300))
    expect(p.child.exitCode).toBeNull()
    expect((await call(c.base.pluginInfo.bind(c.base), {})).name).toBe("podman")
    c.close()
  })

  it("ignores SIGINT", async () => {
    const p = await start()
    p.child.kill("SIGINT")
    await new Promise((r) => setTimeout(r, 500))
    expect(p.child.exitCode).toBeNull()
    const c = connect(p.handshake.address)
    expect((await call(c.base.pluginInfo.bind(c.base), {})).name).toBe("podman")
    c.close()
  })

  it("GRPCController.Shutdown answers, then the process exits 0 within 2 s and removes its socket", async () => {
    const p = await start()
    const c = connect(p.handshake.address)
    const t0 = Date.now()
    await call(c.controller.shutdown.bind(c.controller), {})
    const r = await p.exited
    expect(r).toStrictEqual({ code: 0, signal: null })
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(existsSync(p.handshake.address)).toBe(false)
    c.close()
  })

  it("SIGTERM exits 0 gracefully", async () => {
    const p = await start()
    p.child.kill("SIGTERM")
    expect(await p.exited).toStrictEqual({ code: 0, signal: null })
    expect(existsSync(p.handshake.address)).toBe(false)
  })
})
