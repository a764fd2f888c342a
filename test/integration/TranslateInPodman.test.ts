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
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
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
  let nextPort = 20001 + (process.pid % 200) * 100
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
  for (const id of created) {
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
        const config = yield* decodeTaskConfig(s.config)
        const plugin = yield* decodePluginConfig(s.plugin)
        const spec = yield* translate({ config, task: s.task, plugin, podman: s.podman, image: "localhost/busybox:latest" })
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
