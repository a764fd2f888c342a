/**
 * Properties of the config decoder and the translation over random VALID scenarios (and random
 * junk): totality, env/labels/resources/ports mapping exactly, the volumes policy, the hclspec's
 * well-formedness, decoding the shapes Nomad sends, and `decode(encode(decode(x))) == decode(x)`
 * (the driver stores the encoded config and decodes it again on recovery).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { parse as parseHcl } from "@cdktf/hcl2json"
import fc from "fast-check"
import * as path from "node:path"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import type { HclSpec } from "../../src/domain/hclspec.ts"
import type { NomadTask } from "../../src/domain/NomadTask.ts"
import { decodePluginConfig, pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, encodeTaskConfig, taskConfigSpec, type TaskConfig } from "../../src/domain/TaskConfig.ts"
import { parseBytes } from "../../src/domain/values/sizes.ts"
import { type PodmanFacts, translate, translateSync } from "../../src/translate/index.ts"
import { nomadShaped, nomadTask, type Scenario, scenario } from "./arbitraries.ts"

const RUNS = { numRuns: 300 }
const MiB = 1048576

const decodeOk = (raw: unknown): TaskConfig => Effect.runSync(decodeUnknownTaskConfig(raw))

const run = (s: Scenario, overrides: { plugin?: Record<string, unknown> } = {}) => {
  const config = decodeOk(s.config)
  const plugin = Effect.runSync(decodePluginConfig({ ...s.plugin, ...overrides.plugin }))
  return { config, plugin, result: translateSync({ config, task: s.task, plugin, podman: s.podman }) }
}
const specOf = (s: Scenario): ContainerSpec => {
  const { result } = run(s)
  if (!("spec" in result)) throw new Error(`valid scenario rejected: ${JSON.stringify(result.issues)}`)
  return result.spec
}

describe("decoding", () => {
  it("every valid config decodes, and the Nomad-shaped variants decode to the same value", () => {
    fc.assert(
      fc.property(
        scenario().chain((s) => nomadShaped(s.config).map((shaped) => [s.config, shaped] as const)),
        ([canonical, shaped]) => {
          expect(decodeOk(shaped)).toEqual(decodeOk(canonical))
        }
      ),
      RUNS
    )
  })

  it("decode(encode(decode(x))) == decode(x), also through JSON (the DriverState round trip)", () => {
    fc.assert(
      fc.property(scenario().chain((s) => nomadShaped(s.config)), (raw) => {
        const once = decodeOk(raw)
        const encoded = encodeTaskConfig(once)
        expect(decodeOk(encoded)).toEqual(once)
        expect(decodeOk(JSON.parse(JSON.stringify(encoded)))).toEqual(once)
        // and encoding is stable: the stored form of a stored form is itself
        expect(encodeTaskConfig(decodeOk(encoded))).toEqual(encoded)
      }),
      RUNS
    )
  })

  it("random junk never throws: it decodes or fails with InvalidTaskConfig issues that name a field", () => {
    const junkValue = fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.array(fc.anything(), { maxLength: 3 }))
    const keys = Object.keys((taskConfigSpec as { attributes: Record<string, unknown> }).attributes)
    const junkConfig = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.constantFrom(...keys, "bogus"), junkValue, { maxKeys: 8 }),
      fc.dictionary(fc.constantFrom(...keys), junkValue, { maxKeys: 8 }).map((d) => ({ image: "x/y", ...d }))
    )
    fc.assert(
      fc.property(junkConfig, (raw) => {
        const exit = Effect.runSyncExit(decodeUnknownTaskConfig(raw))
        if (Exit.isFailure(exit)) {
          const err = Cause.findErrorOption(exit.cause)
          expect(err._tag).toBe("Some")
          if (err._tag === "Some") {
            expect(err.value._tag).toBe("InvalidTaskConfig")
            for (const i of err.value.issues) expect(i.field.length).toBeGreaterThan(0)
          }
        }
      }),
      { numRuns: 1000 }
    )
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const exit = Effect.runSyncExit(decodePluginConfig(raw))
        if (Exit.isFailure(exit)) expect(Cause.findErrorOption(exit.cause)._tag).toBe("Some")
      }),
      { numRuns: 500 }
    )
  })
})

describe("translation", () => {
  it("accepts every valid scenario", () => {
    fc.assert(fc.property(scenario(), (s) => void specOf(s)), RUNS)
  })

  it("is total: random junk configs × random tasks give a spec or a typed InvalidTaskConfig, never a throw or an internal error", () => {
    const junk = fc.dictionary(
      fc.constantFrom("volumes", "tmpfs", "ports", "port_map", "ulimit", "security_opt", "userns", "ipc_mode", "network_mode", "shm_size", "memory_reservation", "memory_swap", "devices", "extra_hosts", "kill_signal", "stop_timeout", "static_ips", "ipv4_address", "cpu_cfs_period", "cpu_hard_limit", "logging", "entrypoint"),
      fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), fc.integer(), fc.boolean()),
      { maxKeys: 6 }
    )
    fc.assert(
      fc.property(nomadTask(), junk, ({ task, podman }, raw) => {
        const decoded = Effect.runSyncExit(decodeUnknownTaskConfig({ image: "x/y", ...raw }))
        if (Exit.isFailure(decoded)) return
        const plugin = Effect.runSync(decodePluginConfig({}))
        const exit = Effect.runSyncExit(translate({ config: decoded.value, task, plugin, podman }))
        if (Exit.isFailure(exit)) {
          const err = Cause.findErrorOption(exit.cause)
          expect(err._tag).toBe("Some")
          if (err._tag === "Some") {
            expect(err.value._tag).toBe("InvalidTaskConfig")
            for (const i of err.value.issues) expect(i.field).not.toBe("(config)")
          }
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("every Nomad env var reaches the spec (port_map only adds NOMAD_PORT_*)", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const spec = specOf(s)
        for (const [k, v] of Object.entries(s.task.env)) expect(spec.env[k]).toBe(v)
        for (const k of Object.keys(spec.env)) expect(k in s.task.env || k.startsWith("NOMAD_PORT_")).toBe(true)
      }),
      RUNS
    )
  })

  it("always carries the Nomad identity labels and every task label", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const spec = specOf(s)
        const t = s.task
        expect(spec.labels).toMatchObject({
          "com.hashicorp.nomad.podman.alloc_id": t.allocId,
          "com.hashicorp.nomad.task_name": t.name,
          "com.hashicorp.nomad.task_group_name": t.taskGroupName,
          "com.hashicorp.nomad.job_name": t.jobName,
          "com.hashicorp.nomad.job_id": t.jobId,
          "com.hashicorp.nomad.namespace": t.namespace
        })
        for (const [k, v] of Object.entries(s.config.labels as Record<string, string>)) expect(spec.labels[k]).toBe(v)
        expect(spec.name).toBe(`${t.name}.${t.allocId}`)
      }),
      RUNS
    )
  })

  it("memory maps exactly: plain, memory_max oversubscription, memory_max = -1", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const spec = specOf(s)
        const { memoryMb, memoryMaxMb } = s.task.resources
        const reservation = typeof s.config.memory_reservation === "string" ? parseBytes(s.config.memory_reservation) : undefined
        const memory = memoryMb * MiB
        let limit: number | undefined
        let soft: number | undefined
        if (memoryMaxMb > 0) {
          limit = memoryMaxMb * MiB
          soft = reservation !== undefined && reservation < memory ? reservation : memory
        } else if (memoryMaxMb === -1) {
          soft = reservation !== undefined && reservation < memory ? reservation : memory
        } else {
          limit = memory
          soft = reservation
        }
        const m = spec.resource_limits?.memory
        expect(m?.limit).toBe(limit)
        expect(m?.reservation).toBe(soft)
        if (limit !== undefined && soft !== undefined) expect(soft).toBeLessThanOrEqual(limit)
        const swap = s.config.memory_swap
        expect(m?.swap).toBe(swap === "-1" ? -1 : typeof swap === "string" ? parseBytes(swap) : undefined)
        expect(m?.swappiness).toBe(s.podman.cgroupVersion === "v1" ? s.config.memory_swappiness : undefined)
        expect(spec.oom_score_adj).toBe(s.config.oom_score_adj)
      }),
      RUNS
    )
  })

  it("cpu maps exactly: shares (rootful), cpuset, hard limit quota/period", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const cpu = specOf(s).resource_limits?.cpu
        const r = s.task.resources
        expect(cpu?.shares).toBe(s.podman.rootless ? undefined : r.cpuShares)
        expect(cpu?.cpus).toBe(r.cpusetCpus === "" ? undefined : r.cpusetCpus)
        if (s.config.cpu_hard_limit === true) {
          const requested = (s.config.cpu_cfs_period as number | undefined) ?? 0
          const period = requested === 0 ? 100_000 : Math.max(1000, requested)
          expect(cpu?.period).toBe(period)
          expect(cpu?.quota).toBe(Math.max(1000, Math.floor(r.percentTicks * period) * s.podman.hostCpus))
        } else {
          expect(cpu?.quota).toBeUndefined()
          expect(cpu?.period).toBeUndefined()
        }
      }),
      RUNS
    )
  })

  it("every ports label maps to its allocated host port, TCP and UDP, and nothing else is published", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const spec = specOf(s)
        const labels = s.config.ports as ReadonlyArray<string>
        const published = spec.portmappings ?? []
        expect(published.length).toBe(labels.length * 2)
        for (const label of labels) {
          const p = s.task.resources.ports.find((x) => x.label === label)!
          for (const protocol of ["tcp", "udp"] as const) {
            expect(published).toContainEqual({
              container_port: p.to > 0 ? p.to : p.value,
              host_port: p.value,
              ...(p.hostIp !== "" ? { host_ip: p.hostIp } : {}),
              protocol
            })
          }
        }
      }),
      RUNS
    )
  })

  it("with volumes disabled, no host path outside the alloc dir is mounted (other than Nomad's own mounts)", () => {
    const escaping = fc.constantFrom("/etc:/x", "../../../../etc:/y", "/:/root-of-host", "data/../../../z:/z", "/var/nomad/alloc:/up")
    fc.assert(
      fc.property(scenario(), fc.array(escaping, { maxLength: 2 }), (s, extra) => {
        const withExtra = { ...s, config: { ...s.config, volumes: [...(s.config.volumes as Array<string>), ...extra] } }
        const { result } = run(withExtra, { plugin: { volumes: { enabled: false } } })
        const nomadSources = new Set(s.task.mounts.map((m) => m.hostPath))
        if ("issues" in result) {
          expect(result.issues.length).toBeGreaterThan(0)
          for (const i of result.issues) expect(i.field).toMatch(/^volumes\[\d+\]$/)
          return
        }
        for (const m of result.spec.mounts ?? []) {
          if (m.type !== "bind" || nomadSources.has(m.source)) continue
          expect(s.task.allocDir).not.toBe("")
          const rel = path.posix.relative(s.task.allocDir, m.source)
          expect(rel.startsWith("..") || path.posix.isAbsolute(rel)).toBe(false)
        }
      }),
      RUNS
    )
  })

  it("r_limits, when present, always hold both nofile and nproc, lower-case, soft <= hard", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const r = specOf(s).r_limits
        if (Object.keys(s.config.ulimit as object).length === 0) {
          expect(r).toBeUndefined()
          return
        }
        const types = r!.map((x) => x.type)
        expect(types).toContain("nofile")
        expect(types).toContain("nproc")
        for (const x of r!) {
          expect(x.type).toBe(x.type.toLowerCase())
          expect(x.soft).toBeLessThanOrEqual(x.hard)
        }
      }),
      RUNS
    )
  })
})

// ---------------------------------------------------------------------------------------------
// hclspec well-formedness
// ---------------------------------------------------------------------------------------------

const typeExpr = /^(string|number|bool|any|(list|set|map)\((string|number|bool|any|map\((string|number)\))\))$/

const walk = (spec: HclSpec, key: string | undefined, problems: Array<string>, where: string): void => {
  const named = (name: string) => {
    if (name === "") problems.push(`${where}: empty name`)
    if (key !== undefined && name !== key) problems.push(`${where}: name ${name} != key ${key}`)
  }
  switch (spec._tag) {
    case "Object":
      if (Object.keys(spec.attributes).length === 0) problems.push(`${where}: empty object`)
      for (const [k, v] of Object.entries(spec.attributes)) walk(v, k, problems, `${where}.${k}`)
      return
    case "Attr":
      named(spec.name)
      if (spec.type === "" || !typeExpr.test(spec.type)) problems.push(`${where}: bad type ${JSON.stringify(spec.type)}`)
      return
    case "BlockAttrs":
      named(spec.name)
      if (!typeExpr.test(spec.type)) problems.push(`${where}: bad type ${spec.type}`)
      return
    case "Block":
    case "BlockList":
    case "BlockSet":
      named(spec.name)
      walk(spec.nested, undefined, problems, `${where}{}`)
      return
    case "BlockMap":
      named(spec.name)
      if (spec.labels.length === 0) problems.push(`${where}: no labels`)
      walk(spec.nested, undefined, problems, `${where}{}`)
      return
    case "Default":
      walk(spec.primary, key, problems, where)
      if (spec.default._tag !== "Literal" || spec.default.value.trim() === "") problems.push(`${where}: default is not a literal`)
      return
    case "Literal":
      if (spec.value.trim() === "") problems.push(`${where}: empty literal`)
      return
    case "Array":
      spec.values.forEach((v, i) => walk(v, undefined, problems, `${where}[${i}]`))
  }
}

describe("hclspec", () => {
  it("is well-formed: every Attr has a valid non-empty type, names match their keys, defaults are literals", () => {
    for (const spec of [taskConfigSpec, pluginConfigSpec]) {
      const problems: Array<string> = []
      walk(spec, undefined, problems, "")
      expect(problems).toEqual([])
    }
  })

  it("every default literal is valid HCL, and what Nomad sends for an absent option decodes to our own default", async () => {
    const cases: Array<[HclSpec, (raw: Record<string, unknown>) => unknown, Record<string, unknown>]> = [
      [taskConfigSpec, (raw) => Effect.runSync(decodeUnknownTaskConfig(raw)), { image: "x/y" }],
      [pluginConfigSpec, (raw) => Effect.runSync(decodePluginConfig(raw)), {}]
    ]
    let checked = 0
    for (const [spec, decode, base] of cases) {
      if (spec._tag !== "Object") throw new Error("not an object spec")
      for (const [key, s] of Object.entries(spec.attributes)) {
        if (s._tag !== "Default" || s.default._tag !== "Literal") continue
        const parsed = await parseHcl("literal.hcl", `value = ${s.default.value}\n`)
        expect(decode({ ...base, [key]: parsed.value })).toEqual(decode(base))
        checked++
      }
    }
    expect(checked).toBeGreaterThan(10)
  })

  it("every Attr type is a valid HCL type expression", async () => {
    const types = new Set<string>()
    const collect = (spec: HclSpec): void => {
      if (spec._tag === "Object") Object.values(spec.attributes).forEach(collect)
      else if (spec._tag === "Attr" || spec._tag === "BlockAttrs") types.add(spec.type)
      else if (spec._tag === "Default") collect(spec.primary)
      else if (spec._tag === "Block" || spec._tag === "BlockList" || spec._tag === "BlockSet" || spec._tag === "BlockMap") collect(spec.nested)
    }
    collect(taskConfigSpec)
    collect(pluginConfigSpec)
    for (const t of types) await expect(parseHcl("type.hcl", `t = ${t}\n`)).resolves.toBeDefined()
  })

  it("every declared option is accepted by the decoder under its HCL name (spec and decoder agree)", () => {
    const keys = Object.keys((taskConfigSpec as { attributes: Record<string, unknown> }).attributes)
    for (const k of keys) {
      const exit = Effect.runSyncExit(decodeUnknownTaskConfig({ image: "x/y", [k]: null }))
      expect(Exit.isSuccess(exit)).toBe(k !== "image")
    }
    const pkeys = Object.keys((pluginConfigSpec as { attributes: Record<string, unknown> }).attributes)
    for (const k of pkeys) expect(Exit.isSuccess(Effect.runSyncExit(decodePluginConfig({ [k]: null })))).toBe(true)
  })
})

/** Exported for the integration test's reuse of the scenario checks. */
export type { NomadTask, PodmanFacts }
