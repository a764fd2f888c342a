/**
 * Decoding task and plugin configs in every shape Nomad sends them (HCL2 wrapping, block lists,
 * nulls, strings for numbers, bare JSON objects), defaults, and errors that name the field.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import type { ConfigIssue } from "../../src/domain/errors.ts"
import {
  decodePluginConfig,
  defaultPluginConfig,
  pluginConfigSpec,
  renderPluginOptionsTable,
  resolveSockets
} from "../../src/domain/PluginConfig.ts"
import {
  decodeTaskConfig,
  decodeUnknownTaskConfig,
  encodeTaskConfig,
  renderTaskOptionsTable,
  type TaskConfigInput,
  taskConfigSpec
} from "../../src/domain/TaskConfig.ts"
import type { HclSpec } from "../../src/domain/hclspec.ts"

const task = (raw: unknown) => Effect.runSync(decodeUnknownTaskConfig(raw))
const taskIssues = (raw: unknown): ReadonlyArray<ConfigIssue> => {
  const exit = Effect.runSyncExit(decodeUnknownTaskConfig(raw))
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (err === undefined || err._tag !== "Fail") throw new Error("expected a typed failure")
  expect(err.error._tag).toBe("InvalidTaskConfig")
  return err.error.issues
}
const plugin = (raw: unknown) => Effect.runSync(decodePluginConfig(raw))
const pluginIssues = (raw: unknown): ReadonlyArray<ConfigIssue> => {
  const exit = Effect.runSyncExit(decodePluginConfig(raw))
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (err === undefined || err._tag !== "Fail") throw new Error("expected a typed failure")
  expect(err.error._tag).toBe("InvalidPluginConfig")
  return err.error.issues
}
const fields = (issues: ReadonlyArray<ConfigIssue>) => issues.map((i) => i.field).sort()

describe("decodeTaskConfig: defaults", () => {
  it("applies every default for a minimal config", () => {
    const c = task({ image: "localhost/busybox:latest" })
    expect(c).toEqual({
      image: {
        _tag: "registry",
        text: "localhost/busybox:latest",
        ref: "localhost/busybox:latest",
        registry: "localhost",
        repository: "busybox",
        tag: "latest",
        shortName: false
      },
      args: [],
      labels: {},
      auth: {},
      auth_soft_fail: false,
      force_pull: false,
      image_pull_timeout: Duration.minutes(5),
      init: false,
      tty: false,
      privileged: false,
      readonly_rootfs: false,
      cap_add: [],
      cap_drop: [],
      selinux_opts: [],
      security_opt: [],
      sysctl: {},
      ulimit: {},
      cpu_hard_limit: false,
      devices: [],
      volumes: [],
      tmpfs: [],
      ports: [],
      port_map: {},
      static_ips: [],
      extra_hosts: [],
      socket: "default"
    })
  })

  it("treats null attributes as absent (what msgpack carries for unset attributes)", () => {
    const c = task({
      image: "x/y",
      command: null,
      args: null,
      labels: null,
      auth: null,
      memory_swappiness: null,
      oom_score_adj: null,
      logging: null,
      image_pull_timeout: null
    })
    expect(c.command).toBeUndefined()
    expect(c.args).toEqual([])
    expect(c.labels).toEqual({})
    expect(c.auth).toEqual({})
    expect("memory_swappiness" in c).toBe(false)
    expect("oom_score_adj" in c).toBe(false)
    expect(c.logging).toBeUndefined()
    expect(Duration.toMillis(c.image_pull_timeout)).toBe(300_000)
  })

  it("tls_verify stays unset unless the task sets it (Podman's registries.conf decides then)", () => {
    expect(task({ image: "x/y", auth: [{ username: "u", password: "p" }] }).auth).toEqual({
      username: "u",
      password: "p"
    })
    expect(task({ image: "x/y", auth: { tls_verify: false } }).auth).toEqual({ tls_verify: false })
  })
})

describe("decodeTaskConfig: the shapes Nomad sends", () => {
  it("maps: HCL2 wrapped object, block list (merged), bare JSON object", () => {
    expect(task({ image: "x/y", labels: [{ a: "1" }] }).labels).toEqual({ a: "1" })
    expect(task({ image: "x/y", labels: [{ a: "1" }, { b: "2", a: "3" }] }).labels).toEqual({ a: "3", b: "2" })
    expect(task({ image: "x/y", labels: { a: "1" } }).labels).toEqual({ a: "1" })
    expect(task({ image: "x/y", sysctl: [{ "net.core.somaxconn": 1024 }] }).sysctl).toEqual({ "net.core.somaxconn": "1024" })
  })

  it("a Map (msgpack decoders may produce one) is accepted like an object", () => {
    expect(task(new Map<string, unknown>([["image", "x/y"], ["labels", new Map([["a", "b"]])]])).labels).toEqual({ a: "b" })
  })

  it("numbers as strings, bigints, and number maps", () => {
    const c = task({ image: "x/y", pids_limit: "100", oom_score_adj: -500n, port_map: [{ http: "8080", https: 8443 }] })
    expect(c.pids_limit).toBe(100)
    expect(c.oom_score_adj).toBe(-500)
    expect(c.port_map).toEqual({ http: 8080, https: 8443 })
  })

  it("bools as strings, strings from numbers (cty conversions)", () => {
    const c = task({ image: "x/y", privileged: "true", tty: "false", hostname: 42 })
    expect(c.privileged).toBe(true)
    expect(c.tty).toBe(false)
    expect(c.hostname).toBe("42")
  })

  it("blocks: one-element list, bare object; logging options in both map forms", () => {
    expect(task({ image: "x/y", logging: [{ driver: "journald", options: [{ tag: "t" }] }] }).logging).toEqual({
      driver: "journald",
      options: { tag: "t" }
    })
    expect(task({ image: "x/y", logging: { options: { tag: "t" } } }).logging).toEqual({ options: { tag: "t" } })
  })

  it("entrypoint: a list, or a string (Go compatibility)", () => {
    expect(task({ image: "x/y", entrypoint: ["/bin/sh", "-c"] }).entrypoint).toEqual(["/bin/sh", "-c"])
    expect(task({ image: "x/y", entrypoint: "/bin/sh" }).entrypoint).toEqual(["/bin/sh"])
  })

  it("extension options: kill_signal and stop_timeout, as a signal and a duration", () => {
    const c = task({ image: "x/y", kill_signal: "int", stop_timeout: "1m30s" })
    expect(c.kill_signal).toEqual({ number: 2, name: "SIGINT" })
    expect(Duration.toMillis(c.stop_timeout!)).toBe(90_000)
  })

  it("values arrive parsed: sizes in bytes, modes, mounts, devices, hosts, ulimits by rlimit name", () => {
    const c = task({
      image: "docker://redis",
      shm_size: "64m",
      memory_reservation: "1k",
      memory_swap: "-1",
      ipc_mode: "shareable",
      userns: "keep-id:uid=1",
      network_mode: "task:db",
      volumes: ["data:/data:ro"],
      tmpfs: ["/t:size=1m"],
      devices: ["/dev/fuse"],
      extra_hosts: ["db:10.0.0.2"],
      security_opt: ["no-new-privileges"],
      ulimit: { NOFILE: "10:20" }
    })
    expect(c.image).toMatchObject({ text: "docker://redis", ref: "docker.io/library/redis:latest" })
    expect(c).toMatchObject({
      shm_size: 64 * 1048576,
      memory_reservation: 1024,
      memory_swap: { _tag: "unlimited" },
      ipc_mode: { _tag: "shareable" },
      userns: { _tag: "keep-id", uid: 1 },
      network_mode: { _tag: "task", task: "db" },
      volumes: [{ source: "data", destination: "/data", options: ["ro"] }],
      tmpfs: [{ destination: "/t", options: ["size=1m"] }],
      devices: [{ _tag: "host", host: "/dev/fuse" }],
      extra_hosts: [{ host: "db", ip: "10.0.0.2" }],
      security_opt: [{ _tag: "no-new-privileges", enabled: true }],
      ulimit: { nofile: { soft: 10, hard: 20 } }
    })
  })

  it("an empty mode is no mode", () => {
    const c = task({ image: "x/y", userns: "", ipc_mode: "", network_mode: "", logging: { driver: "" } })
    for (const k of ["userns", "ipc_mode", "network_mode"]) expect(k in c).toBe(false)
    expect(c.logging).toEqual({ options: {} })
  })

  it("encode writes the config back as HCL-level input that decodes to the same config (recovery stores it)", () => {
    const raw = {
      image: "x/y",
      labels: [{ a: "1" }],
      port_map: [{ http: "80" }],
      logging: [{ driver: "nomad", options: [{ tag: "x" }] }],
      entrypoint: "sh",
      ulimit: [{ nofile: "10:20" }],
      kill_signal: "15",
      stop_timeout: "90s",
      shm_size: "1g",
      volumes: ["/a//b:/c:ro"],
      userns: "auto:size=5"
    }
    const once = task(raw)
    const encoded = encodeTaskConfig(once)
    expect(encoded).toMatchObject({ kill_signal: "SIGTERM", stop_timeout: "1m30s", shm_size: "1073741824", volumes: ["/a/b:/c:ro"], image_pull_timeout: "5m" })
    expect(task(JSON.parse(JSON.stringify(encoded)))).toEqual(once)
  })

  it("decodeTaskConfig takes the typed input: a misspelt option does not compile", () => {
    const input: TaskConfigInput = { image: "x/y", auth: { username: "u" }, labels: { a: "b" }, entrypoint: "sh" }
    expect(Effect.runSync(decodeTaskConfig(input)).auth).toEqual({ username: "u" })
    // @ts-expect-error `comand` is not an option (tsc checks this file: the line must stay an error)
    const typo: TaskConfigInput = { image: "x/y", comand: "sh" }
    // @ts-expect-error values are written as in HCL: a duration is text
    const wrongType: TaskConfigInput = { image: "x/y", stop_timeout: 5 }
    // @ts-expect-error `image` is required
    const noImage: TaskConfigInput = { command: "sh" }
    // at run time the typo is still caught, for callers that cast
    expect(fields(taskIssues(typo))).toEqual(["comand"])
    expect(fields(taskIssues(wrongType))).toEqual(["stop_timeout"])
    expect(fields(taskIssues(noImage))).toEqual(["image"])
  })
})

describe("decodeTaskConfig: errors name the field, all at once", () => {
  it("image is required", () => {
    expect(taskIssues({})).toEqual([{ field: "image", reason: "is required" }])
    expect(taskIssues(null)).toEqual([{ field: "image", reason: "is required" }])
    expect(fields(taskIssues({ image: "  " }))).toEqual(["image"])
  })

  it("unknown keys are rejected by name, with a suggestion", () => {
    const issues = taskIssues({ image: "x/y", comand: "sh", bogus: 1 })
    expect(fields(issues)).toEqual(["bogus", "comand"])
    expect(issues.find((i) => i.field === "comand")!.reason).toContain('did you mean "command"')
    expect(fields(taskIssues({ image: "x/y", auth: { user: "u" } }))).toEqual(["auth.user"])
  })

  it("reports every invalid value in one error", () => {
    const issues = taskIssues({
      image: "x/y",
      image_pull_timeout: "5 minutes",
      stop_timeout: "-1s",
      kill_signal: "SIGNOPE",
      memory_reservation: "12x",
      memory_swap: "lots",
      shm_size: "-1",
      ulimit: { nofile: "20:10", bogus: "1" },
      cpu_cfs_period: 2_000_000,
      memory_swappiness: 101,
      oom_score_adj: 5000,
      pids_limit: 1.5,
      ipv4_address: "::1",
      ipv6_address: "10.0.0.1",
      static_ips: ["1.2.3.4", "nope"],
      static_mac: "zz:zz",
      extra_hosts: ["a:1.2.3.4", "noip"],
      logging: { driver: "syslog" },
      port_map: { http: 70000 },
      args: ["ok", { nested: true }],
      privileged: "yes"
    })
    expect(fields(issues)).toEqual([
      "args[1]",
      "cpu_cfs_period",
      "extra_hosts[1]",
      "image_pull_timeout",
      "ipv4_address",
      "ipv6_address",
      "kill_signal",
      "logging.driver",
      "memory_reservation",
      "memory_swap",
      "memory_swappiness",
      "oom_score_adj",
      "pids_limit",
      "port_map.http",
      "privileged",
      "shm_size",
      "static_ips[1]",
      "static_mac",
      "stop_timeout",
      "ulimit.bogus",
      "ulimit.nofile"
    ])
    for (const i of issues) expect(i.reason.length).toBeGreaterThan(5)
    expect(issues.find((i) => i.field === "memory_swappiness")!.reason).toBe("expected a value between 0 and 100, got number 101")
    expect(issues.find((i) => i.field === "stop_timeout")!.reason).toContain('"-1s"')
  })

  it("cty unknown values (as the msgpack layer decodes them) are reported, not taken as objects", () => {
    const unknown = { _tag: "CtyUnknown" }
    const issues = taskIssues({ image: "x/y", command: unknown, auth: unknown, labels: unknown })
    expect(issues).toEqual([
      { field: "command", reason: "expected a string, got a value that is not known yet" },
      { field: "labels", reason: "expected a map, got a value that is not known yet" },
      { field: "auth", reason: "expected an object, got a value that is not known yet" }
    ])
  })

  it("type errors say what was expected and what came", () => {
    const [issue] = taskIssues({ image: "x/y", init: 3 })
    expect(issue).toEqual({ field: "init", reason: "expected a bool, got number 3" })
  })

  it("ports and port_map cannot be combined (reported along with the other issues)", () => {
    expect(fields(taskIssues({ image: "x/y", ports: ["http"], port_map: { http: 80 } }))).toEqual(["port_map"])
    expect(fields(taskIssues({ image: "x/y", ports: ["http"], port_map: { http: 80 }, init: "no" }))).toEqual(["init", "port_map"])
  })

  it("more than one block where one is allowed", () => {
    expect(fields(taskIssues({ image: "x/y", auth: [{ username: "a" }, { username: "b" }] }))).toEqual(["auth"])
  })

  it("accepts the memory syntaxes: bytes, suffixes, -1 for swap", () => {
    for (const [m, bytes] of [["1048576", 1048576], ["512b", 512], ["64k", 65536], ["64kb", 65536], ["64KiB", 65536], ["128m", 134217728], ["128MB", 134217728], ["1g", 1073741824], ["1GiB", 1073741824], ["1.5g", 1610612736]] as const) {
      expect(task({ image: "x/y", memory_reservation: m }).memory_reservation).toBe(bytes)
    }
    expect(task({ image: "x/y", memory_swap: "-1" }).memory_swap).toEqual({ _tag: "unlimited" })
  })

  it("accepts Go durations", () => {
    for (const [d, ms] of [["300ms", 300], ["5m", 300_000], ["1h30m", 5_400_000], ["1.5s", 1500], ["0", 0], ["2h45m30.5s", 9_930_500], ["10us", 0.01], ["100ns", 0.0001]] as const) {
      expect(Duration.toMillis(task({ image: "x/y", image_pull_timeout: d }).image_pull_timeout)).toBe(ms)
    }
    for (const d of ["5", "m", "1d", "5 m", "-5m", ""]) {
      expect(fields(taskIssues({ image: "x/y", image_pull_timeout: d }))).toEqual(["image_pull_timeout"])
    }
  })
})

describe("decodePluginConfig", () => {
  it("absent config = all defaults", () => {
    expect(plugin(null)).toEqual(defaultPluginConfig)
    expect(plugin({})).toEqual(defaultPluginConfig)
    expect(defaultPluginConfig).toEqual({
      socket: [],
      volumes: { enabled: true },
      gc: {
        container: true,
        image: true,
        image_delay: Duration.minutes(3),
        dangling_containers: { enabled: true, dry_run: false, period: Duration.minutes(5), creation_grace: Duration.minutes(5) }
      },
      allow_privileged: false,
      allow_caps: ["audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod", "net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"],
      allow_runtimes: [],
      pull_activity_timeout: Duration.minutes(2),
      recover_stopped: false,
      disable_log_collection: false,
      logging: { driver: "nomad", options: {} },
      extra_labels: [],
      client_http_timeout: Duration.seconds(60),
      dns_servers: [],
      networking: { default_rootless_mode: "" }
    })
  })

  it("HCL1-style lists of blocks (agent config) and partially filled blocks get inner defaults", () => {
    const c = plugin({
      volumes: [{ selinuxlabel: "z" }],
      gc: [{}],
      logging: [{ options: [{ tag: "x" }] }],
      socket: [{ name: "root", socket_path: "unix:///run/podman/podman.sock" }, { socket_path: "unix:///run/user/1000/podman/podman.sock" }]
    })
    expect(c.volumes).toEqual({ enabled: true, selinuxlabel: "z" })
    expect(c.gc).toEqual(defaultPluginConfig.gc)
    expect(c.logging).toEqual({ driver: "nomad", options: { tag: "x" } })
    expect(c.socket).toEqual([
      { name: "root", socket_path: "unix:///run/podman/podman.sock" },
      { name: "default", socket_path: "unix:///run/user/1000/podman/podman.sock" }
    ])
    expect(resolveSockets(c).map((s) => s.name)).toEqual(["default", "root"])
  })

  it("a single socket block given as an object", () => {
    expect(plugin({ socket: { socket_path: "varlink:unix:/run/podman/io.podman" } }).socket).toEqual([
      { name: "default", socket_path: "varlink:unix:/run/podman/io.podman" }
    ])
  })

  it("addresses pass through untouched", () => {
    for (const a of ["unix:///run/podman/podman.sock", "varlink:unix:/run/podman/io.podman", "http://127.0.0.1:8080"]) {
      expect(resolveSockets(plugin({ socket_path: a }))).toEqual([{ name: "default", address: a }])
    }
  })

  it("rejects socket_path with socket blocks, bad drivers, bad IPs, bad durations, unknown keys", () => {
    expect(fields(pluginIssues({ socket_path: "unix:///a", socket: [{ socket_path: "unix:///b" }] }))).toEqual(["socket_path"])
    expect(fields(pluginIssues({
      logging: { driver: "syslog" },
      dns_servers: ["8.8.8.8", "dns.google"],
      client_http_timeout: "1 minute",
      socket: [{ name: "x" }],
      volumes: { enabld: false },
      nope: true
    }))).toEqual([
      "client_http_timeout",
      "dns_servers[1]",
      "logging.driver",
      "nope",
      "socket[0].socket_path",
      "volumes.enabld"
    ])
  })
})

// ---------------------------------------------------------------------------------------------
// hclspec
// ---------------------------------------------------------------------------------------------

const find = (spec: HclSpec, key: string): HclSpec => {
  if (spec._tag !== "Object") throw new Error("not an object")
  const s = spec.attributes[key]
  if (s === undefined) throw new Error(`no ${key}`)
  return s
}

describe("hclspec", () => {
  it("declares maps as list(map(T)) so block and attribute syntax both work", () => {
    for (const key of ["labels", "sysctl", "ulimit"]) {
      expect(find(taskConfigSpec, key)).toEqual({ _tag: "Attr", name: key, type: "list(map(string))", required: false })
    }
    expect(find(taskConfigSpec, "port_map")).toEqual({ _tag: "Attr", name: "port_map", type: "list(map(number))", required: false })
  })

  it("matches the Go driver's shapes for key options", () => {
    expect(find(taskConfigSpec, "image")).toEqual({ _tag: "Attr", name: "image", type: "string", required: true })
    expect(find(taskConfigSpec, "entrypoint")).toEqual({ _tag: "Attr", name: "entrypoint", type: "any", required: false })
    expect(find(taskConfigSpec, "image_pull_timeout")).toEqual({
      _tag: "Default",
      primary: { _tag: "Attr", name: "image_pull_timeout", type: "string", required: false },
      default: { _tag: "Literal", value: '"5m"' }
    })
    expect(find(taskConfigSpec, "socket")).toEqual({
      _tag: "Default",
      primary: { _tag: "Attr", name: "socket", type: "string", required: false },
      default: { _tag: "Literal", value: '"default"' }
    })
    expect(find(pluginConfigSpec, "volumes")).toMatchObject({
      _tag: "Default",
      primary: { _tag: "Block", name: "volumes" },
      default: { _tag: "Literal", value: "{ enabled = true }" }
    })
    expect(find(pluginConfigSpec, "logging")).toMatchObject({
      _tag: "Default",
      default: { _tag: "Literal", value: '{ driver = "nomad", options = {} }' }
    })
    expect(find(pluginConfigSpec, "socket")).toMatchObject({ _tag: "BlockList", name: "socket", minItems: 0, maxItems: 0 })
    const logging = find(pluginConfigSpec, "logging")
    if (logging._tag !== "Default" || logging.primary._tag !== "Block") throw new Error("shape")
    expect(find(logging.primary.nested, "options")).toEqual({ _tag: "BlockAttrs", name: "options", type: "string", required: false })
  })
})

describe("option tables", () => {
  it("list every option with type, default and description", () => {
    const t = renderTaskOptionsTable()
    expect(t.split("\n")[0]).toBe("| Option | Type | Default | Description |")
    expect(t).toContain("| `image` | string | required |")
    expect(t).toContain("| `image_pull_timeout` | string | `\"5m\"` |")
    expect(t).toContain("| `auth.tls_verify` | bool | registries.conf |")
    expect(t).toMatch(/\| `kill_signal` \| string \| unset \| \*\*Extension\*\*/)
    expect(t).toContain("| `labels` | map(string) | `{}` |")
    const p = renderPluginOptionsTable()
    expect(p).toContain("| `socket[].socket_path` | string | required |")
    expect(p).toContain("| `gc.container` | bool | `true` |")
  })
})
