/**
 * PLACEHOLDER contract (to be replaced by the Schema-derived implementation): the decoded plugin
 * `config {}` block, with HCL names and defaults applied.
 */
import { Effect } from "effect"
import { InvalidPluginConfig } from "./errors.ts"

export interface PluginConfig {
  readonly socket_path?: string
  readonly socket: ReadonlyArray<{ readonly name: string; readonly socket_path: string }>
  readonly volumes: { readonly enabled: boolean; readonly selinuxlabel?: string }
  readonly gc: { readonly container: boolean }
  readonly recover_stopped: boolean
  readonly disable_log_collection: boolean
  readonly logging: { readonly driver: string; readonly options: Readonly<Record<string, string>> }
  readonly extra_labels: ReadonlyArray<string>
  /** Duration string, default "60s". */
  readonly client_http_timeout: string
  readonly dns_servers: ReadonlyArray<string>
  readonly networking: { readonly default_rootless_mode: string }
  readonly auth?: { readonly config?: string; readonly helper?: string }
}

export const defaultPluginConfig: PluginConfig = {
  socket: [],
  volumes: { enabled: true },
  gc: { container: true },
  recover_stopped: false,
  disable_log_collection: false,
  logging: { driver: "nomad", options: {} },
  extra_labels: [],
  client_http_timeout: "60s",
  dns_servers: [],
  networking: { default_rootless_mode: "" }
}

export const decodePluginConfig = (raw: unknown): Effect.Effect<PluginConfig, InvalidPluginConfig> =>
  Effect.succeed({ ...defaultPluginConfig, ...((raw ?? {}) as object) } as PluginConfig)

/** A configured Podman endpoint. `address` is as written (`unix:///…`, `http://…`, `varlink:unix:…`). */
export interface SocketConfig {
  readonly name: string
  readonly address: string
}

/** The configured sockets, default first (the first named `default`, else the first). */
export const resolveSockets = (config: PluginConfig): ReadonlyArray<SocketConfig> => {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0
  const fallback = uid === 0 ? "unix:///run/podman/podman.sock" : `unix:///run/user/${uid}/podman/podman.sock`
  if (config.socket.length === 0) return [{ name: "default", address: config.socket_path ?? fallback }]
  const seen = new Set<string>()
  const list: Array<SocketConfig> = []
  for (const s of config.socket) {
    const name = s.name === "" ? "default" : s.name
    if (seen.has(name)) continue
    seen.add(name)
    list.push({ name, address: s.socket_path })
  }
  const i = list.findIndex((s) => s.name === "default")
  return i <= 0 ? list : [list[i]!, ...list.slice(0, i), ...list.slice(i + 1)]
}

import type { HclSpec } from "./hclspec.ts"
/** PLACEHOLDER: the hclspec of the plugin config, derived from the option declarations. */
export const pluginConfigSpec: HclSpec = {
  _tag: "Object",
  attributes: { socket_path: { _tag: "Attr", name: "socket_path", type: "string", required: false } }
}
