/**
 * Input that must be refused before Podman (src/domain/limits.ts, README "Guarantees"): NUL bytes,
 * over-long values and lists, env keys Podman cannot pass, relative paths, out-of-range durations,
 * sizes and numbers; every refusal names its field, and what it repeats of the input is bounded.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { ConfigIssue } from "../../src/domain/errors.ts"
import { InvalidTaskConfig } from "../../src/domain/errors.ts"
import { MAX_ARG_STRLEN, MAX_LIST_ENTRIES, MAX_PATH_BYTES, MAX_VALUE_BYTES } from "../../src/domain/limits.ts"
import { makeNomadTask, type NomadTask, type TaskResources } from "../../src/domain/NomadTask.ts"
import { decodePluginConfig, defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig } from "../../src/domain/TaskConfig.ts"
import { translate } from "../../src/translate/index.ts"

const ALLOC = "11111111-2222-3333-4444-555555555555"
const facts = { rootless: false, cgroupVersion: "v2", cgroupManager: "cgroupfs", apiVersion: "4.3.1", hostCpus: 2 }

type TaskFields = Partial<Omit<NomadTask, "resources">> & { readonly resources?: Partial<TaskResources> }

/** StartTask's checks short of Podman: decode, then translate. */
const check = (config: Record<string, unknown>, task: TaskFields = {}) =>
  Effect.runSyncExit(Effect.gen(function*() {
    const c = yield* decodeUnknownTaskConfig({ image: "localhost/busybox:latest", ...config })
    return yield* translate({
      config: c,
      plugin: defaultPluginConfig,
      task: makeNomadTask({ name: "web", allocId: ALLOC, allocDir: "/tmp/alloc", ...task }),
      podman: facts
    })
  }))

const issuesOf = (config: Record<string, unknown>, task: TaskFields = {}): ReadonlyArray<ConfigIssue> => {
  const exit = check(config, task)
  if (Exit.isSuccess(exit)) throw new Error("expected the config to be refused")
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (f === undefined || f._tag !== "Fail" || !(f.error instanceof InvalidTaskConfig)) throw new Error("expected InvalidTaskConfig")
  return f.error.issues
}

/** The one field refused, and the whole error message bounded. */
const refused = (config: Record<string, unknown>, task: TaskFields = {}): string => {
  const issues = issuesOf(config, task)
  const message = new InvalidTaskConfig({ issues }).message
  expect(message.length).toBeLessThan(2000)
  return issues.map((i) => i.field).join(" ")
}

const accepted = (config: Record<string, unknown>, task: TaskFields = {}) => expect(Exit.isSuccess(check(config, task))).toBe(true)

const big = (n: number) => "x".repeat(n)

describe("config strings, lists and maps", () => {
  it("refuses a NUL byte in any string: args, labels (keys and values), command, volumes", () => {
    expect(refused({ args: ["ok", "a\0b"] })).toBe("args[1]")
    expect(refused({ labels: { "a\0": "b" } })).toMatch(/^labels\./)
    expect(refused({ labels: { a: "b\0" } })).toBe("labels.a")
    expect(refused({ command: "/bin/\0sh" })).toBe("command")
    expect(refused({ volumes: ["/a\0:/b"] })).toBe("volumes[0]")
  })

  it("refuses values over 64 KiB, lists and maps over 1024 entries", () => {
    accepted({ args: [big(MAX_VALUE_BYTES)] })
    expect(refused({ args: [big(MAX_VALUE_BYTES + 1)] })).toBe("args[0]")
    expect(refused({ hostname: big(1024 * 1024) })).toBe("hostname")
    expect(refused({ args: Array.from({ length: MAX_LIST_ENTRIES + 1 }, () => "a") })).toBe("args")
    expect(refused({ labels: Object.fromEntries(Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => [`k${i}`, "v"])) }))
      .toBe("labels")
  })

  it("counts UTF-8 bytes, not characters", () => {
    accepted({ args: ["é".repeat(MAX_VALUE_BYTES / 2)] })
    expect(refused({ args: ["é".repeat(MAX_VALUE_BYTES / 2 + 1)] })).toBe("args[0]")
  })

  it("an executable longer than PATH_MAX (command, entrypoint) is refused; a relative working_dir too", () => {
    accepted({ command: `/${big(MAX_PATH_BYTES - 1)}` })
    expect(refused({ command: `/${big(MAX_PATH_BYTES)}` })).toBe("command")
    expect(refused({ entrypoint: [big(70_000 / 2), "x"] })).toBe("entrypoint[0]")
    expect(refused({ working_dir: "relative" })).toBe("working_dir")
    expect(refused({ init_path: "catatonit" })).toBe("init_path")
  })

  it("an unknown option named by a megabyte is reported with a bounded field", () => {
    const issues = issuesOf({ [big(1024 * 1024)]: 1 })
    expect(issues[0]!.field.length).toBeLessThan(300)
    expect(issues[0]!.field).toContain("(1048576 characters)")
  })

  it("thousands of problems make a bounded message that counts the rest", () => {
    const issues = issuesOf({ args: Array.from({ length: 1000 }, () => "\0") })
    expect(issues).toHaveLength(1000)
    const message = new InvalidTaskConfig({ issues }).message
    expect(message).toMatch(/… and 980 more$/)
    expect(message.length).toBeLessThan(4000)
  })
})

describe("value bounds", () => {
  it("durations: at most 24h", () => {
    accepted({ stop_timeout: "24h", image_pull_timeout: "1h" })
    expect(refused({ stop_timeout: "99999999999h" })).toBe("stop_timeout")
    expect(refused({ stop_timeout: "24h1s" })).toBe("stop_timeout")
    expect(refused({ image_pull_timeout: "25h" })).toBe("image_pull_timeout")
    const plugin = Effect.runSyncExit(decodePluginConfig({ client_http_timeout: "1000h" }))
    expect(Exit.isFailure(plugin)).toBe(true)
  })

  it("sizes at most 1 PiB, pids_limit at most the kernel's PID_MAX_LIMIT", () => {
    accepted({ shm_size: "1t" })
    expect(refused({ shm_size: "2048t" })).toBe("shm_size")
    expect(refused({ memory_reservation: "99999999999999999999" })).toBe("memory_reservation")
    accepted({ pids_limit: 4194304 })
    expect(refused({ pids_limit: 4194305 })).toBe("pids_limit")
  })

  it("capabilities are Linux capability names or ALL, in any case, with or without CAP_", () => {
    accepted({ cap_add: ["ALL", "net_admin", "CAP_SYS_ADMIN"], cap_drop: ["all"] })
    expect(refused({ cap_add: ["NET_ADMIN", "FOO"] })).toBe("cap_add[1]")
    expect(refused({ cap_drop: [""] })).toBe("cap_drop[0]")
  })

  it("sysctl names, hostnames and image names Podman would refuse", () => {
    accepted({ sysctl: { "net.core.somaxconn": "1024", "net/ipv4/conf/eth0.100/rp_filter": "0" } })
    expect(refused({ sysctl: { "not a sysctl": "1" } })).toBe("sysctl.not a sysctl")
    expect(refused({ hostname: "a".repeat(65) })).toBe("hostname")
    expect(refused({ image: `localhost/${"a".repeat(300)}` })).toBe("image")
  })
})

describe("what Nomad hands over with the task", () => {
  it("env keys: not empty, no '=', no NUL; values: no NUL, KEY=value within MAX_ARG_STRLEN", () => {
    accepted({}, { env: { A: "1", EMPTY: "" } })
    expect(refused({}, { env: { "A=B": "1" } })).toBe("task.env.A=B")
    expect(refused({}, { env: { "": "1" } })).toBe('task.env.""')
    expect(refused({}, { env: { "A\0B": "1" } })).toContain("task.env.")
    expect(refused({}, { env: { A: "x\0" } })).toBe("task.env.A")
    accepted({}, { env: { A: big(MAX_ARG_STRLEN - 2) } })
    expect(refused({}, { env: { A: big(MAX_ARG_STRLEN - 1) } })).toBe("task.env.A")
  })

  it("an env key with NUL and a 1 MiB value (what wedges runc) is refused with a bounded message", () => {
    const issues = issuesOf({}, { env: { "K\0": big(1024 * 1024) } })
    expect(new InvalidTaskConfig({ issues }).message.length).toBeLessThan(2000)
  })

  it("arguments and environment over 1 MiB together are refused", () => {
    const env = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, big(100_000)]))
    accepted({}, { env })
    expect(refused({ args: [big(60_000)] }, { env })).toBe("task.env")
  })

  it("alloc_dir, log paths, mounts and devices must be absolute; names must make a container name", () => {
    accepted({}, { allocDir: "" })
    expect(refused({}, { allocDir: "relative/dir" })).toBe("task.alloc_dir")
    expect(refused({}, { stdoutPath: "out.fifo" })).toBe("task.stdout_path")
    expect(refused({}, { mounts: [{ taskPath: "", hostPath: "/srv", readonly: false, propagationMode: "", selinuxLabel: "" }] }))
      .toBe("task.mounts[0].task_path")
    expect(refused({}, { mounts: [{ taskPath: "/d", hostPath: "/srv", readonly: false, propagationMode: "weird", selinuxLabel: "" }] }))
      .toBe("task.mounts[0].propagation_mode")
    expect(refused({}, { devices: [{ taskPath: "", hostPath: "dev/null", cgroupPermissions: "rw" }] })).toBe("task.devices[0].host_path")
    expect(refused({}, { name: "web server" })).toBe("task.name")
    expect(refused({}, { user: "a\0" })).toBe("task.user")
    expect(refused({}, { resources: { cpusetCpus: "all of them" } })).toBe("task.resources.cpuset_cpus")
  })
})
