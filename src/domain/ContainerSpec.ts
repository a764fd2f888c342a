/**
 * The libpod `SpecGenerator` (the body of `POST /libpod/containers/create`), restricted to the fields
 * this driver sets. JSON field names are libpod's own. Produced by src/translate, consumed by the
 * Podman layers (REST sends it as is; varlink maps it onto io.podman's `Create`).
 */

export interface NamespaceSpec {
  /** `host`, `private`, `bridge`, `none`, `path`, `container`, `ns`, `slirp4netns`, `pasta`, `auto`, `keep-id`, `nomap`, `shareable`... */
  readonly nsmode: string
  readonly value?: string
}

export interface MountSpec {
  readonly destination: string
  readonly type: "bind" | "tmpfs"
  readonly source: string
  readonly options: ReadonlyArray<string>
}

export interface PortMappingSpec {
  readonly container_port: number
  readonly host_port: number
  readonly host_ip?: string
  readonly protocol: "tcp" | "udp"
}

export interface RLimitSpec {
  readonly type: string
  readonly soft: number
  readonly hard: number
}

export interface ResourceLimitsSpec {
  readonly memory?: {
    readonly limit?: number
    readonly reservation?: number
    readonly swap?: number
    readonly swappiness?: number
  }
  readonly cpu?: {
    readonly shares?: number
    readonly quota?: number
    readonly period?: number
    readonly cpus?: string
  }
  readonly pids?: { readonly limit: number }
}

export interface IdMappingsSpec {
  readonly AutoUserNs?: boolean
  readonly AutoUserNsOpts?: {
    readonly Size?: number
    readonly AdditionalUIDMappings?: ReadonlyArray<{ container_id: number; host_id: number; size: number }>
    readonly AdditionalGIDMappings?: ReadonlyArray<{ container_id: number; host_id: number; size: number }>
  }
}

export interface ContainerSpec {
  readonly name: string
  readonly image: string
  readonly command?: ReadonlyArray<string>
  readonly entrypoint?: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly work_dir?: string
  readonly hostname?: string
  readonly user?: string
  readonly terminal?: boolean
  readonly init?: boolean
  readonly init_path?: string
  readonly privileged?: boolean
  readonly read_only_filesystem?: boolean
  readonly cap_add?: ReadonlyArray<string>
  readonly cap_drop?: ReadonlyArray<string>
  readonly selinux_opts?: ReadonlyArray<string>
  readonly apparmor_profile?: string
  readonly seccomp_profile_path?: string
  readonly no_new_privileges?: boolean
  readonly labels_nested?: boolean
  readonly procfs_opts?: ReadonlyArray<string>
  readonly mask?: ReadonlyArray<string>
  readonly unmask?: ReadonlyArray<string>
  readonly userns?: NamespaceSpec
  readonly idmappings?: IdMappingsSpec
  readonly ipcns?: NamespaceSpec
  readonly netns?: NamespaceSpec
  readonly Networks?: Readonly<Record<string, { readonly static_ips?: ReadonlyArray<string>; readonly static_mac?: string }>>
  readonly shm_size?: number
  readonly sysctl?: Readonly<Record<string, string>>
  readonly r_limits?: ReadonlyArray<RLimitSpec>
  readonly resource_limits?: ResourceLimitsSpec
  readonly oom_score_adj?: number
  readonly devices?: ReadonlyArray<{ readonly path: string }>
  readonly mounts?: ReadonlyArray<MountSpec>
  readonly portmappings?: ReadonlyArray<PortMappingSpec>
  readonly dns_server?: ReadonlyArray<string>
  readonly dns_search?: ReadonlyArray<string>
  readonly dns_option?: ReadonlyArray<string>
  readonly hostadd?: ReadonlyArray<string>
  readonly log_configuration?: { readonly driver: string; readonly path?: string; readonly options?: Readonly<Record<string, string>> }
  readonly stop_signal?: number
  readonly stop_timeout?: number
  readonly cgroup_parent?: string
  readonly healthconfig?: { readonly Test: ReadonlyArray<string> }
  /** The OCI runtime (`crun`, `runsc`...); Podman's default when absent. */
  readonly oci_runtime?: string
}
