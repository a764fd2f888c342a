/**
 * Security and IPC: capabilities, SELinux, AppArmor, `security_opt`, user namespace, IPC namespace
 * and /dev/shm.
 *
 * `security_opt`: the label/apparmor/seccomp choices are also recorded as
 * `io.podman.annotations.*`, as the Podman CLI does; a later `apparmor=`/`seccomp=` wins over an
 * earlier one, and `apparmor=` wins over `apparmor_profile`.
 *
 * `userns = "ns:<path>"` is sent as libpod's `path` mode, which is what Podman expects; `auto`
 * also fills libpod's `idmappings`.
 */
import type { ContainerSpec, IdMappingsSpec, NamespaceSpec } from "../domain/ContainerSpec.ts"
import type { IpcMode, UsernsMode } from "../domain/values/namespaces.ts"
import { usernsOptions } from "../domain/values/namespaces.ts"
import type { SecurityOpt } from "../domain/values/security.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import { type Mutable, siblingContainerName, type TranslateInput } from "./types.ts"

type Part = Partial<Mutable<ContainerSpec>>

/** `CAP_SYS_ADMIN`, `sys_admin`, ` Sys_Admin ` → `sys_admin` (the docker driver's comparison). */
export const normaliseCap = (cap: string): string => cap.trim().toLowerCase().replace(/^cap_/, "")

/** `allow_caps` contains `all`. */
export const allowsAllCaps = (caps: ReadonlyArray<string>): boolean => caps.some((c) => normaliseCap(c) === "all")

/**
 * Podman's default capabilities that `allow_caps` does not allow: dropped from every container, as
 * the docker driver drops Docker's defaults outside `allow_caps`. Upper-case, without the prefix.
 */
export const capsToDrop = (allowCaps: ReadonlyArray<string>, podmanDefaults: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (allowsAllCaps(allowCaps)) return []
  const allowed = new Set(allowCaps.map(normaliseCap))
  return podmanDefaults.map(normaliseCap).filter((c) => c !== "" && !allowed.has(c)).map((c) => c.toUpperCase())
}

interface SecurityOpts {
  noNewPrivileges: boolean
  labelsNested: boolean
  selinux: Array<string>
  apparmor?: string
  seccomp?: string
  procOpts?: ReadonlyArray<string>
  mask: Array<string>
  unmask: Array<string>
}

const collectSecurityOpts = (list: ReadonlyArray<SecurityOpt>): SecurityOpts => {
  const out: SecurityOpts = { noNewPrivileges: false, labelsNested: false, selinux: [], mask: [], unmask: [] }
  for (const opt of list) {
    switch (opt._tag) {
      case "no-new-privileges":
        if (opt.enabled) out.noNewPrivileges = true
        break
      case "label":
        out.selinux.push(opt.value)
        break
      case "label-nested":
        out.labelsNested = true
        break
      case "apparmor":
        out.apparmor = opt.profile
        break
      case "seccomp":
        out.seccomp = opt.profile
        break
      case "proc-opts":
        out.procOpts = opt.options
        break
      case "mask":
        out.mask.push(...opt.paths)
        break
      case "unmask":
        out.unmask.push(...opt.paths)
        break
    }
  }
  return out
}

/** `userns` → libpod's `userns` namespace and `idmappings`. */
export const userNamespace = (mode: UsernsMode): { userns: NamespaceSpec; idmappings?: IdMappingsSpec } => {
  const value = usernsOptions(mode)
  const nsmode = mode._tag === "ns" ? "path" : mode._tag
  const userns: NamespaceSpec = value === "" ? { nsmode } : { nsmode, value }
  if (mode._tag !== "auto") return { userns }
  const autoOpts: Mutable<NonNullable<IdMappingsSpec["AutoUserNsOpts"]>> = {}
  if (mode.size !== undefined) autoOpts.Size = mode.size
  if (mode.uidMappings.length > 0) autoOpts.AdditionalUIDMappings = mode.uidMappings
  if (mode.gidMappings.length > 0) autoOpts.AdditionalGIDMappings = mode.gidMappings
  return { userns, idmappings: { AutoUserNs: true, AutoUserNsOpts: autoOpts } }
}

/** `ipc_mode` → libpod's `ipcns`. */
export const ipcNamespace = (task: NomadTask, mode: IpcMode): NamespaceSpec => {
  switch (mode._tag) {
    case "container":
      return { nsmode: "container", value: mode.container }
    case "ns":
      return { nsmode: "path", value: mode.path }
    case "task":
      return { nsmode: "container", value: siblingContainerName(task, mode.task) }
    default:
      return { nsmode: mode._tag }
  }
}

/** The security part of the spec. */
export const security = (input: TranslateInput): Part => {
  const { config } = input
  const out: Part = {}
  if (config.privileged) out.privileged = true
  if (config.readonly_rootfs) out.read_only_filesystem = true
  if (config.cap_add.length > 0) out.cap_add = config.cap_add
  // defaults the operator does not allow go too, unless the task adds them back (cap_add wins)
  const added = new Set(config.cap_add.map(normaliseCap))
  const narrowed = capsToDrop(input.plugin.allow_caps, input.podman.defaultCapabilities ?? [])
    .filter((c) => !added.has(normaliseCap(c)) && !config.cap_drop.some((d) => normaliseCap(d) === normaliseCap(c)))
  const drop = [...config.cap_drop, ...narrowed]
  if (drop.length > 0) out.cap_drop = drop
  if (config.runtime !== undefined && config.runtime.trim() !== "") out.oci_runtime = config.runtime.trim()
  if (config.healthchecks?.disable === true) out.healthconfig = { Test: ["NONE"] }

  const opts = collectSecurityOpts(config.security_opt)
  const selinux = [...config.selinux_opts, ...opts.selinux]
  if (selinux.length > 0) out.selinux_opts = selinux
  const apparmor = opts.apparmor ?? config.apparmor_profile
  if (apparmor !== undefined && apparmor !== "") out.apparmor_profile = apparmor
  if (opts.seccomp !== undefined) out.seccomp_profile_path = opts.seccomp
  if (opts.noNewPrivileges) out.no_new_privileges = true
  if (opts.labelsNested) out.labels_nested = true
  if (opts.procOpts !== undefined) out.procfs_opts = opts.procOpts
  if (opts.mask.length > 0) out.mask = opts.mask
  if (opts.unmask.length > 0) out.unmask = opts.unmask
  const annotations: Record<string, string> = {}
  if (opts.selinux.length > 0) annotations["io.podman.annotations.label"] = opts.selinux.join(",label=")
  if (opts.apparmor !== undefined) annotations["io.podman.annotations.apparmor"] = opts.apparmor
  if (opts.seccomp !== undefined) annotations["io.podman.annotations.seccomp"] = opts.seccomp
  if (Object.keys(annotations).length > 0) out.annotations = annotations

  if (config.userns !== undefined) {
    const u = userNamespace(config.userns)
    out.userns = u.userns
    if (u.idmappings !== undefined) out.idmappings = u.idmappings
  }
  // the decoder has checked that shm_size comes with a private or shareable IPC namespace
  if (config.ipc_mode !== undefined) out.ipcns = ipcNamespace(input.task, config.ipc_mode)
  if (config.shm_size !== undefined) out.shm_size = config.shm_size
  return out
}
