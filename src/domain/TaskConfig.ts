/**
 * The decoded task `config {}` block, with HCL names and defaults applied. The options are
 * declared once in ./options.ts; this module is the task-facing view of them (type, hclspec,
 * decoder, README table).
 */
import type { TaskConfig as Derived } from "./options.ts"

export { decodeTaskConfig, renderTaskOptionsTable, taskConfigSpec, taskOptions } from "./options.ts"

/** The decoded task `config {}` block (derived from the option declarations). */
export type TaskConfig = Derived

/**
 * The shape other modules were written against (the original contract). `TaskConfig` must stay
 * assignable to it: the assertion below fails to compile otherwise.
 */
export interface TaskConfigContract {
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
  /** Extension: the container's stop signal. */
  readonly kill_signal?: string
  /** Extension: the container's stop timeout (Go duration). */
  readonly stop_timeout?: string
}

type Assert<T extends true> = T
/** Compile-time check: the derived type is assignable to the contract. */
export type _TaskConfigMatchesContract = Assert<[TaskConfig] extends [TaskConfigContract] ? true : false>
