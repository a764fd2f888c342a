/**
 * The pure translation of a task into the libpod container spec (`POST /libpod/containers/create`).
 *
 * The config arrives decoded (src/domain/TaskConfig.ts): every value is already parsed and
 * checked, so the translation only maps values, and checks what needs the task itself (a `ports`
 * label the group does not define, a relative volume without a task dir, the plugin's volumes
 * policy, the group's DNS servers). It is the one check/translate step both StartTask and the
 * CLI's `validate`/`plan` run, so they reject the same configs.
 *
 * `translate` is total: every problem becomes a `ConfigIssue` (field path + reason) and all of them
 * are reported together in one `InvalidTaskConfig`; it never throws and does no I/O. The parts
 * live in small modules: nomadTask (what Nomad hands over: env, paths, names, within the bounds of
 * src/domain/limits.ts), metadata (name, env, labels, command, logging, stop signal), resources
 * (memory, cpu, pids, rlimits), security (caps, SELinux, security_opt, userns, ipc), mounts
 * (alloc dirs, volumes, Nomad mounts, tmpfs, devices), network (netns, networks, DNS, hosts) and
 * ports.
 */
import { Effect } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import { InvalidTaskConfig } from "../domain/errors.ts"
import { metadata } from "./metadata.ts"
import { devices, mounts } from "./mounts.ts"
import { network } from "./network.ts"
import { nomadTaskIssues } from "./nomadTask.ts"
import { portMappings } from "./ports.ts"
import { resources } from "./resources.ts"
import { security } from "./security.ts"
import type { Issues, Mutable, TranslateInput } from "./types.ts"

export { LABEL_ALLOC_ID, LABEL_PREFIX, nomadLabels } from "./metadata.ts"
export { DEFAULT_RLIMIT } from "./resources.ts"
export { containerName, isDriverContainerName, type PodmanFacts, siblingContainerName, type TranslateInput } from "./types.ts"
export { allowsAllCaps, capsToDrop, normaliseCap } from "./security.ts"

/** The spec, or the issues found; never throws. */
export const translateSync = (input: TranslateInput): { readonly spec: ContainerSpec } | { readonly issues: Issues } => {
  const issues: Issues = []
  const part = (f: (input: TranslateInput, issues: Issues) => Partial<Mutable<ContainerSpec>>) => {
    try {
      return f(input, issues)
    } catch (e) {
      // Defensive: a module bug must surface as a typed error, not a crash of the RPC.
      issues.push({ field: "(config)", reason: `could not translate the task: ${e instanceof Error ? e.message : String(e)}` })
      return {}
    }
  }
  part((i, is) => {
    nomadTaskIssues(i, is)
    return {}
  })
  const base = part(metadata)
  const spec: Mutable<ContainerSpec> = {
    name: base.name ?? "",
    image: base.image ?? "",
    env: base.env ?? {},
    labels: base.labels ?? {},
    ...base,
    ...part(resources),
    ...part(security),
    ...part(network)
  }
  const m = part((i, is) => ({ mounts: mounts(i, is) }))
  if (m.mounts !== undefined && m.mounts.length > 0) spec.mounts = m.mounts
  const d = part((i) => ({ devices: devices(i) }))
  if (d.devices !== undefined && d.devices.length > 0) spec.devices = d.devices
  const p = part((i, is) => ({ portmappings: portMappings(i, is) }))
  if (p.portmappings !== undefined && p.portmappings.length > 0) spec.portmappings = p.portmappings
  return issues.length > 0 ? { issues } : { spec }
}

/** Translates a task into the libpod container spec; every problem is reported in one InvalidTaskConfig. */
export const translate = (input: TranslateInput): Effect.Effect<ContainerSpec, InvalidTaskConfig> =>
  Effect.suspend(() => {
    const r = translateSync(input)
    return "spec" in r ? Effect.succeed(r.spec) : Effect.fail(new InvalidTaskConfig({ issues: r.issues }))
  })

