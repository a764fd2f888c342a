/**
 * PLACEHOLDER contract (to be replaced by the Schema-derived implementation): the decoded task
 * `config {}` block, with HCL names and defaults applied.
 */
import { Effect } from "effect"
import { InvalidTaskConfig } from "./errors.ts"

export interface TaskConfig {
  readonly image: string
  readonly command?: string
  readonly args: ReadonlyArray<string>
  readonly entrypoint?: ReadonlyArray<string>
  readonly working_dir?: string
  readonly hostname?: string
  readonly labels: Readonly<Record<string, string>>
  readonly auth?: { readonly username?: string; readonly password?: string; readonly tls_verify: boolean }
  readonly auth_soft_fail: boolean
  readonly force_pull: boolean
  /** Duration string, default "5m". */
  readonly image_pull_timeout: string
  readonly arch?: string
  readonly os?: string
  readonly variant?: string
  readonly init: boolean
  readonly init_path?: string
  readonly tty: boolean
  readonly privileged: boolean
  readonly readonly_rootfs: boolean
  readonly cap_add: ReadonlyArray<string>
  readonly cap_drop: ReadonlyArray<string>
  readonly selinux_opts: ReadonlyArray<string>
  readonly apparmor_profile?: string
  readonly security_opt: ReadonlyArray<string>
  readonly userns?: string
  readonly ipc_mode?: string
  readonly shm_size?: string
  readonly sysctl: Readonly<Record<string, string>>
  readonly ulimit: Readonly<Record<string, string>>
  readonly pids_limit?: number
  readonly memory_reservation?: string
  readonly memory_swap?: string
  readonly memory_swappiness?: number
  readonly oom_score_adj?: number
  readonly cpu_hard_limit: boolean
  readonly cpu_cfs_period?: number
  readonly devices: ReadonlyArray<string>
  readonly volumes: ReadonlyArray<string>
  readonly tmpfs: ReadonlyArray<string>
  readonly network_mode?: string
  readonly ports: ReadonlyArray<string>
  readonly port_map: Readonly<Record<string, number>>
  readonly ipv4_address?: string
  readonly ipv6_address?: string
  readonly static_ips: ReadonlyArray<string>
  readonly static_mac?: string
  readonly extra_hosts: ReadonlyArray<string>
  readonly logging?: { readonly driver?: string; readonly options: Readonly<Record<string, string>> }
  readonly socket: string
  /** Our addition: signal sent by StopTask when Nomad sends none (Nomad's kill_signal usually arrives in StopTask). */
  readonly kill_signal?: string
}

export const decodeTaskConfig = (raw: unknown): Effect.Effect<TaskConfig, InvalidTaskConfig> => {
  const r = (raw ?? {}) as Record<string, unknown>
  if (typeof r.image !== "string" || r.image === "") {
    return Effect.fail(new InvalidTaskConfig({ issues: [{ field: "image", reason: "is required" }] }))
  }
  return Effect.succeed({
    args: [], labels: {}, auth_soft_fail: false, force_pull: false, image_pull_timeout: "5m", init: false, tty: false,
    privileged: false, readonly_rootfs: false, cap_add: [], cap_drop: [], selinux_opts: [], security_opt: [], sysctl: {},
    ulimit: {}, cpu_hard_limit: false, devices: [], volumes: [], tmpfs: [], ports: [], port_map: {}, static_ips: [],
    extra_hosts: [], socket: "default", ...r
  } as unknown as TaskConfig)
}

import type { HclSpec } from "./hclspec.ts"
/** PLACEHOLDER: the hclspec of the task config, derived from the option declarations. */
export const taskConfigSpec: HclSpec = {
  _tag: "Object",
  attributes: { image: { _tag: "Attr", name: "image", type: "string", required: true } }
}
