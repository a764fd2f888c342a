/**
 * ContainerSpec (libpod SpecGenerator subset) → io.podman `Create` (the flags of `podman create`).
 *
 * `Create` is flag-shaped: most options become the string a user would type after the flag
 * (`--publish 127.0.0.1:8080:80/tcp`, `--memory 67108864`). An option that no flag of the
 * 1.x/2.x interface can express fails with an `Unsupported` reason naming it; nothing is dropped.
 */
import { Unsupported } from "../../src/domain/PodmanError.ts"
import type { ContainerSpec, MountSpec, NamespaceSpec } from "../../src/domain/ContainerSpec.ts"

/** The io.podman `Create` struct (only the fields we set; every one but `args` optional). */
export type IoPodmanCreate = { readonly args: ReadonlyArray<string> } & { readonly [flag: string]: unknown }

const unsupported = (option: string, detail: string) =>
  new Unsupported({ transport: "varlink", what: `containerCreate option ${option}: ${detail}` })

const kv = (r: Readonly<Record<string, string>>) => Object.entries(r).map(([k, v]) => `${k}=${v}`)

/** `host`, `private`, `container:<id>`, `ns:<path>`, `slirp4netns:<opts>`... as the CLI spells namespaces. */
const nsFlag = (ns: NamespaceSpec, option: string): string | Unsupported => {
  switch (ns.nsmode) {
    case "container":
    case "ns":
      if (!ns.value) return unsupported(option, `${ns.nsmode} namespace needs a value`)
      return `${ns.nsmode}:${ns.value}`
    case "path":
      if (!ns.value) return unsupported(option, "path namespace needs a value")
      return `ns:${ns.value}`
    default:
      return ns.value ? `${ns.nsmode}:${ns.value}` : ns.nsmode
  }
}

const mountFlag = (m: MountSpec): { readonly flag: "volume" | "tmpfs"; readonly value: string } | Unsupported => {
  if (m.destination.includes(":") || m.source.includes(":")) {
    return unsupported("mounts", `paths containing ":" cannot be passed through --volume (${m.destination})`)
  }
  if (m.type === "tmpfs") return { flag: "tmpfs", value: m.options.length > 0 ? `${m.destination}:${m.options.join(",")}` : m.destination }
  // --volume takes rw/ro, z/Z, [r]shared/[r]slave/[r]private, [r]bind, nocopy, (no)exec, (no)dev, (no)suid
  return { flag: "volume", value: m.options.length > 0 ? `${m.source}:${m.destination}:${m.options.join(",")}` : `${m.source}:${m.destination}` }
}

/** Formats a health check test (`["CMD-SHELL", "x"]`, `["CMD", "a", "b"]`, `["NONE"]`) as --health-cmd. */
const healthCmd = (test: ReadonlyArray<string>): string | Unsupported => {
  const [kind, ...rest] = test
  if (kind === "NONE") return "none"
  if (kind === "CMD-SHELL" && rest.length === 1) return rest[0]!
  if (kind === "CMD") return JSON.stringify(rest)
  return unsupported("healthconfig", `health check test ${JSON.stringify(test)} has no --health-cmd form`)
}

/** Maps a ContainerSpec onto io.podman's Create. */
export const toIoPodmanCreate = (spec: ContainerSpec): IoPodmanCreate | Unsupported => {
  const c: Record<string, unknown> = {}
  const list = (flag: string, values: ReadonlyArray<string>) => {
    if (values.length === 0) return
    c[flag] = [...((c[flag] as Array<string> | undefined) ?? []), ...values]
  }

  c.name = spec.name
  c.detach = true
  const args = [spec.image, ...(spec.command ?? [])]
  // --entrypoint takes a string; a JSON array is read as the exec form.
  if (spec.entrypoint !== undefined) c.entrypoint = JSON.stringify(spec.entrypoint)
  list("env", kv(spec.env))
  list("label", kv(spec.labels))
  if (spec.annotations) list("annotation", kv(spec.annotations))
  if (spec.work_dir !== undefined) c.workDir = spec.work_dir
  if (spec.hostname !== undefined) c.hostname = spec.hostname
  if (spec.user !== undefined) c.user = spec.user
  if (spec.terminal !== undefined) c.tty = spec.terminal
  if (spec.init !== undefined) c.init = spec.init
  if (spec.init_path !== undefined) c.initPath = spec.init_path
  if (spec.privileged !== undefined) c.privileged = spec.privileged
  if (spec.read_only_filesystem !== undefined) c.readonly = spec.read_only_filesystem
  if (spec.cap_add) list("capAdd", spec.cap_add)
  if (spec.cap_drop) list("capDrop", spec.cap_drop)
  if (spec.selinux_opts) list("securityOpt", spec.selinux_opts.map((o) => `label=${o}`))
  if (spec.apparmor_profile !== undefined) list("securityOpt", [`apparmor=${spec.apparmor_profile}`])
  if (spec.seccomp_profile_path !== undefined) list("securityOpt", [`seccomp=${spec.seccomp_profile_path}`])
  if (spec.no_new_privileges) list("securityOpt", ["no-new-privileges"])
  if (spec.labels_nested) return unsupported("labels_nested", "io.podman's Create has no flag for nested SELinux labels")
  if (spec.procfs_opts && spec.procfs_opts.length > 0) return unsupported("procfs_opts", "io.podman's Create has no flag for /proc mount options")
  if (spec.mask && spec.mask.length > 0) list("securityOpt", [`mask=${spec.mask.join(":")}`])
  if (spec.unmask && spec.unmask.length > 0) list("securityOpt", [`unmask=${spec.unmask.join(":")}`])

  if (spec.userns) {
    const v = nsFlag(spec.userns, "userns")
    if (typeof v !== "string") return v
    c.userns = v
  }
  if (spec.idmappings) {
    const m = spec.idmappings
    const opts = m.AutoUserNsOpts
    if (opts?.AdditionalUIDMappings?.length || opts?.AdditionalGIDMappings?.length) {
      return unsupported("idmappings", "additional uid/gid mappings of an auto user namespace have no Create flag")
    }
    if (m.AutoUserNs) {
      if (c.userns !== undefined && c.userns !== "auto") return unsupported("idmappings", "auto user namespace conflicts with userns")
      c.userns = opts?.Size !== undefined ? `auto:size=${opts.Size}` : "auto"
    }
  }
  if (spec.ipcns) {
    const v = nsFlag(spec.ipcns, "ipcns")
    if (typeof v !== "string") return v
    c.ipc = v
  }
  let network: string | undefined
  if (spec.netns) {
    const v = nsFlag(spec.netns, "netns")
    if (typeof v !== "string") return v
    network = v
  }
  if (spec.Networks && Object.keys(spec.Networks).length > 0) {
    const names = Object.keys(spec.Networks)
    if (network !== undefined && network !== "bridge") {
      return unsupported("Networks", `named networks need bridge networking, not ${network}`)
    }
    network = names.join(",")
    const withIp = Object.values(spec.Networks).filter((n) => (n.static_ips?.length ?? 0) > 0 || n.static_mac !== undefined)
    if (withIp.length > 0) {
      const n = withIp[0]!
      if (withIp.length > 1 || (n.static_ips?.length ?? 0) > 1) {
        return unsupported("Networks", "Create takes one static IP and one MAC address for the whole container")
      }
      if (n.static_ips?.[0] !== undefined) c.ip = n.static_ips[0]
      if (n.static_mac !== undefined) c.macAddress = n.static_mac
    }
  }
  if (network !== undefined) c.network = network

  if (spec.shm_size !== undefined) c.shmSize = String(spec.shm_size)
  if (spec.sysctl) list("sysctl", kv(spec.sysctl))
  if (spec.r_limits) {
    list("ulimit", spec.r_limits.map((r) => `${r.type.toLowerCase().replace(/^rlimit_/, "")}=${r.soft}:${r.hard}`))
  }
  const res = spec.resource_limits
  if (res?.memory) {
    const m = res.memory
    if (m.limit !== undefined) c.memory = String(m.limit)
    if (m.reservation !== undefined) c.memoryReservation = String(m.reservation)
    if (m.swap !== undefined) c.memorySwap = String(m.swap)
    if (m.swappiness !== undefined) c.memorySwappiness = m.swappiness
  }
  if (res?.cpu) {
    const p = res.cpu
    if (p.shares !== undefined) c.cpuShares = p.shares
    if (p.quota !== undefined) c.cpuQuota = p.quota
    if (p.period !== undefined) c.cpuPeriod = p.period
    if (p.cpus !== undefined) c.cpuSetCpus = p.cpus
  }
  if (res?.pids) c.pidsLimit = res.pids.limit
  if (spec.oom_score_adj !== undefined) c.oomScoreAdj = spec.oom_score_adj
  if (spec.devices) list("device", spec.devices.map((d) => d.path))
  for (const m of spec.mounts ?? []) {
    const f = mountFlag(m)
    if (f instanceof Unsupported) return f
    list(f.flag, [f.value])
  }
  if (spec.portmappings) {
    list(
      "publish",
      spec.portmappings.map((p) => {
        // --publish [ip:][hostPort:]containerPort/proto; a host IP without a port is "ip::containerPort"
        const host = p.host_port > 0 ? String(p.host_port) : ""
        const prefix = p.host_ip ? `${p.host_ip}:${host}:` : host !== "" ? `${host}:` : ""
        return `${prefix}${p.container_port}/${p.protocol}`
      })
    )
  }
  if (spec.dns_server) list("dns", spec.dns_server)
  if (spec.dns_search) list("dnsSearch", spec.dns_search)
  if (spec.dns_option) list("dnsOpt", spec.dns_option)
  if (spec.hostadd) list("addHost", spec.hostadd)
  if (spec.log_configuration) {
    const l = spec.log_configuration
    c.logDriver = l.driver
    if (l.path !== undefined) list("logOpt", [`path=${l.path}`])
    if (l.options) list("logOpt", kv(l.options))
  }
  if (spec.stop_signal !== undefined) c.stopSignal = String(spec.stop_signal)
  if (spec.stop_timeout !== undefined) c.stopTimeout = spec.stop_timeout
  if (spec.cgroup_parent !== undefined) c.cgroupParent = spec.cgroup_parent
  if (spec.oci_runtime !== undefined) return unsupported("oci_runtime", "a per-container OCI runtime (io.podman's Create has no runtime flag)")
  if (spec.healthconfig) {
    const h = healthCmd(spec.healthconfig.Test)
    if (typeof h !== "string") return h
    c.healthcheckCommand = h
  }
  return { ...c, args }
}
