/**
 * Fuzzed StartTask inputs (fast-check): a task that would run (`/bin/sh -c 'exit 0'`) with one
 * hostile mutation (or none) and up to two harmless ones. Each mutation says what the answer must
 * be: `invalid` = INVALID_ARGUMENT (and, when `field` is set, the reason names it), `valid` = the
 * task starts. The catalogue covers what issue 13 found reaching Podman (NUL bytes, megabyte
 * values, env keys runc cannot pass, relative paths, absurd durations and sizes, numbers at the
 * edges of int64) and Podman's own refusals (a user, command, mount source, network or container
 * that does not exist).
 */
import fc from "fast-check"
import type { TaskConfig } from "../../../proto/gen/plugins/drivers/proto/driver.ts"

export type Expect = "invalid" | "valid"

/** What a case changes: the task config (HCL-level) and the wire task. */
export interface Draft {
  config: Record<string, unknown>
  wire: { -readonly [K in keyof TaskConfig]?: TaskConfig[K] }
  env: Record<string, string>
}

export interface Mutation {
  readonly name: string
  readonly expect: Expect
  /** The field an INVALID_ARGUMENT reason must name (absent: Podman's own refusal, its words). */
  readonly field?: string
  readonly apply: (d: Draft) => void
}

const big = (n: number) => "x".repeat(n)
const MiB = 1024 * 1024

const cfg = (name: string, expect: Expect, field: string | undefined, key: string, value: unknown): Mutation => ({
  name,
  expect,
  ...(field !== undefined ? { field } : {}),
  apply: (d) => {
    d.config[key] = value
  }
})
const bad = (name: string, key: string, value: unknown, field = key) => cfg(name, "invalid", field, key, value)
/** Refused by Podman itself (its reason, not our field name). */
const podmanBad = (name: string, key: string, value: unknown) => cfg(name, "invalid", undefined, key, value)
const ok = (name: string, key: string, value: unknown) => cfg(name, "valid", undefined, key, value)

const wire = (name: string, expect: Expect, field: string | undefined, apply: (d: Draft) => void): Mutation => ({
  name,
  expect,
  ...(field !== undefined ? { field } : {}),
  apply
})

/** Hostile mutations: each must be refused. */
export const hostile: ReadonlyArray<Mutation> = [
  bad("command 70 KiB", "command", big(70_000)),
  // over 1 MiB of msgpack: refused as a whole before it is decoded
  bad("command 1 MiB", "command", big(MiB), "(config)"),
  bad("command PATH_MAX+1", "command", `/${big(4095)}`),
  bad("command with NUL", "command", "/bin/\0sh"),
  podmanBad("command not found", "command", "/no/such/command"),
  bad("args with NUL", "args", ["-c", "exit 0\0"], "args[1]"),
  bad("args 70 KiB", "args", ["-c", big(70_000)], "args[1]"),
  bad("args 2000 entries", "args", Array.from({ length: 2000 }, () => "a")),
  bad("entrypoint 70 KiB", "entrypoint", [big(70_000)], "entrypoint[0]"),
  bad("label key with NUL", "labels", { "k\0": "v" }, "labels."),
  bad("label value 1 MiB", "labels", { k: big(MiB) }, "(config)"),
  bad("working_dir relative", "working_dir", "relative/dir"),
  bad("hostname 100 chars", "hostname", big(100)),
  bad("hostname with space", "hostname", "a b"),
  bad("stop_timeout 99999999999h", "stop_timeout", "99999999999h"),
  bad("stop_timeout 25h", "stop_timeout", "25h"),
  bad("stop_timeout negative", "stop_timeout", "-1s"),
  bad("stop_timeout garbage", "stop_timeout", "soon"),
  bad("image_pull_timeout 999h", "image_pull_timeout", "999h"),
  bad("shm_size 0", "shm_size", "0"),
  bad("shm_size 1q", "shm_size", "1q"),
  bad("shm_size 2048t", "shm_size", "2048t"),
  bad("cap_add FOO", "cap_add", ["FOO"], "cap_add[0]"),
  bad("cap_add empty name", "cap_add", [""], "cap_add[0]"),
  bad("sysctl bad name", "sysctl", { "not a sysctl": "1" }, "sysctl."),
  podmanBad("sysctl not namespaced", "sysctl", { "vm.swappiness": "10" }),
  bad("ulimit unknown", "ulimit", { bogus: "1" }, "ulimit.bogus"),
  bad("ulimit soft > hard", "ulimit", { nofile: "2:1" }, "ulimit.nofile"),
  podmanBad("ulimit nofile beyond nr_open", "ulimit", { nofile: "99999999" }),
  bad("pids_limit 5e6", "pids_limit", 5_000_000),
  bad("pids_limit -5", "pids_limit", -5),
  bad("memory_reservation 1q", "memory_reservation", "1q"),
  bad("memory_reservation 1e20", "memory_reservation", "99999999999999999999"),
  bad("memory_swap garbage", "memory_swap", "lots"),
  bad("oom_score_adj 5000", "oom_score_adj", 5000),
  bad("memory_swappiness 101", "memory_swappiness", 101),
  bad("cpu_cfs_period 1e300", "cpu_cfs_period", 1e300),
  podmanBad("volume source missing", "volumes", ["/no/such/source:/data"]),
  bad("volume empty source", "volumes", [":/data"], "volumes[0]"),
  bad("volume relative destination", "volumes", ["/tmp:data"], "volumes[0]"),
  bad("volume too many parts", "volumes", ["a:b:c:d"], "volumes[0]"),
  bad("tmpfs relative", "tmpfs", ["scratch"], "tmpfs[0]"),
  podmanBad("tmpfs bogus option", "tmpfs", ["/scratch:bogusopt"]),
  bad("device relative", "devices", ["dev/null"], "devices[0]"),
  podmanBad("device missing", "devices", ["/dev/no-such-device"]),
  bad("kill_signal unknown", "kill_signal", "SIGFOO"),
  podmanBad("network_mode container missing", "network_mode", "container:no-such-container"),
  podmanBad("network_mode network missing", "network_mode", "no-such-network"),
  podmanBad("ipc_mode container missing", "ipc_mode", "container:no-such-container"),
  bad("ipc_mode bogus", "ipc_mode", "bogus:mode"),
  bad("userns bogus", "userns", "bogus"),
  bad("extra_hosts bad", "extra_hosts", ["bad"], "extra_hosts[0]"),
  bad("security_opt bogus", "security_opt", ["bogus"], "security_opt[0]"),
  bad("unknown option", "nosuchoption", 1),
  bad("unknown option named by 1 MiB", big(MiB), 1, "(config)"),
  bad("unknown option named by 100 KiB", big(100_000), 1, "(100000 characters)"),
  bad("args is a number", "args", 5),
  bad("labels is a string", "labels", "x"),
  bad("image uppercase", "image", "Local/UPPER:latest"),
  bad("image 300 chars", "image", `localhost/${"a".repeat(300)}`),
  bad("image empty", "image", ""),
  wire("env key with =", "invalid", "task.env", (d) => {
    d.env["A=B"] = "1"
  }),
  wire("env key empty", "invalid", "task.env", (d) => {
    d.env[""] = "1"
  }),
  wire("env key with NUL and a 1 MiB value", "invalid", "task.env", (d) => {
    d.env["K\0"] = big(MiB)
  }),
  wire("env value over MAX_ARG_STRLEN", "invalid", "task.env.BIG", (d) => {
    d.env.BIG = big(200_000)
  }),
  wire("env over 1 MiB in total", "invalid", "task.env", (d) => {
    for (let i = 0; i < 12; i++) d.env[`V${i}`] = big(100_000)
  }),
  wire("user unknown", "invalid", undefined, (d) => {
    d.wire.user = "nosuchuser"
  }),
  wire("user with NUL", "invalid", "task.user", (d) => {
    d.wire.user = "ro\0ot"
  }),
  wire("alloc_dir empty", "invalid", "alloc_dir", (d) => {
    d.wire.allocDir = ""
  }),
  wire("alloc_dir relative", "invalid", "alloc_dir", (d) => {
    d.wire.allocDir = "relative/alloc"
  }),
  wire("mount with empty destination", "invalid", "task.mounts[0].task_path", (d) => {
    d.wire.mounts = [{ taskPath: "", hostPath: "/tmp", readonly: true, propagationMode: "", selinuxLabel: "", requestName: "" }]
  }),
  wire("mount with relative source", "invalid", "task.mounts[0].host_path", (d) => {
    d.wire.mounts = [{ taskPath: "/data", hostPath: "tmp", readonly: true, propagationMode: "", selinuxLabel: "", requestName: "" }]
  }),
  wire("device with relative path", "invalid", "task.devices[0].host_path", (d) => {
    d.wire.devices = [{ taskPath: "/dev/x", hostPath: "dev/null", cgroupPermissions: "rw" }]
  }),
  wire("task name with a space", "invalid", "task.name", (d) => {
    d.wire.name = "web server"
  }),
  wire("cpu_shares -1", "invalid", "cpu_shares", (d) => {
    d.wire.resources = {
      allocatedResources: { cpu: { cpuShares: -1n }, memory: { memoryMb: 64n, memoryMaxMb: 0n }, networks: [] },
      linuxResources: undefined,
      ports: []
    }
  }),
  wire("memory_mb int64 max", "invalid", "memory_mb", (d) => {
    d.wire.resources = {
      allocatedResources: { cpu: { cpuShares: 100n }, memory: { memoryMb: 2n ** 63n - 1n, memoryMaxMb: 0n }, networks: [] },
      linuxResources: undefined,
      ports: []
    }
  }),
  wire("group dns server not an IP", "invalid", "dns.servers[0]", (d) => {
    d.wire.dns = { servers: ["not-an-ip"], searches: [], options: [] }
  })
]

/** Harmless mutations: the task still starts. */
export const harmless: ReadonlyArray<Mutation> = [
  ok("labels", "labels", { team: "chaos", "with space": "ünïcode" }),
  // within the default allow_caps (docker's list); capabilities outside it are the guard rails' refusals
  ok("cap_add NET_BIND_SERVICE", "cap_add", ["NET_BIND_SERVICE", "cap_kill"]),
  ok("cap_drop ALL", "cap_drop", ["ALL"]),
  ok("stop_timeout 5s", "stop_timeout", "5s"),
  ok("shm_size 64m", "shm_size", "64m"),
  ok("sysctl somaxconn", "sysctl", { "net.core.somaxconn": "1024" }),
  ok("ulimit nofile", "ulimit", { nofile: "1024:2048" }),
  ok("pids_limit 100", "pids_limit", 100),
  ok("tmpfs", "tmpfs", ["/scratch:size=1m"]),
  ok("hostname", "hostname", "fuzz-host"),
  ok("working_dir", "working_dir", "/tmp"),
  ok("init", "init", true),
  ok("kill_signal", "kill_signal", "SIGINT"),
  ok("args with unicode and 60 KiB", "args", ["-c", `exit 0 # ${"é".repeat(30_000)}`]),
  wire("env harmless", "valid", undefined, (d) => {
    d.env.FOO = "bar=baz"
    d.env.EMPTY = ""
  }),
  wire("user root", "valid", undefined, (d) => {
    d.wire.user = "root"
  }),
  wire("int64 extremes in unused fields, percent ticks 1e300", "valid", undefined, (d) => {
    d.config.cpu_hard_limit = true
    d.wire.resources = {
      allocatedResources: { cpu: { cpuShares: 2n ** 40n }, memory: { memoryMb: 64n, memoryMaxMb: 0n }, networks: [] },
      linuxResources: {
        cpuPeriod: -(2n ** 63n), cpuQuota: 2n ** 63n - 1n, cpuShares: 100n, memoryLimitBytes: 2n ** 63n - 1n,
        oomScoreAdj: -(2n ** 63n), cpusetCpus: "", cpusetCgroup: "", PercentTicks: 1e300
      },
      ports: []
    }
  })
]

export interface FuzzCase {
  readonly names: ReadonlyArray<string>
  readonly expect: Expect
  readonly field: string | undefined
  readonly draft: Draft
}

/** The draft every case starts from: a task that exits 0 at once. */
const baseDraft = (): Draft => ({
  config: { image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", "exit 0"] },
  wire: {},
  env: {}
})

/**
 * A case: with probability ~`validShare` only harmless mutations, else one hostile mutation; then
 * up to two harmless ones on other fields (the hostile one applied last, so it is the one that
 * counts).
 */
export const fuzzCase = (validShare: number): fc.Arbitrary<FuzzCase> =>
  // without fast-check's bias towards small values: the shares must be what they say
  fc.noBias(fc.record({
    valid: fc.integer({ min: 0, max: 9999 }).map((x) => x < validShare * 10_000),
    h: fc.integer({ min: 0, max: hostile.length - 1 }).map((i) => hostile[i]!),
    extra: fc.uniqueArray(fc.integer({ min: 0, max: harmless.length - 1 }).map((i) => harmless[i]!), { maxLength: 2, selector: (m) => m.name })
  })).map(({ valid, h, extra }) => {
    const draft = baseDraft()
    const applied = valid ? extra : [...extra, h]
    for (const m of applied) m.apply(draft)
    return {
      names: applied.map((m) => m.name),
      expect: valid ? "valid" as const : "invalid" as const,
      field: valid ? undefined : h.field,
      draft
    }
  })
