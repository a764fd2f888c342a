/**
 * Mounts and devices, in this order:
 *
 * 1. the allocation directories, when Nomad gave an alloc dir: `<alloc>/alloc` → `/alloc`,
 *    `<alloc>/<task>/local` → `/local`, `<alloc>/<task>/secrets` → `/secrets` (destinations from
 *    NOMAD_ALLOC_DIR / NOMAD_TASK_DIR / NOMAD_SECRETS_DIR when set), `rbind` plus the plugin's
 *    `volumes.selinuxlabel` unless the task is privileged;
 * 2. the task's `volumes` (a relative source is relative to the task directory, so a task without
 *    one cannot have it; with plugin `volumes.enabled = false` a source outside the alloc dir is an
 *    error);
 * 3. Nomad's host/CSI volume mounts (`ro`, propagation private → rprivate, host-to-task → rslave,
 *    bidirectional → rshared, the mount's SELinux label or the plugin's, unless privileged);
 * 4. the task's `tmpfs`.
 */
import * as path from "node:path"
import type { MountSpec } from "../domain/ContainerSpec.ts"
import { deviceRequest, isRelativeSource } from "../domain/values/mounts.ts"
import { quote } from "../domain/values/text.ts"
import type { Issues, TranslateInput } from "./types.ts"

const posix = path.posix

/** True when `child` is `parent` or below it (both absolute, normalised). */
export const isWithin = (parent: string, child: string): boolean => {
  const rel = posix.relative(parent, child)
  return rel === "" || (!rel.startsWith("..") && !posix.isAbsolute(rel))
}

const envPath = (env: Readonly<Record<string, string>>, name: string, fallback: string): string => {
  const v = env[name]
  return v !== undefined && posix.isAbsolute(v) ? v : fallback
}

const propagation: Readonly<Record<string, string>> = {
  private: "rprivate",
  "host-to-task": "rslave",
  bidirectional: "rshared"
}

/** The task's directory on the host (`<alloc>/<task>`), or `undefined` without an alloc dir. */
export const taskDir = (input: TranslateInput): string | undefined =>
  input.task.allocDir === "" ? undefined : posix.join(input.task.allocDir, input.task.name)

/** Every mount of the container. */
export const mounts = (input: TranslateInput, issues: Issues): ReadonlyArray<MountSpec> => {
  const { config, task, plugin } = input
  const out: Array<MountSpec> = []
  const label = plugin.volumes.selinuxlabel
  const labelOpts = label !== undefined && label !== "" && !config.privileged ? [label] : []
  const dir = taskDir(input)
  const allocDir = task.allocDir === "" ? undefined : posix.normalize(task.allocDir)

  if (allocDir !== undefined && dir !== undefined) {
    const binds: Array<[string, string]> = [
      [posix.join(allocDir, "alloc"), envPath(task.env, "NOMAD_ALLOC_DIR", "/alloc")],
      [posix.join(dir, "local"), envPath(task.env, "NOMAD_TASK_DIR", "/local")],
      [posix.join(dir, "secrets"), envPath(task.env, "NOMAD_SECRETS_DIR", "/secrets")]
    ]
    for (const [source, destination] of binds) {
      out.push({ destination, type: "bind", source, options: ["rbind", ...labelOpts] })
    }
  }

  config.volumes.forEach((volume, i) => {
    const field = `volumes[${i}]`
    let source = volume.source
    if (isRelativeSource(volume)) {
      if (dir === undefined) {
        issues.push({ field, reason: `the relative source ${quote(volume.source)} needs a task directory, and this task has none` })
        return
      }
      source = posix.join(dir, volume.source)
    }
    if (!plugin.volumes.enabled && (allocDir === undefined || !isWithin(allocDir, source))) {
      issues.push({ field, reason: `volumes are disabled by the plugin config (volumes.enabled = false): ${quote(source)} is outside the allocation directory` })
      return
    }
    out.push({ destination: volume.destination, type: "bind", source, options: volume.options })
  })

  for (const m of task.mounts) {
    const options: Array<string> = []
    if (m.readonly) options.push("ro")
    const p = propagation[m.propagationMode]
    if (p !== undefined) options.push(p)
    const mountLabel = m.selinuxLabel !== "" ? m.selinuxLabel : label ?? ""
    if (mountLabel !== "" && !config.privileged) options.push(mountLabel)
    out.push({ destination: m.taskPath, type: "bind", source: m.hostPath, options })
  }

  for (const t of config.tmpfs) out.push({ destination: t.destination, type: "tmpfs", source: "tmpfs", options: t.options })
  return out
}

/**
 * Devices: the task's `devices` and Nomad's device-plugin devices. libpod takes each as the text
 * Podman's CLI would (`host[:container][:perms]`, or a CDI name) and parses it itself.
 */
export const devices = (input: TranslateInput): ReadonlyArray<{ readonly path: string }> => {
  const out: Array<{ path: string }> = input.config.devices.map((d) => ({ path: deviceRequest.format(d) }))
  for (const d of input.task.devices) {
    const perms = d.cgroupPermissions === "" ? "" : `:${d.cgroupPermissions}`
    out.push({ path: `${d.hostPath}:${d.taskPath === "" ? d.hostPath : d.taskPath}${perms}` })
  }
  return out
}
