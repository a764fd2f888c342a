/**
 * Random VALID task configs, translated and CREATED in the real Podman (the sandbox's private
 * service): the container's inspect data must show the translated values (env, labels, memory and
 * CPU limits, user, working dir, hostname, mounts, ports, rlimits, stop signal). Every container is
 * removed in `afterAll`, also when an assertion fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as path from "node:path"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { decodePluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig } from "../../src/domain/TaskConfig.ts"
import { translate } from "../../src/translate/index.ts"
import { type Scenario, scenario } from "../property/arbitraries.ts"
import { libpod, removeContainer } from "../support/libpod.ts"

const SAMPLES = 30
const created: Array<string> = []
let root = ""
let allocDir = ""
let hostDir = ""
let samples: ReadonlyArray<Scenario> = []

beforeAll(() => {
  root = mkdtempSync("/tmp/ndp-translate-")
  allocDir = path.join(root, "alloc-dir")
  hostDir = path.join(root, "host")
  mkdirSync(path.join(allocDir, "alloc", "shared"), { recursive: true })
  mkdirSync(hostDir, { recursive: true })
  // host ports unique across the whole run and above 20000 (containers are only created, but a
  // later start must not collide either)
  let nextPort = 20001 + (process.pid % 200) * 200
  samples = fc.sample(scenario({ forPodman: true, allocDir, hostDirs: [hostDir] }), { seed: 20261128, numRuns: SAMPLES }).map((s) => {
    const allocId = randomUUID() // fresh names every run: no clash with leftovers of an aborted run
    const task = makeNomadTask({
      ...s.task,
      id: `${allocId}/${s.task.name}/${allocId.slice(0, 8)}`,
      allocId,
      resources: { ...s.task.resources, ports: s.task.resources.ports.map((p) => ({ ...p, value: nextPort++ })) }
    })
    for (const d of ["local/conf", "secrets", "data"]) mkdirSync(path.join(allocDir, task.name, d), { recursive: true })
    return { ...s, task }
  })
})

afterAll(async () => {
  const failures: Array<string> = []
  // newest first: a container that joined another's namespace must go before it
  for (const id of [...created].reverse()) {
    try {
      await removeContainer(id)
    } catch (e) {
      failures.push(String(e))
    }
  }
  if (root !== "") rmSync(root, { recursive: true, force: true })
  if (failures.length > 0) throw new Error(failures.join("\n"))
})

const envList = (env: Readonly<Record<string, string>>) => Object.entries(env).map(([k, v]) => `${k}=${v}`)

/** What inspect must show for a spec. */
const checkInspect = (spec: ContainerSpec, inspect: any) => {
  const cfg = inspect.Config
  const host = inspect.HostConfig
  expect(inspect.Name).toBe(spec.name)

  // env: every translated variable (Podman adds its own, e.g. HOSTNAME, container)
  expect(cfg.Env).toEqual(expect.arrayContaining(envList(spec.env)))
  // labels
  expect(cfg.Labels).toMatchObject(spec.labels)
  // user, working dir, hostname
  expect(cfg.User ?? "").toBe(spec.user ?? "")
  if (spec.work_dir !== undefined) expect(cfg.WorkingDir).toBe(spec.work_dir)
  if (spec.hostname !== undefined) expect(cfg.Hostname).toBe(spec.hostname)
  if (spec.command !== undefined) expect(cfg.Cmd).toEqual(spec.command)
  expect(Boolean(cfg.Tty)).toBe(spec.terminal === true)
  expect(Boolean(host.Init)).toBe(spec.init === true)

  // memory and CPU
  const mem = spec.resource_limits?.memory
  expect(host.Memory).toBe(mem?.limit ?? 0)
  expect(host.MemoryReservation).toBe(mem?.reservation ?? 0)
  const cpu = spec.resource_limits?.cpu
  expect(host.CpuShares).toBe(cpu?.shares ?? 0)
  expect(host.CpuQuota).toBe(cpu?.quota ?? 0)
  if (cpu?.period !== undefined) expect(host.CpuPeriod).toBe(cpu.period)
  expect(host.CpusetCpus ?? "").toBe(cpu?.cpus ?? "")
  if (spec.resource_limits?.pids !== undefined) expect(host.PidsLimit).toBe(spec.resource_limits.pids.limit)
  if (spec.oom_score_adj !== undefined) expect(host.OomScoreAdj).toBe(spec.oom_score_adj)

  // rlimits
  for (const r of spec.r_limits ?? []) {
    expect(host.Ulimits).toContainEqual({ Name: `RLIMIT_${r.type.toUpperCase()}`, Soft: r.soft, Hard: r.hard })
  }

  // mounts: every bind at its destination from its source; every tmpfs
  const mounts: Array<any> = inspect.Mounts ?? []
  for (const m of spec.mounts ?? []) {
    if (m.type === "bind") {
      const found = mounts.find((x) => x.Destination === m.destination)
      expect(found, `mount ${m.destination}`).toBeDefined()
      expect(found.Source).toBe(m.source)
      expect(found.RW).toBe(!m.options.includes("ro"))
    } else {
      expect(Object.keys(host.Tmpfs ?? {})).toContain(m.destination)
    }
  }

  // ports (Podman discards them outside bridge mode, with a warning)
  if (spec.netns?.nsmode === "bridge") {
    for (const p of spec.portmappings ?? []) {
      const bindings: Array<any> = host.PortBindings?.[`${p.container_port}/${p.protocol}`] ?? []
      expect(bindings, `${p.container_port}/${p.protocol}`).toContainEqual(expect.objectContaining({ HostPort: String(p.host_port) }))
      if (p.host_ip !== undefined) expect(bindings.some((b) => b.HostIp === p.host_ip)).toBe(true)
    }
  }
  expect(host.NetworkMode).toBe(spec.netns?.nsmode === "none" ? "none" : "bridge")

  if (spec.stop_timeout !== undefined) expect(cfg.StopTimeout).toBe(spec.stop_timeout)
  if (spec.stop_signal !== undefined) expect(cfg.StopSignal).toBe(spec.stop_signal)
}

describe("translated specs in the real Podman", () => {
  it.live(`creates ${SAMPLES} random valid configs and inspect shows the translated values`, () =>
    Effect.gen(function*() {
      expect(samples.length).toBe(SAMPLES)
      let withPorts = 0
      let withVolumes = 0
      for (const s of samples) {
        const config = yield* decodeUnknownTaskConfig(s.config)
        const plugin = yield* decodePluginConfig(s.plugin)
        const spec = yield* translate({ config, task: s.task, plugin, podman: s.podman })
        if ((spec.portmappings ?? []).length > 0) withPorts++
        if (config.volumes.length > 0) withVolumes++
        const res = yield* Effect.promise(() => libpod("POST", "/v4.0.0/libpod/containers/create", spec))
        if (res.status === 201) created.push(res.json.Id)
        expect(res.status, `create ${JSON.stringify(spec)} → ${res.text}`).toBe(201)
        const inspect = yield* Effect.promise(() => libpod("GET", `/v4.0.0/libpod/containers/${res.json.Id}/json`))
        expect(inspect.status).toBe(200)
        checkInspect(spec, inspect.json)
      }
      // the sample must exercise the interesting parts
      expect(withPorts).toBeGreaterThan(3)
      expect(withVolumes).toBeGreaterThan(3)
    }), 180_000)
})

// ---------------------------------------------------------------------------------------------
// Explicit cases that need a started container or a second one
// ---------------------------------------------------------------------------------------------

const facts = { rootless: false, cgroupVersion: "v1", cgroupManager: "cgroupfs", apiVersion: "4.3.1", hostCpus: 1 }

const specFor = (name: string, raw: Record<string, unknown>, task: Partial<Parameters<typeof makeNomadTask>[0]> = {}) =>
  Effect.gen(function*() {
    const config = yield* decodeUnknownTaskConfig({ image: "localhost/busybox:latest", ...raw })
    const plugin = yield* decodePluginConfig({})
    const t = makeNomadTask({ name, allocId: randomUUID(), ...task })
    return yield* translate({ config, task: t, plugin, podman: facts })
  })

const createAndStart = (spec: ContainerSpec, start: boolean) =>
  Effect.gen(function*() {
    const res = yield* Effect.promise(() => libpod("POST", "/v4.0.0/libpod/containers/create", spec))
    if (res.status === 201) created.push(res.json.Id)
    expect(res.status, res.text).toBe(201)
    if (start) {
      const st = yield* Effect.promise(() => libpod("POST", `/v4.0.0/libpod/containers/${res.json.Id}/start`))
      expect(st.status, st.text).toBe(204)
    }
    const inspect = yield* Effect.promise(() => libpod("GET", `/v4.0.0/libpod/containers/${res.json.Id}/json`))
    return inspect.json as any
  })

/** A free address near the top of the sandbox network's subnet (IPAM hands out addresses from the bottom). */
const staticAddress = (network: string) =>
  Effect.gen(function*() {
    const res = yield* Effect.promise(() => libpod("GET", `/v4.0.0/libpod/networks/${network}/json`))
    expect(res.status, res.text).toBe(200)
    const subnet: string = res.json.subnets[0].subnet
    const prefix = subnet.split("/")[0]!.split(".").slice(0, 3).join(".")
    return `${prefix}.${200 + (process.pid % 50)}`
  })

describe("translated specs that need a running container", () => {
  it.live("ports: the allocated host port reaches the container port (TCP)", () =>
    Effect.gen(function*() {
      const hostPort = 20001 + (process.pid % 200) * 200 + 199 // above the sampled ports (at most 4 per sample)
      const spec = yield* specFor("web", { image: "localhost/httpd:latest", ports: ["http"], init: true }, {
        resources: { ports: [{ label: "http", value: hostPort, to: 8080, hostIp: "127.0.0.1" }] }
      })
      yield* createAndStart({ ...spec, image: "localhost/httpd:latest" }, true)
      let body = ""
      for (let i = 0; i < 50 && !body.includes("hello"); i++) {
        body = yield* Effect.promise(() => fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text()).catch(() => ""))
        if (!body.includes("hello")) yield* Effect.sleep("100 millis")
      }
      expect(body).toContain("hello from busybox httpd")
    }), 60_000)

  it.live("a static IP on a named network and on the default network (key `default`)", () =>
    Effect.gen(function*() {
      const network = process.env.SANDBOX_NETWORK
      expect(network, "the sandbox exports SANDBOX_NETWORK").toBeTruthy()
      const ip = yield* staticAddress(network!)
      const named = yield* specFor("netnamed", { network_mode: network, ipv4_address: ip, command: "/bin/sleep", args: ["30"], init: true })
      expect(named.Networks).toEqual({ [network!]: { static_ips: [ip] } })
      const a = yield* createAndStart(named, true)
      expect(a.NetworkSettings.Networks[network!].IPAddress).toBe(ip)
      yield* Effect.promise(() => removeContainer(a.Id))

      const viaDefault = yield* specFor("netdefault", { ipv4_address: ip, command: "/bin/sleep", args: ["30"], init: true })
      expect(viaDefault.Networks).toEqual({ default: { static_ips: [ip] } })
      const b = yield* createAndStart(viaDefault, true)
      expect(b.NetworkSettings.Networks[network!].IPAddress).toBe(ip)
    }), 60_000)

  it.live("ipc_mode task:<sibling> joins the sibling container's IPC namespace", () =>
    Effect.gen(function*() {
      const allocId = randomUUID()
      const first = yield* specFor("ipcowner", { ipc_mode: "shareable", shm_size: "16m", command: "/bin/sleep", args: ["30"], init: true }, { allocId })
      const owner = yield* createAndStart(first, true)
      const second = yield* specFor("ipcguest", { ipc_mode: "task:ipcowner", command: "/bin/sleep", args: ["30"], init: true }, { allocId })
      expect(second.ipcns).toEqual({ nsmode: "container", value: `ipcowner.${allocId}` })
      const guest = yield* createAndStart(second, true)
      expect(guest.HostConfig.IpcMode).toBe(`container:${owner.Id}`)
      expect(owner.HostConfig.ShmSize).toBe(16 * 1048576)
    }), 60_000)
})
