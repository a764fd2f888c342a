/**
 * The plugin `config {}` block (`plugin "nomad-driver-podman" { config { … } }`): every option
 * declared once (./options/declare.ts), the decoded type, the hclspec, the decoder, the README
 * table, and the resolution of the configured Podman sockets.
 */
import { Duration, Effect } from "effect"
import { type ConfigIssue, InvalidPluginConfig } from "./errors.ts"
import type { HclSpec } from "./hclspec.ts"
import { IPAddress, logDriver, NonEmpty } from "./options/checks.ts"
import { block, blockAttrs, blockList, bool, decodeFields, type Decoded, type Input, string, stringList, text } from "./options/declare.ts"
import { objectSpec, renderOptionsTable } from "./options/derive.ts"
import { MAX_DURATION_HOURS } from "./limits.ts"
import { goDurationAtMost } from "./values/durations.ts"
import { logSizeLimit } from "./values/sizes.ts"

/** Every duration option of the plugin: a Go duration of at most 24h (docs/config.md, "Bounds"). */
const goDuration = goDurationAtMost(Duration.hours(MAX_DURATION_HOURS))

/** The capabilities the docker driver allows by default (Docker's defaults without NET_RAW). */
export const DEFAULT_ALLOW_CAPS: ReadonlyArray<string> = [
  "audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
  "net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"
]

const rootSocketDoc = "root: `unix:///run/podman/podman.sock`; otherwise `unix:///run/user/<uid>/podman/podman.sock`"

/** Every plugin `config {}` option, declared once. */
export const pluginOptions = {
  socket_path: string("Podman API address: `unix:///path`, `http://host:port` or `varlink:unix:/path`. Cannot be combined with `socket` blocks.", { defaultDoc: rootSocketDoc }),
  socket: blockList(
    {
      name: string("Socket name tasks refer to with `socket`; the one named `default` (else the first) is the default.", { default: "default" }),
      socket_path: string("Podman API address of this socket.", { required: true, schema: NonEmpty })
    },
    "Several Podman endpoints (e.g. rootful and rootless users)."
  ),
  volumes: block(
    {
      enabled: bool("Allow task `volumes` with sources outside the allocation directory.", { default: true }),
      selinuxlabel: string("SELinux label (`z` or `Z`) added to the allocation and host volume mounts (not for privileged tasks).")
    },
    "Bind mount policy.",
    { defaultWhenAbsent: true }
  ),
  gc: block(
    {
      container: bool("Remove the container when the task is destroyed.", { default: true }),
      image: bool("Remove an image the driver pulled or loaded `image_delay` after the last task using it is destroyed (as Nomad's docker driver). Images the driver did not bring are never removed.", { default: true, extension: true }),
      image_delay: text("How long an unused image the driver brought is kept, a Go duration.", goDuration, { default: "3m", extension: true }),
      dangling_containers: block(
        {
          enabled: bool("Periodically remove containers carrying this driver's labels that no task of this plugin tracks.", { default: true }),
          dry_run: bool("Only log the containers that would be removed.", { default: false }),
          period: text("How often to look for dangling containers, a Go duration. The first look is `max(period, creation_grace)` after the plugin starts, so that tasks can be recovered first.", goDuration, { default: "5m" }),
          creation_grace: text("Containers younger than this are never removed, a Go duration (a start in progress, a task being recovered).", goDuration, { default: "5m" })
        },
        "The dangling-container reaper (docker driver semantics). It is also how removals that failed while Podman was down are finished after a plugin restart.",
        { defaultWhenAbsent: true, extension: true }
      )
    },
    "Garbage collection.",
    { defaultWhenAbsent: true }
  ),
  allow_privileged: bool("Allow tasks with `privileged = true` (docker driver option). The Go driver allowed them always.", { default: false, extension: true }),
  allow_caps: stringList("Capabilities tasks may add with `cap_add` (`all` allows every one); default capabilities of Podman outside this list are dropped. Docker driver option and default list.", { extension: true, default: DEFAULT_ALLOW_CAPS }),
  allow_runtimes: stringList("OCI runtimes tasks may select with `runtime` (e.g. `crun`, `runsc`, `kata`). Empty: only the runtime Podman reports as its default.", { extension: true }),
  pull_activity_timeout: text("A pull that makes no progress for this long fails (docker driver option), a Go duration.", goDuration, { default: "2m", extension: true }),
  recover_stopped: bool("On recovery, restart a stopped container instead of removing it.", { default: false }),
  disable_log_collection: bool("Do not forward container logs to Nomad.", { default: false }),
  logging: block(
    {
      driver: text("Default log driver: `nomad` or `journald`.", logDriver, { default: "nomad" }),
      options: blockAttrs("Default log driver options."),
      max_size: text("Size limit of the copy of a task's output Podman keeps (driver `nomad`; the driver forwards from it): at the limit Podman starts a new file and drops the old one once read. Bytes or `k`/`m`/`g`, at least `64k`; `0` = no limit. Also how much a task may log while no plugin runs without losing lines, and how long a burst has before a file rotates away unread.", logSizeLimit, { default: "100m" })
    },
    "Default logging for tasks without their own `logging` block.",
    { defaultWhenAbsent: true }
  ),
  extra_labels: stringList("Globs of extra `com.hashicorp.nomad.*` labels to add: `job_name`, `job_id`, `task_group_name`, `task_name`, `namespace`, `node_name`, `node_id` (this driver always adds all but the node labels)."),
  client_http_timeout: text("Timeout of non-streaming Podman API calls, a Go duration (at most 24h).", goDuration, { default: "60s" }),
  dns_servers: stringList("DNS servers for tasks whose group has no `dns` block.", { element: IPAddress }),
  networking: block(
    { default_rootless_mode: string("Network mode for rootless Podman when the task sets none (default: `pasta` on Podman ≥ 5, else `slirp4netns`).", { default: "" }) },
    "Networking defaults.",
    { defaultWhenAbsent: true }
  ),
  auth: block(
    {
      config: string("Path of a Docker-style auth JSON file (`auths`, `credHelpers`, `credsStore`)."),
      helper: string("Credential helper suffix: runs `docker-credential-<helper>`.")
    },
    "Registry credentials for every task."
  )
}

/** The decoded plugin `config {}` block: HCL names, defaults applied, values parsed. */
export type PluginConfig = Decoded<typeof pluginOptions>

/** The plugin `config {}` block as an agent config writes it. */
export type PluginConfigInput = Input<typeof pluginOptions>

/** The hclspec of the plugin config (ConfigSchema). */
export const pluginConfigSpec: HclSpec = objectSpec(pluginOptions)

const crossChecks = (c: PluginConfig): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  if (c.socket_path !== undefined && c.socket.length > 0) {
    issues.push({ field: "socket_path", reason: "cannot be combined with socket blocks; declare every endpoint as a socket block" })
  }
  return issues
}

/** Decodes (normalises, defaults and validates) the plugin `config {}` block. `null`/absent = all defaults. */
export const decodePluginConfig = (raw: unknown): Effect.Effect<PluginConfig, InvalidPluginConfig> =>
  Effect.suspend(() => {
    const issues: Array<ConfigIssue> = []
    const value = decodeFields(pluginOptions, raw, "", issues)
    issues.push(...crossChecks(value))
    return issues.length > 0 ? Effect.fail(new InvalidPluginConfig({ issues })) : Effect.succeed(value)
  })

/** The plugin config with every default applied (what an empty `config {}` decodes to). */
export const defaultPluginConfig: PluginConfig = decodeFields(pluginOptions, {}, "", [])

/** Markdown table of the plugin options, for the README. */
export const renderPluginOptionsTable = (): string => renderOptionsTable(pluginOptions)

/** `unix://run/x` (host-less form, as Go reads it) → `unix:///run/x`; every other address as written. */
export const normaliseAddress = (address: string): string => {
  const a = address.trim()
  return a.startsWith("unix://") && !a.startsWith("unix:///") ? `unix:///${a.slice("unix://".length)}` : address
}

/** A configured Podman endpoint. `address` is as written (`unix:///…`, `http://…`, `varlink:unix:…`). */
export interface SocketConfig {
  readonly name: string
  readonly address: string
}

/**
 * The configured sockets, default first (the first named `default`, else the first). Without
 * `socket` blocks: one socket named `default` at `socket_path`, or the rootful/rootless default
 * for this process's uid. Duplicate names: the first wins. Addresses pass through untouched, except
 * `unix://run/podman/podman.sock`, the form the Go driver's docs and examples use: Go dials what
 * follows `unix:` as a path, so `//run/...` is `/run/...` there; it is read as that absolute path.
 */
export const resolveSockets = (config: PluginConfig): ReadonlyArray<SocketConfig> => {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0
  const fallback = uid === 0 ? "unix:///run/podman/podman.sock" : `unix:///run/user/${uid}/podman/podman.sock`
  if (config.socket.length === 0) return [{ name: "default", address: normaliseAddress(config.socket_path ?? fallback) }]
  const seen = new Set<string>()
  const list: Array<SocketConfig> = []
  for (const s of config.socket) {
    const name = s.name === "" ? "default" : s.name
    if (seen.has(name)) continue
    seen.add(name)
    list.push({ name, address: normaliseAddress(s.socket_path) })
  }
  const i = list.findIndex((s) => s.name === "default")
  return i <= 0 ? list : [list[i]!, ...list.slice(0, i), ...list.slice(i + 1)]
}
