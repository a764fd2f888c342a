/**
 * The operator's guard rails (allow_privileged, allow_caps, allow_runtimes) as pure checks, and the
 * spec parts of the new task options (runtime, healthchecks.disable), the capabilities dropped when
 * allow_caps is narrower than Podman's defaults, Nomad's shared cores and the drop-in details of the
 * plugin config (socket_path in the Go driver's relative form). Against the real Podman:
 * test/integration/GuardRails.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { decodePluginConfig, defaultPluginConfig, type PluginConfig, resolveSockets } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, type TaskConfig } from "../../src/domain/TaskConfig.ts"
import { capsToDrop, checkGuardRails, disallowedCaps, guardRailIssues } from "../../src/driver/guardRails.ts"
import { type PodmanFacts, translate } from "../../src/translate/index.ts"

const task = (raw: Record<string, unknown>): TaskConfig => Effect.runSync(decodeUnknownTaskConfig({ image: "localhost/busybox:latest", ...raw }))
const plugin = (raw: Record<string, unknown> = {}): PluginConfig => Effect.runSync(decodePluginConfig(raw))
const facts: PodmanFacts = {
  rootless: false, cgroupVersion: "v2", cgroupManager: "cgroupfs", apiVersion: "4.3.1", hostCpus: 4,
  defaultCapabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
}
const specOf = (config: TaskConfig, p: PluginConfig = defaultPluginConfig, more: { readonly sharedCpus?: string; readonly cpusetCpus?: string } = {}) =>
  Effect.runSync(translate({
    config,
    plugin: p,
    task: makeNomadTask({ name: "web", resources: { cpusetCpus: more.cpusetCpus ?? "" } }),
    podman: facts,
    ...(more.sharedCpus !== undefined ? { sharedCpus: more.sharedCpus } : {})
  }))

describe("allow_privileged", () => {
  it("is off by default: privileged = true is an InvalidTaskConfig on privileged naming the plugin setting", () => {
    const issues = guardRailIssues(task({ privileged: true }), defaultPluginConfig)
    expect(issues).toEqual([{ field: "privileged", reason: expect.stringContaining("allow_privileged = true") }])
    expect(guardRailIssues(task({ privileged: true }), plugin({ allow_privileged: true }))).toEqual([])
    expect(guardRailIssues(task({}), defaultPluginConfig)).toEqual([])
  })
})

describe("allow_caps", () => {
  it("defaults to the docker driver's list: its caps pass, others (sys_admin, net_raw) do not", () => {
    expect(guardRailIssues(task({ cap_add: ["chown", "CAP_KILL", " Net_Bind_Service "] }), defaultPluginConfig)).toEqual([])
    const issues = guardRailIssues(task({ cap_add: ["SYS_ADMIN", "cap_net_raw", "sys_admin"] }), defaultPluginConfig)
    expect(issues).toHaveLength(1)
    expect(issues[0]!.field).toBe("cap_add")
    expect(issues[0]!.reason).toContain("sys_admin, net_raw")
    expect(issues[0]!.reason).toContain("allow_caps")
  })

  it("all allows every capability; cap_add = [\"all\"] needs it", () => {
    expect(disallowedCaps(["all"], defaultPluginConfig.allow_caps)).toEqual(["all"])
    expect(disallowedCaps(["all", "sys_admin"], ["ALL"])).toEqual([])
    expect(disallowedCaps(["sys_time"], ["chown", "sys_time"])).toEqual([])
  })

  it("Podman's defaults outside allow_caps are dropped, unless the task adds them back", () => {
    expect(capsToDrop(defaultPluginConfig.allow_caps, facts.defaultCapabilities!)).toEqual([])
    expect(capsToDrop(["chown", "kill"], ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"])).toEqual(["SETUID"])
    expect(capsToDrop(["all"], ["CAP_SETUID"])).toEqual([])
    const narrow = plugin({ allow_caps: ["chown", "kill", "setuid"] })
    expect(specOf(task({}), defaultPluginConfig).cap_drop).toBeUndefined()
    const s = specOf(task({ cap_add: ["setuid"], cap_drop: ["kill"] }), narrow)
    expect(s.cap_add).toEqual(["setuid"])
    expect(s.cap_drop).toEqual(["kill", "DAC_OVERRIDE", "FOWNER", "FSETID", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SYS_CHROOT"])
  })
})

describe("allow_runtimes and runtime", () => {
  it("empty: only the runtime Podman reports as its default; a list replaces that", () => {
    const crun = task({ runtime: "crun" })
    expect(guardRailIssues(crun, defaultPluginConfig, { defaultRuntime: "runc" })).toEqual([
      { field: "runtime", reason: expect.stringContaining("allow_runtimes") }
    ])
    expect(guardRailIssues(task({ runtime: "runc" }), defaultPluginConfig, { defaultRuntime: "runc" })).toEqual([])
    expect(guardRailIssues(crun, plugin({ allow_runtimes: ["runc", "crun"] }), { defaultRuntime: "runc" })).toEqual([])
    expect(guardRailIssues(task({ runtime: "runsc" }), plugin({ allow_runtimes: ["crun"] }), { defaultRuntime: "runsc" })).toHaveLength(1)
    // offline (the CLI without Podman, no list): cannot be judged, so not refused here
    expect(guardRailIssues(crun, defaultPluginConfig)).toEqual([])
  })

  it("runtime becomes the spec's oci_runtime; checkGuardRails reports every problem in one InvalidTaskConfig", () => {
    expect(specOf(task({ runtime: "crun" })).oci_runtime).toBe("crun")
    expect(specOf(task({})).oci_runtime).toBeUndefined()
    const exit = Effect.runSyncExit(checkGuardRails(task({ privileged: true, cap_add: ["sys_admin"], runtime: "kata" }), defaultPluginConfig, { defaultRuntime: "runc" }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("InvalidTaskConfig")
    for (const field of ["privileged", "cap_add", "runtime"]) expect(JSON.stringify(exit)).toContain(`"field":"${field}"`)
  })
})

describe("healthchecks, shared cores", () => {
  it("healthchecks { disable = true } turns the image's HEALTHCHECK off (Test NONE)", () => {
    expect(specOf(task({ healthchecks: { disable: true } })).healthconfig).toEqual({ Test: ["NONE"] })
    expect(specOf(task({ healthchecks: { disable: false } })).healthconfig).toBeUndefined()
    expect(specOf(task({})).healthconfig).toBeUndefined()
  })

  it("a task without reserved cores runs on Nomad's shared cores; reserved cores win", () => {
    expect(specOf(task({}), defaultPluginConfig, { sharedCpus: "2-3" }).resource_limits?.cpu?.cpus).toBe("2-3")
    expect(specOf(task({}), defaultPluginConfig, { sharedCpus: "2-3", cpusetCpus: "1" }).resource_limits?.cpu?.cpus).toBe("1")
    expect(specOf(task({})).resource_limits?.cpu?.cpus).toBeUndefined()
  })
})

describe("plugin config drop-in details", () => {
  it("socket_path = \"unix://run/podman/podman.sock\" (the Go driver's form) is /run/podman/podman.sock", () => {
    expect(resolveSockets(plugin({ socket_path: "unix://run/podman/podman.sock" }))).toEqual([{ name: "default", address: "unix:///run/podman/podman.sock" }])
    expect(resolveSockets(plugin({ socket: [{ name: "a", socket_path: "unix://run/user/1000/podman/podman.sock" }] }))[0]!.address)
      .toBe("unix:///run/user/1000/podman/podman.sock")
    expect(resolveSockets(plugin({ socket_path: "unix:///run/x.sock" }))[0]!.address).toBe("unix:///run/x.sock")
    expect(resolveSockets(plugin({ socket_path: "http://127.0.0.1:8080" }))[0]!.address).toBe("http://127.0.0.1:8080")
  })

  it("the docker driver's gc and allow-list options decode with their defaults and Go durations", () => {
    const p = plugin({ gc: { image_delay: "10s", dangling_containers: { period: "1m", dry_run: true } }, allow_caps: ["all"] })
    expect(p.gc.image).toBe(true)
    expect(p.gc.dangling_containers).toMatchObject({ enabled: true, dry_run: true })
    expect(JSON.stringify(Effect.runSyncExit(decodePluginConfig({ gc: { image_delay: "soon" } })))).toContain("gc.image_delay")
    expect(p.allow_caps).toEqual(["all"])
  })
})
