/**
 * Security and IPC: capabilities, SELinux, AppArmor, `security_opt`, user namespace, IPC namespace
 * and /dev/shm.
 *
 * `security_opt` entries (`key=value`, or `key:value`): `no-new-privileges`, `label=<opt>` /
 * `label=nested`, `apparmor=<profile>`, `seccomp=<path|unconfined>`, `proc-opts=a,b`,
 * `mask=p1:p2`, `unmask=p1:p2|ALL`, `systempaths=unconfined`; the label/apparmor/seccomp choices
 * are also recorded as `io.podman.annotations.*`, as the Podman CLI does. Anything else is an error.
 *
 * `userns`: `host`, `auto[:size=N,uidmapping=c:h:n,gidmapping=c:h:n]`, `keep-id[:uid=U,gid=G]`,
 * `nomap`, `ns:<path>` (sent as libpod's `path` mode, which is what Podman expects).
 */
import type { ContainerSpec, IdMappingsSpec, NamespaceSpec } from "../domain/ContainerSpec.ts"
import { type Issues, type Mutable, siblingContainerName, type TranslateInput } from "./types.ts"
import { parseMemory } from "./values.ts"

type Part = Partial<Mutable<ContainerSpec>>

interface SecurityOpts {
  noNewPrivileges: boolean
  labelsNested: boolean
  selinux: Array<string>
  apparmor?: string
  seccomp?: string
  procOpts?: Array<string>
  mask: Array<string>
  unmask: Array<string>
}

const parseSecurityOpts = (list: ReadonlyArray<string>, issues: Issues): SecurityOpts => {
  const out: SecurityOpts = { noNewPrivileges: false, labelsNested: false, selinux: [], mask: [], unmask: [] }
  list.forEach((opt, i) => {
    const field = `security_opt[${i}]`
    if (opt === "no-new-privileges" || opt === "no-new-privileges=true" || opt === "no-new-privileges:true") {
      out.noNewPrivileges = true
      return
    }
    const eq = opt.indexOf("=")
    const colon = opt.indexOf(":")
    const sep = eq !== -1 ? eq : colon
    if (sep <= 0) {
      issues.push({ field, reason: `invalid security_opt ${JSON.stringify(opt)}` })
      return
    }
    const key = opt.slice(0, sep)
    const value = opt.slice(sep + 1)
    if (value === "") {
      issues.push({ field, reason: `security_opt ${JSON.stringify(key)} needs a value` })
      return
    }
    switch (key) {
      case "no-new-privileges":
        if (value === "false") return
        issues.push({ field, reason: `invalid no-new-privileges value ${JSON.stringify(value)}` })
        return
      case "label":
        if (value === "nested") out.labelsNested = true
        else out.selinux.push(value)
        return
      case "apparmor":
        out.apparmor = value
        return
      case "seccomp":
        out.seccomp = value
        return
      case "proc-opts":
        out.procOpts = value.split(",").filter((v) => v !== "")
        return
      case "mask":
        out.mask.push(...value.split(":").filter((v) => v !== ""))
        return
      case "unmask":
        if (value === "ALL") out.unmask.push("ALL")
        else out.unmask.push(...value.split(":").filter((v) => v !== ""))
        return
      case "systempaths":
        if (value === "unconfined") out.unmask.push("ALL")
        else issues.push({ field, reason: `invalid systempaths option ${JSON.stringify(value)} (only "unconfined" is supported)` })
        return
      default:
        issues.push({ field, reason: `unknown security_opt ${JSON.stringify(key)}` })
    }
  })
  return out
}

const parseIdMapping = (text: string): { container_id: number; host_id: number; size: number } | undefined => {
  const m = /^(\d+):(\d+):(\d+)$/.exec(text)
  if (m === null) return undefined
  const [c, h, s] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return c <= 0xffffffff && h <= 0xffffffff && s >= 1 && s <= 0xffffffff ? { container_id: c, host_id: h, size: s } : undefined
}

/** `userns` → libpod's `userns` namespace and `idmappings`. */
export const userNamespace = (
  userns: string,
  issues: Issues
): { userns?: NamespaceSpec; idmappings?: IdMappingsSpec } => {
  const field = "userns"
  const idx = userns.indexOf(":")
  const mode = idx === -1 ? userns : userns.slice(0, idx)
  const value = idx === -1 ? "" : userns.slice(idx + 1)
  switch (mode) {
    case "":
      return {}
    case "host":
    case "nomap":
      if (value !== "") issues.push({ field, reason: `userns mode ${JSON.stringify(mode)} takes no options` })
      return { userns: { nsmode: mode } }
    case "keep-id": {
      for (const opt of value === "" ? [] : value.split(",")) {
        if (!/^(uid|gid)=\d+$/.test(opt)) issues.push({ field, reason: `invalid keep-id option ${JSON.stringify(opt)} (expected uid=N or gid=N)` })
      }
      return { userns: value === "" ? { nsmode: "keep-id" } : { nsmode: "keep-id", value } }
    }
    case "ns":
      if (!value.startsWith("/")) issues.push({ field, reason: "ns: needs an absolute namespace path" })
      return { userns: { nsmode: "path", value } }
    case "auto": {
      let size: number | undefined
      const uid: Array<{ container_id: number; host_id: number; size: number }> = []
      const gid: Array<{ container_id: number; host_id: number; size: number }> = []
      for (const opt of value === "" ? [] : value.split(",")) {
        const eq = opt.indexOf("=")
        const k = eq === -1 ? opt : opt.slice(0, eq)
        const v = eq === -1 ? "" : opt.slice(eq + 1)
        if (k === "size" && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 0xffffffff) size = Number(v)
        else if (k === "uidmapping" && parseIdMapping(v) !== undefined) uid.push(parseIdMapping(v)!)
        else if (k === "gidmapping" && parseIdMapping(v) !== undefined) gid.push(parseIdMapping(v)!)
        else issues.push({ field, reason: `invalid userns auto option ${JSON.stringify(opt)} (expected size=N, uidmapping=c:h:n or gidmapping=c:h:n)` })
      }
      const autoOpts: { Size?: number; AdditionalUIDMappings?: typeof uid; AdditionalGIDMappings?: typeof gid } = {}
      if (size !== undefined) autoOpts.Size = size
      if (uid.length > 0) autoOpts.AdditionalUIDMappings = uid
      if (gid.length > 0) autoOpts.AdditionalGIDMappings = gid
      return {
        userns: value === "" ? { nsmode: "auto" } : { nsmode: "auto", value },
        idmappings: { AutoUserNs: true, AutoUserNsOpts: autoOpts }
      }
    }
    default:
      issues.push({ field, reason: `unknown userns mode ${JSON.stringify(mode)} (expected host, auto, keep-id, nomap or ns:<path>)` })
      return {}
  }
}

/** `ipc_mode` → libpod's `ipcns`. */
export const ipcNamespace = (input: TranslateInput, ipcMode: string, issues: Issues): NamespaceSpec | undefined => {
  const field = "ipc_mode"
  switch (ipcMode) {
    case "host":
    case "private":
    case "shareable":
    case "none":
      return { nsmode: ipcMode }
  }
  const prefix = (p: string) => ipcMode.startsWith(p) ? ipcMode.slice(p.length) : undefined
  const container = prefix("container:")
  if (container !== undefined && container !== "") return { nsmode: "container", value: container }
  const ns = prefix("ns:")
  if (ns !== undefined && ns.startsWith("/")) return { nsmode: "path", value: ns }
  const task = prefix("task:")
  if (task !== undefined && task !== "") return { nsmode: "container", value: siblingContainerName(input.task, task) }
  issues.push({ field, reason: `invalid ipc_mode ${JSON.stringify(ipcMode)} (expected host, private, shareable, none, container:<id>, ns:<path> or task:<name>)` })
  return undefined
}

/** The security part of the spec. */
export const security = (input: TranslateInput, issues: Issues): Part => {
  const { config } = input
  const out: Part = {}
  if (config.privileged) out.privileged = true
  if (config.readonly_rootfs) out.read_only_filesystem = true
  if (config.cap_add.length > 0) out.cap_add = config.cap_add
  if (config.cap_drop.length > 0) out.cap_drop = config.cap_drop

  const opts = parseSecurityOpts(config.security_opt, issues)
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

  if (config.userns !== undefined && config.userns !== "") {
    const u = userNamespace(config.userns, issues)
    if (u.userns !== undefined) out.userns = u.userns
    if (u.idmappings !== undefined) out.idmappings = u.idmappings
  }

  if (config.ipc_mode !== undefined && config.ipc_mode !== "") {
    const ipc = ipcNamespace(input, config.ipc_mode, issues)
    if (ipc !== undefined) out.ipcns = ipc
    const ownsShm = config.ipc_mode === "private" || config.ipc_mode === "shareable"
    if (config.shm_size !== undefined && !ownsShm) {
      issues.push({ field: "shm_size", reason: `cannot be used with ipc_mode ${JSON.stringify(config.ipc_mode)}; it needs a private or shareable IPC namespace` })
    }
  }
  if (config.shm_size !== undefined) {
    const size = parseMemory(config.shm_size)
    if (size === undefined || size <= 0) issues.push({ field: "shm_size", reason: `invalid size ${JSON.stringify(config.shm_size)}` })
    else out.shm_size = size
  }
  return out
}
