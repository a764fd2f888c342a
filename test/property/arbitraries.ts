/**
 * fast-check arbitraries for the config and translation properties and the Podman integration
 * test: VALID task configs (in the canonical JSON form and in the shapes Nomad sends), Nomad tasks
 * whose ports/volumes the configs refer to, plugin configs and Podman facts.
 */
import fc from "fast-check"
import type { NomadTask, PortMapping, TaskMount } from "../../src/domain/NomadTask.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import type { PodmanFacts } from "../../src/translate/index.ts"

const lower = "abcdefghijklmnopqrstuvwxyz"
const alnum = lower + "0123456789"
const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(""))

/** `[a-z][a-z0-9]{0,n}` */
export const ident = (max = 8) =>
  fc.tuple(chars(lower), fc.string({ unit: chars(alnum), maxLength: max })).map(([a, b]) => a + b)

/** Printable ASCII text (env values, args): exercises quoting without control characters. */
export const text = (maxLength = 16) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength })

const envName = fc.tuple(chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), fc.string({ unit: chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), maxLength: 12 }))
  .map(([a, b]) => a + b)

const uuid = fc.uuid({ version: 4 })

/** A memory size string in one of the accepted syntaxes, with its value in bytes. */
export const memoryString = (minMiB: number, maxMiB: number): fc.Arbitrary<{ text: string; bytes: number }> =>
  fc.integer({ min: minMiB, max: maxMiB }).chain((mib) =>
    fc.constantFrom<[string, number]>(
      [`${mib}m`, mib * 1048576],
      [`${mib}M`, mib * 1048576],
      [`${mib}MiB`, mib * 1048576],
      [`${mib}mb`, mib * 1048576],
      [`${mib * 1024}k`, mib * 1048576],
      [`${mib * 1024}KiB`, mib * 1048576],
      [`${mib * 1048576}`, mib * 1048576],
      [`${mib * 1048576}b`, mib * 1048576]
    ).map(([text, bytes]) => ({ text, bytes }))
  )

export interface ScenarioOptions {
  /** Host path of the alloc dir; `undefined` → a fake `/var/nomad/alloc/<id>` (no I/O in pure tests). */
  readonly allocDir?: string
  /** Absolute host directories that exist, for absolute volume sources. */
  readonly hostDirs?: ReadonlyArray<string>
  /** Host ports to allocate from (unique per scenario); default 20001..65000. */
  readonly portRange?: { readonly min: number; readonly max: number }
  /** Only what the sandbox Podman can create: netns bridge/none, rlimits ≤ 1024, no swap, no devices. */
  readonly forPodman?: boolean
}

export interface Scenario {
  /** The task `config {}` as canonical JSON. */
  readonly config: Record<string, unknown>
  readonly task: NomadTask
  readonly plugin: Record<string, unknown>
  readonly podman: PodmanFacts
}

const portMappings = (range: { min: number; max: number }): fc.Arbitrary<ReadonlyArray<PortMapping>> =>
  fc.uniqueArray(ident(6), { maxLength: 4 }).chain((labels) =>
    fc.tuple(
      fc.uniqueArray(fc.integer(range), { minLength: labels.length, maxLength: labels.length }),
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 65535 })), { minLength: labels.length, maxLength: labels.length }),
      fc.array(fc.constantFrom("", "127.0.0.1"), { minLength: labels.length, maxLength: labels.length })
    ).map(([values, tos, ips]) =>
      labels.map((label, i) => ({ label, value: values[i]!, to: tos[i]!, hostIp: ips[i]! }))
    )
  )

/** A valid Nomad task (resources, env, ports, mounts) plus facts about the Podman it runs on. */
export const nomadTask = (o: ScenarioOptions = {}): fc.Arbitrary<{ task: NomadTask; podman: PodmanFacts }> =>
  fc.record({
    name: ident(10),
    allocId: uuid,
    jobName: ident(10),
    taskGroupName: ident(10),
    namespace: fc.constantFrom("default", "prod"),
    nodeName: ident(6),
    nodeId: uuid,
    env: fc.dictionary(envName, text(), { maxKeys: 8 }),
    user: o.forPodman ? fc.constantFrom("", "0", "65534", "65534:65534", "nobody") : fc.constantFrom("", "root", "1000:1000"),
    memoryMb: fc.integer({ min: 6, max: 2048 }),
    memoryMax: fc.oneof(fc.constant(0), fc.constant(-1), fc.integer({ min: 0, max: 2048 })),
    cpuShares: fc.integer({ min: 2, max: 4000 }),
    cpusetCpus: o.forPodman ? fc.constantFrom("", "0") : fc.constantFrom("", "0", "0,1", "2-3"),
    percentTicks: fc.double({ min: 0, max: 1, noNaN: true }),
    ports: portMappings(o.portRange ?? { min: 20001, max: 65000 }),
    withAllocDir: o.allocDir !== undefined ? fc.constant(true) : fc.boolean(),
    mounts: o.forPodman ? fc.constant<ReadonlyArray<TaskMount>>([]) : fc.array(
      fc.record({
        taskPath: ident(6).map((s) => `/mnt/${s}`),
        hostPath: ident(6).map((s) => `/srv/${s}`),
        readonly: fc.boolean(),
        propagationMode: fc.constantFrom("", "private", "host-to-task", "bidirectional"),
        selinuxLabel: fc.constantFrom("", "z", "Z")
      }),
      { maxLength: 2 }
    ),
    rootless: o.forPodman ? fc.constant(false) : fc.boolean(),
    cgroupVersion: o.forPodman ? fc.constant("v1") : fc.constantFrom("v1", "v2"),
    apiVersion: o.forPodman ? fc.constant("4.3.1") : fc.constantFrom("4.3.1", "5.2.0"),
    hostCpus: fc.integer({ min: 1, max: 64 }),
    isolation: o.forPodman ? fc.constant(undefined) : fc.option(
      fc.record({
        mode: fc.constantFrom("group" as const, "task" as const),
        path: ident(8).map((n) => `/var/run/netns/${n}`),
        labels: fc.constant({}),
        hostname: fc.constantFrom("", "api", "web-1"),
        hostAddress: fc.constantFrom("", "172.26.64.5")
      }),
      { nil: undefined }
    )
  }).map((r) => {
    const memoryMaxMb = r.memoryMax > 0 ? r.memoryMb + r.memoryMax : r.memoryMax
    const task = makeNomadTask({
      name: r.name,
      allocId: r.allocId,
      jobName: r.jobName,
      jobId: `${r.jobName}-id`,
      taskGroupName: r.taskGroupName,
      namespace: r.namespace,
      nodeName: r.nodeName,
      nodeId: r.nodeId,
      env: r.env,
      user: r.user,
      allocDir: r.withAllocDir ? (o.allocDir ?? `/var/nomad/alloc/${r.allocId}`) : "",
      mounts: r.mounts,
      ...(r.isolation !== undefined ? { networkIsolation: r.isolation } : {}),
      resources: {
        memoryMb: r.memoryMb,
        memoryMaxMb,
        cpuShares: r.cpuShares,
        cpusetCpus: r.cpusetCpus,
        percentTicks: r.percentTicks,
        ports: r.ports
      }
    })
    return {
      task,
      podman: { rootless: r.rootless, cgroupVersion: r.cgroupVersion, cgroupManager: "cgroupfs", apiVersion: r.apiVersion, hostCpus: r.hostCpus }
    }
  })

const opt = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

/** A valid task config for `task` (its `ports` refer to the task's port labels). */
export const taskConfigFor = (task: NomadTask, o: ScenarioOptions = {}): fc.Arbitrary<Record<string, unknown>> => {
  const labels = task.resources.ports.map((p) => p.label)
  const volumeSources = [
    ...(task.allocDir !== "" ? ["data", "local/conf", "../alloc/shared"] : []),
    ...(o.hostDirs ?? (o.forPodman ? [] : ["/srv/a", "/opt/b"]))
  ]
  const volume = volumeSources.length === 0
    ? fc.constant<Array<string>>([])
    : fc.uniqueArray(
      fc.tuple(fc.constantFrom(...volumeSources), ident(6), fc.constantFrom("", ":ro", ":rw")).map(([s, d, m]) => `${s}:/vol/${d}${m}`),
      { maxLength: 3, selector: (v) => v.split(":")[1] }
    )
  const ulimitValue = fc.integer({ min: 16, max: 1024 }).chain((hard) => fc.integer({ min: 16, max: hard }).map((soft) => soft === hard ? `${soft}` : `${soft}:${hard}`))
  return fc.record({
    image: fc.constant("localhost/busybox:latest"),
    command: opt(fc.constantFrom("/bin/sh", "/bin/sleep", "/bin/true")),
    args: fc.array(text(10), { maxLength: 3 }),
    entrypoint: o.forPodman ? fc.constant(undefined) : opt(fc.array(fc.constantFrom("/bin/sh", "-c", "tini"), { minLength: 1, maxLength: 2 })),
    working_dir: opt(fc.constantFrom("/", "/tmp", "/srv/app", "/root")),
    hostname: opt(ident(10)),
    labels: fc.dictionary(ident(10).map((k) => `app.${k}`), text(12), { maxKeys: 4 }),
    init: fc.boolean(),
    tty: fc.boolean(),
    readonly_rootfs: o.forPodman ? fc.constant(false) : fc.boolean(),
    cap_add: fc.subarray(["NET_ADMIN", "SYS_TIME", "NET_RAW"]),
    cap_drop: fc.subarray(["MKNOD", "AUDIT_WRITE"]),
    sysctl: o.forPodman ? fc.constant({}) : fc.dictionary(fc.constantFrom("net.core.somaxconn", "net.ipv4.ip_forward"), fc.constantFrom("0", "1", "1024")),
    ulimit: fc.oneof(
      fc.constant({}),
      fc.record({ nofile: ulimitValue }),
      fc.record({ nproc: ulimitValue }),
      fc.record({ nofile: ulimitValue, nproc: ulimitValue, core: fc.constant("0") })
    ),
    pids_limit: opt(fc.integer({ min: 0, max: 4096 })),
    memory_reservation: opt(memoryString(4, Math.max(4, task.resources.memoryMb)).map((m) => m.text)),
    memory_swap: o.forPodman ? fc.constant(undefined) : opt(fc.oneof(fc.constant("-1"), memoryString(4096, 8192).map((m) => m.text))),
    memory_swappiness: o.forPodman ? fc.constant(undefined) : opt(fc.integer({ min: 0, max: 100 })),
    oom_score_adj: opt(fc.integer({ min: -1000, max: 1000 })),
    cpu_hard_limit: fc.boolean(),
    cpu_cfs_period: opt(fc.oneof(fc.constant(0), fc.integer({ min: 1000, max: 1_000_000 }))),
    volumes: volume,
    tmpfs: fc.uniqueArray(fc.tuple(ident(6), fc.constantFrom("", ":size=1m", ":mode=1777,size=2m")).map(([p, m]) => `/tmpfs/${p}${m}`), { maxLength: 2, selector: (t) => t.split(":")[0] }),
    network_mode: o.forPodman ? fc.constantFrom(undefined, "bridge", "none") : opt(fc.constantFrom("bridge", "host", "none", "task:other", "mynet", "container:abc")),
    ports: fc.subarray(labels),
    extra_hosts: fc.array(fc.tuple(ident(6), fc.ipV4()).map(([h, ip]) => `${h}:${ip}`), { maxLength: 2 }),
    security_opt: fc.subarray(o.forPodman ? ["no-new-privileges"] : ["no-new-privileges", "label=disable", "seccomp=unconfined", "mask=/proc/a"]),
    kill_signal: opt(fc.constantFrom("SIGINT", "TERM", "SIGUSR1", "9", "sighup")),
    stop_timeout: opt(fc.constantFrom("0", "1s", "30s", "1m30s", "2500ms")),
    logging: opt(fc.record({ driver: fc.constantFrom("nomad", "journald") })),
    socket: fc.constant("default")
  }).map((c) => {
    // with a sandbox Podman, journald logging cannot be used (no systemd)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(c)) {
      if (v === undefined) continue
      if (k === "logging" && o.forPodman) continue
      out[k] = v
    }
    return out
  })
}

/** A plugin config (canonical JSON). */
export const pluginConfig = (o: ScenarioOptions = {}): fc.Arbitrary<Record<string, unknown>> =>
  fc.record({
    volumes: fc.record({ enabled: fc.constant(true), selinuxlabel: o.forPodman ? fc.constant(undefined) : opt(fc.constantFrom("z", "Z")) }),
    extra_labels: fc.subarray(["job_name", "node_*", "*", "task_group_name"]),
    dns_servers: fc.array(fc.ipV4(), { maxLength: 2 }),
    networking: fc.record({ default_rootless_mode: fc.constantFrom("", "slirp4netns", "pasta") })
  }).map((p) => ({
    ...p,
    volumes: p.volumes.selinuxlabel === undefined ? { enabled: p.volumes.enabled } : p.volumes
  }))

/** A complete valid scenario. */
export const scenario = (o: ScenarioOptions = {}): fc.Arbitrary<Scenario> =>
  nomadTask(o).chain(({ task, podman }) =>
    fc.tuple(taskConfigFor(task, o), pluginConfig(o)).map(([config, plugin]) => ({ config, task, plugin, podman }))
  )

/**
 * The same config in a shape Nomad may send: maps wrapped in one-element lists or split into a list
 * of maps, blocks wrapped in lists, numbers as strings, absent options as explicit nulls.
 */
export const nomadShaped = (config: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> => {
  const mapKeys = new Set(["labels", "sysctl", "ulimit", "port_map"])
  const numberKeys = new Set(["pids_limit", "memory_swappiness", "oom_score_adj", "cpu_cfs_period"])
  const entries = Object.entries(config).map(([k, v]) => {
    if (mapKeys.has(k) && v !== null && typeof v === "object") {
      const pairs = Object.entries(v as Record<string, unknown>)
      return fc.constantFrom(
        v,
        [v],
        pairs.map(([a, b]) => ({ [a]: b }))
      ).map((shaped) => [k, shaped] as const)
    }
    if (k === "logging" && v !== null && typeof v === "object") return fc.constantFrom(v, [v]).map((s) => [k, s] as const)
    if (numberKeys.has(k) && typeof v === "number") return fc.constantFrom(v, String(v)).map((s) => [k, s] as const)
    return fc.constant([k, v] as const)
  })
  const nulls = fc.subarray(["command", "hostname", "auth", "memory_swap", "network_mode", "labels", "devices"].filter((k) => !(k in config)))
  return fc.tuple(fc.tuple(...entries), nulls).map(([pairs, nullKeys]) => ({
    ...Object.fromEntries(pairs),
    ...Object.fromEntries(nullKeys.map((k) => [k, null]))
  }))
}
