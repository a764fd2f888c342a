/**
 * The task `config {}` block: every option declared once (./options/declare.ts), the decoded type
 * `TaskConfig` (domain values: `Duration`s, bytes, a `Signal`, parsed mounts, modes and image
 * reference), its HCL-level input type `TaskConfigInput`, the hclspec, the decoders and the
 * README table.
 *
 * Every check that needs neither the Nomad task nor Podman runs here, cross-field ones included;
 * the checks that need the task (a `ports` label the group does not define, a relative volume
 * without a task dir, the plugin's volumes policy) run in the translation (src/translate), which
 * reports them with the same `ConfigIssue` shape.
 */
import { Duration, Effect, Result } from "effect"
import { type ConfigIssue, InvalidTaskConfig } from "./errors.ts"
import type { HclSpec } from "./hclspec.ts"
import {
  AbsolutePath, Capability, Executable, Hostname, intIn, IPAddress, IPv4Address, IPv6Address, logDriver, MacAddress, Port,
  SysctlName
} from "./options/checks.ts"
import {
  block,
  bool,
  decodeFields,
  type Decoded,
  encodeFields,
  type Input,
  number,
  string,
  stringList,
  stringMap,
  numberMap,
  stringOrList,
  text,
  textList,
  textMap
} from "./options/declare.ts"
import { objectSpec, renderOptionsTable } from "./options/derive.ts"
import { MAX_DURATION_HOURS, MAX_PATH_BYTES, MAX_PIDS, utf8Length } from "./limits.ts"
import { extraHost } from "./values/addresses.ts"
import { goDurationAtMost } from "./values/durations.ts"
import { imageRef } from "./values/image.ts"
import { bindMount, deviceRequest, tmpfsMount } from "./values/mounts.ts"
import { ipcMode, networkMode, ownsShm, usernsMode } from "./values/namespaces.ts"
import { securityOpt } from "./values/security.ts"
import { signal } from "./values/signals.ts"
import { logSizeLimit, memorySize, positiveMemorySize, swapLimit } from "./values/sizes.ts"
import { quote } from "./values/text.ts"
import { rlimitName, ulimit, unknownUlimit } from "./values/ulimits.ts"

/** Duration options are bounded (src/domain/limits.ts). */
const maxDuration = goDurationAtMost(Duration.hours(MAX_DURATION_HOURS))

const rlimitKey = (name: string) => {
  const n = rlimitName(name)
  return n === undefined ? Result.fail(unknownUlimit(name)) : Result.succeed(n)
}

/** Every task `config {}` option, declared once. */
export const taskOptions = {
  image: text("Image to run: a registry reference (`docker://` optional; short names are resolved by Podman's registries.conf), `oci-archive:<path|url>` or `docker-archive:<path|url>`.", imageRef, { required: true }),
  command: string("Command to run; replaces the image's CMD (first element).", { schema: Executable }),
  args: stringList("Arguments appended after `command` (or replacing the image's CMD when `command` is unset)."),
  entrypoint: stringOrList("Overrides the image's ENTRYPOINT. A list; a plain string is accepted for compatibility."),
  working_dir: string("Working directory inside the container (an absolute path).", { schema: AbsolutePath }),
  hostname: string("Container hostname.", { schema: Hostname }),
  labels: stringMap("Container labels, merged with the driver's `com.hashicorp.nomad.*` labels (which win on conflict)."),
  auth: block(
    {
      username: string("Registry user name."),
      password: string("Registry password."),
      tls_verify: bool("Verify the registry's TLS certificate (sent to Podman only when set). Unset: Podman's registries.conf decides, as with `podman pull` (an `insecure = true` registry works).", { defaultDoc: "registries.conf" })
    },
    "Static credentials for pulling `image`.",
    { defaultWhenAbsent: true }
  ),
  auth_soft_fail: bool("Ignore errors from the credential sources and try the pull anonymously.", { default: false }),
  force_pull: bool("Always pull the image, even if it is present locally.", { default: false }),
  image_pull_timeout: text("Deadline for pulling (or downloading and loading) the image, a Go duration (at most 24h).", maxDuration, { default: "5m" }),
  arch: string("Pull the image for this architecture (e.g. `arm64`)."),
  os: string("Pull the image for this OS."),
  variant: string("Pull the image for this architecture variant (e.g. `v8`)."),
  init: bool("Run an init process (catatonit) as PID 1 that forwards signals and reaps zombies.", { default: false }),
  init_path: string("Path of the init binary on the host.", { schema: AbsolutePath }),
  tty: bool("Allocate a pseudo-TTY.", { default: false }),
  privileged: bool("Run the container privileged (no SELinux relabelling of mounts). Needs the plugin's `allow_privileged`.", { default: false }),
  runtime: string("OCI runtime of the container (e.g. `crun`, `runsc`, `kata`), as Podman knows it. Must be in the plugin's `allow_runtimes` (default: Podman's default runtime).", { extension: true }),
  healthchecks: block(
    { disable: bool("Turn off the image's HEALTHCHECK.", { default: false }) },
    "The image's health check (docker driver option). When enabled, health changes become task events and the status an InspectTask attribute.",
    { extension: true }
  ),
  readonly_rootfs: bool("Mount the container's root filesystem read-only.", { default: false }),
  cap_add: stringList("Linux capabilities to add (`NET_ADMIN` or `CAP_NET_ADMIN`, or `ALL`); each must be in the plugin's `allow_caps`.", { element: Capability }),
  cap_drop: stringList("Linux capabilities to drop (`all` drops every one).", { element: Capability }),
  selinux_opts: stringList("SELinux process label options (e.g. `type:spc_t`)."),
  apparmor_profile: string("AppArmor profile name, or `unconfined`."),
  security_opt: textList("Security options: `no-new-privileges`, `label=<opt>`, `label=nested`, `apparmor=<profile>`, `seccomp=<path|unconfined>`, `proc-opts=<a,b>`, `mask=<p1:p2>`, `unmask=<p1:p2|ALL>`, `systempaths=unconfined`.", securityOpt),
  userns: text("User namespace: `host`, `auto[:size=N,uidmapping=c:h:n,gidmapping=c:h:n]`, `keep-id[:uid=U,gid=G]`, `nomap` or `ns:<path>`.", usernsMode, { emptyIsAbsent: true }),
  ipc_mode: text("IPC namespace: `host`, `private`, `shareable`, `none`, `container:<id>`, `ns:<path>` or `task:<task>` (a sibling task of the same allocation).", ipcMode, { emptyIsAbsent: true }),
  shm_size: text("Size of /dev/shm (bytes, or with a b/k/m/g suffix). Needs a private or shareable IPC namespace.", positiveMemorySize),
  sysctl: stringMap("Namespaced kernel parameters.", { key: SysctlName }),
  ulimit: textMap("Resource limits, `name = \"soft[:hard]\"` (hard defaults to soft). When one of `nofile`/`nproc` is set and the other is not, the other is set to `1024:1024` (Podman would otherwise apply its own, possibly too high, rootful default).", rlimitKey, ulimit),
  pids_limit: number("Maximum number of processes in the container (only applied when > 0; at most 4194304, the kernel's limit).", { schema: intIn(-1, MAX_PIDS) }),
  memory_reservation: text("Memory soft limit (bytes, or with a b/k/m/g suffix). With `memory_max` it is the soft limit when lower than `memory`.", memorySize),
  memory_swap: text("Memory plus swap limit (bytes, with a b/k/m/g suffix, or `-1` for unlimited).", swapLimit),
  memory_swappiness: number("Swappiness 0–100 (cgroup v1 only; ignored on cgroup v2). Unset unless set.", { schema: intIn(0, 100) }),
  oom_score_adj: number("OOM score adjustment, -1000–1000. Unset unless set.", { schema: intIn(-1000, 1000) }),
  cpu_hard_limit: bool("Enforce the task's `cpu` as a hard CFS quota.", { default: false }),
  cpu_cfs_period: number("CFS period in microseconds for `cpu_hard_limit` (default 100000; values below 1000 are raised to 1000; at most 1000000).", { schema: intIn(0, 1_000_000) }),
  devices: textList("Host devices, `host[:container][:permissions]`.", deviceRequest),
  volumes: textList("Bind mounts, `source:destination[:options]`. A relative source is relative to the task directory. With plugin `volumes.enabled = false` only sources inside the allocation directory are allowed.", bindMount),
  tmpfs: textList("tmpfs mounts, `/path[:option,option]`.", tmpfsMount),
  network_mode: text("Network mode: `bridge`, `host`, `none`, `slirp4netns`, `pasta`, `container:<id>`, `ns:<path>`, `task:<task>` or the name of a Podman network. Ignored when Nomad gives the group a network namespace.", networkMode, { emptyIsAbsent: true }),
  ports: stringList("Group `network { port … }` labels to publish (TCP and UDP)."),
  port_map: numberMap("Deprecated (task-level networks): label → container port. Also sets `NOMAD_PORT_<label>`. Cannot be combined with `ports`.", { value: Port }),
  ipv4_address: string("Static IPv4 address on the bridge or custom network.", { schema: IPv4Address }),
  ipv6_address: string("Static IPv6 address on the bridge or custom network.", { schema: IPv6Address }),
  static_ips: stringList("More static IP addresses on the bridge or custom network.", { element: IPAddress }),
  static_mac: string("Static MAC address on the bridge or custom network.", { schema: MacAddress }),
  extra_hosts: textList("Extra /etc/hosts entries, `host:ip`.", extraHost),
  logging: block(
    {
      driver: text("`nomad` (Podman keeps a k8s-file log that the driver forwards to Nomad, stdout and stderr separately) or `journald`.", logDriver, { emptyIsAbsent: true }),
      options: stringMap("Log driver options (e.g. `tag`)."),
      max_size: text("Size limit of Podman's copy of this task's output (driver `nomad`); defaults to the plugin's `logging.max_size`. `0` = no limit.", logSizeLimit)
    },
    "Log driver for this task; defaults to the plugin's `logging`."
  ),
  socket: string("Name of the plugin `socket` block whose Podman runs this task.", { default: "default" }),
  kill_signal: text("Signal Podman sends to stop the container when Nomad gives none (the container's stop signal), e.g. `SIGINT`.", signal, { extension: true }),
  stop_timeout: text("Seconds Podman waits after the stop signal before SIGKILL when it stops the container itself, a Go duration (at most 24h).", maxDuration, { extension: true })
}

/** The decoded task `config {}` block: HCL names, defaults applied, values parsed into domain values. */
export type TaskConfig = Decoded<typeof taskOptions>

/**
 * The task `config {}` block as a job file writes it (HCL names, text values, blocks as objects):
 * what `decodeTaskConfig` takes and `encodeTaskConfig` gives back. Only `image` is required.
 */
export type TaskConfigInput = Input<typeof taskOptions>

/** The hclspec of the task config (TaskConfigSchema). */
export const taskConfigSpec: HclSpec = objectSpec(taskOptions)

/** Checks across options (each option alone was checked by its declaration). */
const crossChecks = (c: TaskConfig): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  if (c.ports.length > 0 && Object.keys(c.port_map).length > 0) {
    issues.push({ field: "port_map", reason: "cannot be combined with ports (port_map is deprecated, use ports)" })
  }
  const executable = c.entrypoint?.[0]
  if (executable !== undefined && executable.length * 3 > MAX_PATH_BYTES && utf8Length(executable) > MAX_PATH_BYTES) {
    issues.push({ field: "entrypoint[0]", reason: `the executable is longer than PATH_MAX (${MAX_PATH_BYTES} bytes)` })
  }
  if (c.shm_size !== undefined && !ownsShm(c.ipc_mode)) {
    issues.push({
      field: "shm_size",
      reason: `cannot be used with ipc_mode ${quote(ipcMode.format(c.ipc_mode!))}; it needs a private or shareable IPC namespace`
    })
  }
  return issues
}

/**
 * Decodes (normalises, defaults, parses and validates) a task `config {}` block from untrusted
 * input: what Nomad sends (MessagePack), a parsed job file, a stored DriverState. Every problem is
 * reported in one `InvalidTaskConfig`, each naming its field.
 */
export const decodeUnknownTaskConfig = (raw: unknown): Effect.Effect<TaskConfig, InvalidTaskConfig> =>
  Effect.suspend(() => {
    const issues: Array<ConfigIssue> = []
    const value = decodeFields(taskOptions, raw, "", issues)
    issues.push(...crossChecks(value))
    return issues.length > 0 ? Effect.fail(new InvalidTaskConfig({ issues })) : Effect.succeed(value)
  })

/**
 * Decodes a task config written in code (an embedder's): the input is typed, so a misspelt option
 * fails to compile. Values are still checked at run time (`shm_size: "lots"` fails here).
 */
export const decodeTaskConfig = (input: TaskConfigInput): Effect.Effect<TaskConfig, InvalidTaskConfig> =>
  decodeUnknownTaskConfig(input)

/** Writes a decoded config back as HCL-level input (JSON-safe); it decodes to the same config. */
export const encodeTaskConfig = (config: TaskConfig): TaskConfigInput => encodeFields(taskOptions, config)

/** Markdown table of the task options, for the README. */
export const renderTaskOptionsTable = (): string => renderOptionsTable(taskOptions)
