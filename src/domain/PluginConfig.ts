/**
 * The decoded plugin `config {}` block, with HCL names and defaults applied. The options are
 * declared once in ./options.ts; this module is the plugin-facing view of them plus the socket
 * resolution.
 */
import type { PluginConfig as Derived } from "./options.ts"

export { decodePluginConfig, defaultPluginConfig, pluginConfigSpec, pluginOptions, renderPluginOptionsTable } from "./options.ts"

/** The decoded plugin `config {}` block (derived from the option declarations). */
export type PluginConfig = Derived

/** The shape other modules were written against; `PluginConfig` must stay assignable to it. */
export interface PluginConfigContract {
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

type Assert<T extends true> = T
/** Compile-time check: the derived type is assignable to the contract. */
export type _PluginConfigMatchesContract = Assert<[PluginConfig] extends [PluginConfigContract] ? true : false>

/** A configured Podman endpoint. `address` is as written (`unix:///…`, `http://…`, `varlink:unix:…`). */
export interface SocketConfig {
  readonly name: string
  readonly address: string
}

/**
 * The configured sockets, default first (the first named `default`, else the first). Without
 * `socket` blocks: one socket named `default` at `socket_path`, or the rootful/rootless default
 * for this process's uid. Duplicate names: the first wins. Addresses pass through untouched.
 */
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
