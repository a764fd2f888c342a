/**
 * Translation cases: one behaviour per test, on hand-written tasks (no Podman; the property and
 * integration suites cover random configs and the real API). Configs go the way StartTask takes
 * them: decoded (where every value is parsed and checked), then translated against the task, so a
 * case's issues are whichever of the two steps rejects it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import type { ConfigIssue } from "../../src/domain/errors.ts"
import { makeNomadTask, type NomadTask, type TaskResources } from "../../src/domain/NomadTask.ts"
import { decodePluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig } from "../../src/domain/TaskConfig.ts"
import { type PodmanFacts, translate } from "../../src/translate/index.ts"

const rootful: PodmanFacts = { rootless: false, cgroupVersion: "v1", cgroupManager: "cgroupfs", apiVersion: "4.3.1", hostCpus: 4 }
const ALLOC = "11111111-2222-3333-4444-555555555555"

interface Case {
  readonly config?: Record<string, unknown>
  readonly task?: Partial<Omit<NomadTask, "resources">> & { readonly resources?: Partial<TaskResources> }
  readonly plugin?: Record<string, unknown>
  readonly podman?: Partial<PodmanFacts>
}

/** Decode, then translate: StartTask's path short of Podman. */
const startPath = (c: Case) =>
  Effect.gen(function*() {
    const config = yield* decodeUnknownTaskConfig({ image: "localhost/busybox:latest", ...c.config })
    const plugin: PluginConfig = Effect.runSync(decodePluginConfig(c.plugin ?? {}))
    const task = makeNomadTask({ name: "web", allocId: ALLOC, jobName: "job", jobId: "job-id", taskGroupName: "grp", ...c.task })
    return yield* translate({ config, plugin, task, podman: { ...rootful, ...c.podman } })
  })
const spec = (c: Case = {}): ContainerSpec => Effect.runSync(startPath(c))
const issues = (c: Case): ReadonlyArray<ConfigIssue> => {
  const exit = Effect.runSyncExit(startPath(c))
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (f === undefined || f._tag !== "Fail") throw new Error("expected a typed failure")
  expect(f.error._tag).toBe("InvalidTaskConfig")
  return f.error.issues
}
const MiB = 1024 * 1024

describe("identity, env, labels, process", () => {
  it("names the container <task>.<allocId> and keeps every env var", () => {
    const s = spec({ task: { env: { NOMAD_ALLOC_ID: ALLOC, FOO: "bar", EMPTY: "" } } })
    expect(s.name).toBe(`web.${ALLOC}`)
    expect(s.image).toBe("localhost/busybox:latest")
    expect(s.env).toEqual({ NOMAD_ALLOC_ID: ALLOC, FOO: "bar", EMPTY: "" })
  })

  it("always labels the container with its Nomad identity; task labels cannot override it", () => {
    const s = spec({ config: { labels: { team: "a", "com.hashicorp.nomad.podman.alloc_id": "spoof" } }, task: { namespace: "prod" } })
    expect(s.labels).toEqual({
      team: "a",
      "com.hashicorp.nomad.podman.alloc_id": ALLOC,
      "com.hashicorp.nomad.task_name": "web",
      "com.hashicorp.nomad.task_group_name": "grp",
      "com.hashicorp.nomad.job_name": "job",
      "com.hashicorp.nomad.job_id": "job-id",
      "com.hashicorp.nomad.namespace": "prod"
    })
  })

  it("adds node labels only when an extra_labels glob matches", () => {
    const task = { nodeName: "n1", nodeId: "id1" }
    expect(spec({ task }).labels["com.hashicorp.nomad.node_name"]).toBeUndefined()
    const all = spec({ task, plugin: { extra_labels: ["node*"] } }).labels
    expect(all["com.hashicorp.nomad.node_name"]).toBe("n1")
    expect(all["com.hashicorp.nomad.node_id"]).toBe("id1")
    const one = spec({ task, plugin: { extra_labels: ["*_id"] } }).labels
    expect(one["com.hashicorp.nomad.node_id"]).toBe("id1")
    expect(one["com.hashicorp.nomad.node_name"]).toBeUndefined()
  })

  it("command = [command, ...args]; args alone; entrypoint, workdir, hostname, user, tty, init", () => {
    const s = spec({
      config: { command: "/bin/sh", args: ["-c", "echo hi"], entrypoint: ["/bin/env"], working_dir: "/tmp", hostname: "h1", tty: true, init: true, init_path: "/usr/bin/catatonit" },
      task: { user: "65534:65534" }
    })
    expect(s.command).toEqual(["/bin/sh", "-c", "echo hi"])
    expect(s.entrypoint).toEqual(["/bin/env"])
    expect(s.work_dir).toBe("/tmp")
    expect(s.hostname).toBe("h1")
    expect(s.user).toBe("65534:65534")
    expect(s.terminal).toBe(true)
    expect(s.init).toBe(true)
    expect(s.init_path).toBe("/usr/bin/catatonit")
    expect(spec({ config: { args: ["x"] } }).command).toEqual(["x"])
    const bare = spec()
    for (const k of ["command", "entrypoint", "work_dir", "hostname", "user", "terminal", "init"] as const) expect(bare[k]).toBeUndefined()
  })

  it("port_map adds NOMAD_PORT_<label>", () => {
    const s = spec({
      config: { port_map: { http: 8080 } },
      task: { resources: { networks: [{ device: "", cidr: "", ip: "10.0.0.5", mbits: 0, reservedPorts: [], dynamicPorts: [{ label: "http", value: 23456 }] }] } }
    })
    expect(s.env["NOMAD_PORT_http"]).toBe("8080")
  })

  it("kill_signal and stop_timeout become the container's stop signal (number) and timeout (seconds)", () => {
    const s = spec({ config: { kill_signal: "SIGINT", stop_timeout: "1m30s" } })
    expect(s.stop_signal).toBe(2)
    expect(s.stop_timeout).toBe(90)
    expect(spec({ config: { kill_signal: "usr1", stop_timeout: "1500ms" } })).toMatchObject({ stop_signal: 10, stop_timeout: 2 })
  })
})

describe("logging", () => {
  it("nomad (default) → k8s-file; journald → journald with options; the task block wins", () => {
    expect(spec().log_configuration).toEqual({ driver: "k8s-file" })
    expect(spec({ plugin: { logging: { driver: "journald", options: { tag: "p" } } } }).log_configuration).toEqual({ driver: "journald", options: { tag: "p" } })
    expect(spec({ config: { logging: { driver: "nomad" } }, plugin: { logging: { driver: "journald" } } }).log_configuration).toEqual({ driver: "k8s-file" })
    expect(spec({ config: { logging: { options: { tag: "t" } } } }).log_configuration).toEqual({ driver: "k8s-file", options: { tag: "t" } })
  })
})

describe("memory", () => {
  it("plain: limit = memory, no reservation unless configured", () => {
    expect(spec({ task: { resources: { memoryMb: 256 } } }).resource_limits?.memory).toEqual({ limit: 256 * MiB })
    expect(spec({ task: { resources: { memoryMb: 256 } }, config: { memory_reservation: "128m" } }).resource_limits?.memory)
      .toEqual({ limit: 256 * MiB, reservation: 128 * MiB })
  })

  it("memory_max > 0: limit = memory_max, reservation = memory or the lower memory_reservation", () => {
    expect(spec({ task: { resources: { memoryMb: 256, memoryMaxMb: 512 } } }).resource_limits?.memory)
      .toEqual({ limit: 512 * MiB, reservation: 256 * MiB })
    expect(spec({ task: { resources: { memoryMb: 256, memoryMaxMb: 512 } }, config: { memory_reservation: "100m" } }).resource_limits?.memory)
      .toEqual({ limit: 512 * MiB, reservation: 100 * MiB })
    expect(spec({ task: { resources: { memoryMb: 256, memoryMaxMb: 512 } }, config: { memory_reservation: "300m" } }).resource_limits?.memory)
      .toEqual({ limit: 512 * MiB, reservation: 256 * MiB })
  })

  it("memory_max = -1: no hard limit, reservation = memory", () => {
    expect(spec({ task: { resources: { memoryMb: 256, memoryMaxMb: -1 } } }).resource_limits?.memory).toEqual({ reservation: 256 * MiB })
  })

  it("swap (-1 = unlimited) and swappiness only when set; swappiness only on cgroup v1", () => {
    const m = spec({ task: { resources: { memoryMb: 64 } }, config: { memory_swap: "-1", memory_swappiness: 10 } }).resource_limits?.memory
    expect(m).toEqual({ limit: 64 * MiB, swap: -1, swappiness: 10 })
    expect(spec({ task: { resources: { memoryMb: 64 } }, config: { memory_swappiness: 10 }, podman: { cgroupVersion: "v2" } }).resource_limits?.memory)
      .toEqual({ limit: 64 * MiB })
    expect(spec({ task: { resources: { memoryMb: 64 } } }).oom_score_adj).toBeUndefined()
    expect(spec({ config: { oom_score_adj: -100 } }).oom_score_adj).toBe(-100)
  })

})

describe("cpu, pids, rlimits, cgroup", () => {
  it("shares only when rootful; cpuset from reserved cores", () => {
    expect(spec({ task: { resources: { cpuShares: 500, cpusetCpus: "0,1" } } }).resource_limits?.cpu).toEqual({ shares: 500, cpus: "0,1" })
    expect(spec({ task: { resources: { cpuShares: 500 } }, podman: { rootless: true } }).resource_limits?.cpu).toBeUndefined()
  })

  it("cpu_hard_limit: quota = percentTicks × period × host CPUs, at least 1000; period defaults to 100000", () => {
    expect(spec({ config: { cpu_hard_limit: true }, task: { resources: { percentTicks: 0.25 } } }).resource_limits?.cpu)
      .toEqual({ quota: 100_000, period: 100_000 })
    expect(spec({ config: { cpu_hard_limit: true, cpu_cfs_period: 50_000 }, task: { resources: { percentTicks: 0.5 } }, podman: { hostCpus: 2 } }).resource_limits?.cpu)
      .toEqual({ quota: 50_000, period: 50_000 })
    expect(spec({ config: { cpu_hard_limit: true, cpu_cfs_period: 500 }, task: { resources: { percentTicks: 0.0001 } } }).resource_limits?.cpu)
      .toEqual({ quota: 1000, period: 1000 })
  })

  it("pids only when > 0", () => {
    expect(spec({ config: { pids_limit: 100 } }).resource_limits?.pids).toEqual({ limit: 100 })
    expect(spec({ config: { pids_limit: 0 } }).resource_limits).toBeUndefined()
  })

  it("r_limits: lower-case names, both nofile and nproc always present", () => {
    expect(spec().r_limits).toBeUndefined()
    expect(spec({ config: { ulimit: { NOFILE: "512:1024" } } }).r_limits).toEqual([
      { type: "nofile", soft: 512, hard: 1024 },
      { type: "nproc", soft: 1024, hard: 1024 }
    ])
    expect(spec({ config: { ulimit: { core: "0", nproc: "100" } } }).r_limits).toEqual([
      { type: "core", soft: 0, hard: 0 },
      { type: "nproc", soft: 100, hard: 100 },
      { type: "nofile", soft: 1024, hard: 1024 }
    ])
  })

  it("cgroup parent nomad.slice only on cgroup v2 + systemd", () => {
    expect(spec({ podman: { cgroupVersion: "v2", cgroupManager: "systemd" } }).cgroup_parent).toBe("nomad.slice")
    expect(spec({ podman: { cgroupVersion: "v2", cgroupManager: "cgroupfs" } }).cgroup_parent).toBeUndefined()
  })
})

describe("security", () => {
  it("caps, privileged, read-only rootfs, selinux, apparmor", () => {
    const s = spec({ config: { cap_add: ["NET_ADMIN"], cap_drop: ["ALL"], privileged: true, readonly_rootfs: true, selinux_opts: ["type:spc_t"], apparmor_profile: "unconfined" } })
    expect(s).toMatchObject({ cap_add: ["NET_ADMIN"], cap_drop: ["ALL"], privileged: true, read_only_filesystem: true, selinux_opts: ["type:spc_t"], apparmor_profile: "unconfined" })
  })

  it("security_opt: every supported key, with = or :", () => {
    const s = spec({
      config: {
        security_opt: ["no-new-privileges", "label=level:s0:c100", "label:nested", "apparmor=myprof", "seccomp=unconfined", "proc-opts=subset=pid", "mask=/proc/a:/proc/b", "unmask=/sys/x", "systempaths=unconfined"]
      }
    })
    expect(s).toMatchObject({
      no_new_privileges: true,
      selinux_opts: ["level:s0:c100"],
      labels_nested: true,
      apparmor_profile: "myprof",
      seccomp_profile_path: "unconfined",
      procfs_opts: ["subset=pid"],
      mask: ["/proc/a", "/proc/b"],
      unmask: ["/sys/x", "ALL"],
      annotations: {
        "io.podman.annotations.label": "level:s0:c100",
        "io.podman.annotations.apparmor": "myprof",
        "io.podman.annotations.seccomp": "unconfined"
      }
    })
    expect(issues({ config: { security_opt: ["bogus=1", "nonsense", "systempaths=strict"] } }).map((i) => i.field))
      .toEqual(["security_opt[0]", "security_opt[1]", "security_opt[2]"])
  })

  it("userns modes", () => {
    expect(spec({ config: { userns: "host" } }).userns).toEqual({ nsmode: "host" })
    expect(spec({ config: { userns: "keep-id:uid=1000,gid=1000" } }).userns).toEqual({ nsmode: "keep-id", value: "uid=1000,gid=1000" })
    expect(spec({ config: { userns: "ns:/proc/1/ns/user" } }).userns).toEqual({ nsmode: "path", value: "/proc/1/ns/user" })
    const auto = spec({ config: { userns: "auto:size=65536,uidmapping=0:1000:1,gidmapping=0:1000:1" } })
    expect(auto.userns).toEqual({ nsmode: "auto", value: "size=65536,uidmapping=0:1000:1,gidmapping=0:1000:1" })
    expect(auto.idmappings).toEqual({
      AutoUserNs: true,
      AutoUserNsOpts: {
        Size: 65536,
        AdditionalUIDMappings: [{ container_id: 0, host_id: 1000, size: 1 }],
        AdditionalGIDMappings: [{ container_id: 0, host_id: 1000, size: 1 }]
      }
    })
    expect(issues({ config: { userns: "weird" } })[0]!.field).toBe("userns")
    expect(issues({ config: { userns: "auto:size=x" } })[0]!.field).toBe("userns")
  })

  it("ipc_mode, task:<name> → the sibling container; shm_size only with an own IPC namespace", () => {
    expect(spec({ config: { ipc_mode: "task:db" } }).ipcns).toEqual({ nsmode: "container", value: `db.${ALLOC}` })
    expect(spec({ config: { ipc_mode: "ns:/proc/1/ns/ipc" } }).ipcns).toEqual({ nsmode: "path", value: "/proc/1/ns/ipc" })
    expect(spec({ config: { ipc_mode: "shareable", shm_size: "64m" } })).toMatchObject({ ipcns: { nsmode: "shareable" }, shm_size: 64 * MiB })
    expect(spec({ config: { shm_size: "1g" } }).shm_size).toBe(1024 * MiB)
    expect(issues({ config: { ipc_mode: "host", shm_size: "64m" } }).map((i) => i.field)).toEqual(["shm_size"])
    expect(issues({ config: { ipc_mode: "bogus" } }).map((i) => i.field)).toEqual(["ipc_mode"])
  })

  it("sysctl passes through", () => {
    expect(spec({ config: { sysctl: { "net.core.somaxconn": "1024" } } }).sysctl).toEqual({ "net.core.somaxconn": "1024" })
  })
})

describe("mounts and devices", () => {
  const allocDir = "/var/nomad/alloc/abc"

  it("binds the alloc, local and secrets dirs (rbind, plugin SELinux label unless privileged)", () => {
    const s = spec({ task: { allocDir }, plugin: { volumes: { selinuxlabel: "z" } } })
    expect(s.mounts).toEqual([
      { destination: "/alloc", type: "bind", source: `${allocDir}/alloc`, options: ["rbind", "z"] },
      { destination: "/local", type: "bind", source: `${allocDir}/web/local`, options: ["rbind", "z"] },
      { destination: "/secrets", type: "bind", source: `${allocDir}/web/secrets`, options: ["rbind", "z"] }
    ])
    expect(spec({ task: { allocDir }, plugin: { volumes: { selinuxlabel: "z" } }, config: { privileged: true } }).mounts![0]!.options).toEqual(["rbind"])
    expect(spec().mounts).toBeUndefined()
  })

  it("task volumes: relative to the task dir, options split; Nomad mounts with propagation; tmpfs", () => {
    const s = spec({
      task: {
        allocDir,
        mounts: [
          { taskPath: "/data", hostPath: "/srv/data", readonly: true, propagationMode: "host-to-task", selinuxLabel: "" },
          { taskPath: "/csi", hostPath: "/srv/csi", readonly: false, propagationMode: "bidirectional", selinuxLabel: "Z" },
          { taskPath: "/p", hostPath: "/srv/p", readonly: false, propagationMode: "private", selinuxLabel: "" }
        ]
      },
      config: { volumes: ["conf:/etc/app:ro,Z", "/srv/abs:/abs"], tmpfs: ["/run/x:size=64m,mode=1777", "/scratch"] }
    })
    expect(s.mounts!.slice(3)).toEqual([
      { destination: "/etc/app", type: "bind", source: `${allocDir}/web/conf`, options: ["ro", "Z"] },
      { destination: "/abs", type: "bind", source: "/srv/abs", options: [] },
      { destination: "/data", type: "bind", source: "/srv/data", options: ["ro", "rslave"] },
      { destination: "/csi", type: "bind", source: "/srv/csi", options: ["rshared", "Z"] },
      { destination: "/p", type: "bind", source: "/srv/p", options: ["rprivate"] },
      { destination: "/run/x", type: "tmpfs", source: "tmpfs", options: ["size=64m", "mode=1777"] },
      { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: [] }
    ])
  })

  it("with volumes disabled, a source outside the alloc dir fails, naming volumes[i]", () => {
    const plugin = { volumes: { enabled: false } }
    expect(spec({ task: { allocDir }, plugin, config: { volumes: ["data:/data", `${allocDir}/alloc/x:/x`] } }).mounts!.length).toBe(5)
    const found = issues({ task: { allocDir }, plugin, config: { volumes: ["ok:/ok", "/etc:/host-etc", "../../../etc:/escape"] } })
    expect(found.map((i) => i.field)).toEqual(["volumes[1]", "volumes[2]"])
    expect(found[0]!.reason).toContain("volumes are disabled")
  })

  it("malformed volumes and tmpfs are errors", () => {
    expect(issues({ task: { allocDir }, config: { volumes: ["justone", "a:relative-dst", "a:/b:c:d"], tmpfs: ["relative"] } }).map((i) => i.field))
      .toEqual(["volumes[0]", "volumes[1]", "volumes[2]", "tmpfs[0]"])
    expect(issues({ config: { volumes: ["rel:/x"] } }).map((i) => i.field)).toEqual(["volumes[0]"])
  })

  it("devices from the config and from Nomad device plugins", () => {
    const s = spec({
      config: { devices: ["/dev/fuse", "/dev/sda:/dev/xvda:rwm", "nvidia.com/gpu=all"] },
      task: { devices: [{ hostPath: "/dev/nvidia0", taskPath: "/dev/nvidia0", cgroupPermissions: "rw" }] }
    })
    expect(s.devices).toEqual([{ path: "/dev/fuse" }, { path: "/dev/sda:/dev/xvda:rwm" }, { path: "nvidia.com/gpu=all" }, { path: "/dev/nvidia0:/dev/nvidia0:rw" }])
    expect(issues({ config: { devices: ["", "sda"] } }).map((i) => i.field)).toEqual(["devices[0]", "devices[1]"])
  })
})

describe("network", () => {
  it("Nomad's group netns wins over everything", () => {
    const networkIsolation = { mode: "group" as const, path: "/var/run/netns/abc", labels: {}, hostname: "", hostAddress: "" }
    expect(spec({ task: { networkIsolation }, config: { network_mode: "host" } }).netns).toEqual({ nsmode: "path", value: "/var/run/netns/abc" })
  })

  it("Nomad's bridge-mode hostname becomes the container hostname and a hosts entry (the task's hostname wins)", () => {
    const networkIsolation = { mode: "group" as const, path: "/var/run/netns/abc", labels: {}, hostname: "api", hostAddress: "172.26.64.5" }
    expect(spec({ task: { networkIsolation } })).toMatchObject({ hostname: "api", hostadd: ["api:172.26.64.5"] })
    expect(spec({ task: { networkIsolation }, config: { hostname: "mine", extra_hosts: ["db:10.0.0.2"] } }))
      .toMatchObject({ hostname: "mine", hostadd: ["api:172.26.64.5", "db:10.0.0.2"] })
    expect(spec({ task: { networkIsolation: { ...networkIsolation, hostname: "" } } }).hostname).toBeUndefined()
  })

  it("defaults: bridge rootful; rootless → plugin default, else pasta (≥5) / slirp4netns", () => {
    expect(spec().netns).toEqual({ nsmode: "bridge" })
    expect(spec({ podman: { rootless: true } }).netns).toEqual({ nsmode: "slirp4netns" })
    expect(spec({ podman: { rootless: true, apiVersion: "5.2.0" } }).netns).toEqual({ nsmode: "pasta" })
    expect(spec({ podman: { rootless: true }, plugin: { networking: { default_rootless_mode: "pasta" } } }).netns).toEqual({ nsmode: "pasta" })
  })

  it("explicit modes", () => {
    for (const m of ["bridge", "host", "none", "pasta", "slirp4netns"]) expect(spec({ config: { network_mode: m } }).netns).toEqual({ nsmode: m })
    expect(spec({ config: { network_mode: "container:abc" } }).netns).toEqual({ nsmode: "container", value: "abc" })
    expect(spec({ config: { network_mode: "ns:/run/netns/x" } }).netns).toEqual({ nsmode: "path", value: "/run/netns/x" })
    expect(spec({ config: { network_mode: "task:sidecar" } }).netns).toEqual({ nsmode: "container", value: `sidecar.${ALLOC}` })
  })

  it("a custom network name → bridge + Networks; static addresses go on the selected network", () => {
    expect(spec({ config: { network_mode: "mynet" } })).toMatchObject({ netns: { nsmode: "bridge" }, Networks: { mynet: {} } })
    expect(spec({ config: { network_mode: "mynet", ipv4_address: "10.1.0.5", static_ips: ["fd00::5"], static_mac: "02:42:ac:11:00:02" } }).Networks)
      .toEqual({ mynet: { static_ips: ["10.1.0.5", "fd00::5"], static_mac: "02:42:ac:11:00:02" } })
    expect(spec({ config: { ipv4_address: "10.88.0.9" } }).Networks).toEqual({ default: { static_ips: ["10.88.0.9"] } })
    expect(spec({ config: { network_mode: "host", ipv4_address: "10.88.0.9" } }).Networks).toBeUndefined()
    expect(issues({ config: { network_mode: "bad name!" } }).map((i) => i.field)).toEqual(["network_mode"])
  })

  it("dns from the task, else the plugin; extra_hosts → hostadd", () => {
    const dns = { servers: ["1.1.1.1"], searches: ["svc"], options: ["ndots:2"] }
    expect(spec({ task: { dns }, plugin: { dns_servers: ["8.8.8.8"] } })).toMatchObject({ dns_server: ["1.1.1.1"], dns_search: ["svc"], dns_option: ["ndots:2"] })
    expect(spec({ plugin: { dns_servers: ["8.8.8.8"] } }).dns_server).toEqual(["8.8.8.8"])
    expect(spec({ task: { dns: { servers: [], searches: [], options: [] } }, plugin: { dns_servers: ["8.8.8.8"] } }).dns_server).toEqual(["8.8.8.8"])
    expect(issues({ task: { dns: { servers: ["nope"], searches: [], options: [] } } }).map((i) => i.field)).toEqual(["dns.servers[0]"])
    expect(spec({ config: { extra_hosts: ["db:10.0.0.2", "v6:fd00::1"] } }).hostadd).toEqual(["db:10.0.0.2", "v6:fd00::1"])
  })
})

describe("ports", () => {
  const ports = [
    { label: "http", value: 25001, to: 8080, hostIp: "127.0.0.1" },
    { label: "raw", value: 25002, to: 0, hostIp: "" }
  ]

  it("each label → its allocated host port, to (or the same port), host IP, TCP and UDP", () => {
    expect(spec({ config: { ports: ["http", "raw"] }, task: { resources: { ports } } }).portmappings).toEqual([
      { container_port: 8080, host_port: 25001, host_ip: "127.0.0.1", protocol: "tcp" },
      { container_port: 8080, host_port: 25001, host_ip: "127.0.0.1", protocol: "udp" },
      { container_port: 25002, host_port: 25002, protocol: "tcp" },
      { container_port: 25002, host_port: 25002, protocol: "udp" }
    ])
  })

  it("unknown labels fail naming ports[i]", () => {
    const found = issues({ config: { ports: ["http", "nope"] }, task: { resources: { ports } } })
    expect(found.map((i) => i.field)).toEqual(["ports[1]"])
    expect(found[0]!.reason).toContain("http, raw")
    expect(issues({ config: { ports: ["http"] } }).map((i) => i.field)).toEqual(["ports[0]"])
  })

  it("port_map: every reserved and dynamic port of the first network, remapped by label", () => {
    const networks = [{ device: "", cidr: "", ip: "10.0.0.5", mbits: 0, reservedPorts: [{ label: "admin", value: 9000 }], dynamicPorts: [{ label: "http", value: 23456 }] }]
    expect(spec({ config: { port_map: { http: 80 } }, task: { resources: { networks } } }).portmappings).toEqual([
      { container_port: 9000, host_port: 9000, host_ip: "10.0.0.5", protocol: "tcp" },
      { container_port: 9000, host_port: 9000, host_ip: "10.0.0.5", protocol: "udp" },
      { container_port: 80, host_port: 23456, host_ip: "10.0.0.5", protocol: "tcp" },
      { container_port: 80, host_port: 23456, host_ip: "10.0.0.5", protocol: "udp" }
    ])
    expect(issues({ config: { port_map: { http: 80 } } }).map((i) => i.field)).toEqual(["port_map"])
  })
})

describe("errors are collected", () => {
  it("the decoder reports every value problem in one InvalidTaskConfig", () => {
    const found = issues({
      config: { ports: ["x"], volumes: ["bad"], userns: "what", security_opt: ["nope"], network_mode: "!!" }
    })
    expect(found.map((i) => i.field).sort()).toEqual(["network_mode", "security_opt[0]", "userns", "volumes[0]"])
  })

  it("the translation reports every problem only the task reveals in one InvalidTaskConfig", () => {
    const found = issues({ config: { ports: ["x"], volumes: ["rel:/x"] }, task: { dns: { servers: ["nope"], searches: [], options: [] } } })
    expect(found.map((i) => i.field).sort()).toEqual(["dns.servers[0]", "ports[0]", "volumes[0]"])
  })
})
