/**
 * Network namespace, networks, static addresses, DNS and /etc/hosts entries.
 *
 * First match wins:
 * - Nomad gave the group a network namespace (`networkIsolation.path`: bridge/CNI mode, Consul
 *   Connect): join it (`path` mode), whatever `network_mode` says;
 * - no `network_mode`: rootful → `bridge` (Podman's default network); rootless → the plugin's
 *   `networking.default_rootless_mode`, else `pasta` on Podman ≥ 5, else `slirp4netns`;
 * - `bridge`, `host`, `none`, `pasta`, `slirp4netns`; `container:<id>`; `ns:<path>`; `task:<task>`
 *   (the sibling task's container in the same allocation);
 * - a Podman network name: `bridge` + `Networks { <name> = {} }`. Whether it exists is Podman's
 *   to say (it needs the API), not here.
 *
 * In Nomad's bridge mode the group's `hostname` (HostsConfig) becomes the container hostname (unless the
 * task sets one) and an /etc/hosts entry for the group's address.
 *
 * Static IPv4/IPv6/IPs/MAC go on the selected network (`default` = Podman's default network) and
 * only apply in bridge mode; other modes have no per-network options and ignore them (as the Go
 * driver does).
 */
import type { ContainerSpec, NamespaceSpec } from "../domain/ContainerSpec.ts"
import { isIPAddress } from "../domain/values/addresses.ts"
import { quote } from "../domain/values/text.ts"
import { type Issues, majorVersion, type Mutable, siblingContainerName, type TranslateInput } from "./types.ts"

type Part = Partial<Mutable<ContainerSpec>>

/** The network namespace and, for a custom network, its name. */
export const networkNamespace = (input: TranslateInput): { readonly netns: NamespaceSpec; readonly network?: string } => {
  const { config, task, plugin, podman } = input
  const isolation = task.networkIsolation
  if (isolation !== undefined && isolation.path !== "") return { netns: { nsmode: "path", value: isolation.path } }
  const mode = config.network_mode
  if (mode === undefined) {
    if (!podman.rootless) return { netns: { nsmode: "bridge" } }
    if (plugin.networking.default_rootless_mode !== "") return { netns: { nsmode: plugin.networking.default_rootless_mode } }
    return { netns: { nsmode: majorVersion(podman.apiVersion) >= 5 ? "pasta" : "slirp4netns" } }
  }
  switch (mode._tag) {
    case "container":
      return { netns: { nsmode: "container", value: mode.container } }
    case "ns":
      return { netns: { nsmode: "path", value: mode.path } }
    case "task":
      return { netns: { nsmode: "container", value: siblingContainerName(task, mode.task) } }
    case "network":
      return { netns: { nsmode: "bridge" }, network: mode.name }
    default:
      return { netns: { nsmode: mode._tag } }
  }
}

/** The network part of the spec. */
export const network = (input: TranslateInput, issues: Issues): Part => {
  const { config, task, plugin } = input
  const out: Part = {}
  const ns = networkNamespace(input)
  out.netns = ns.netns

  const staticIps = [
    ...(config.ipv4_address !== undefined && config.ipv4_address !== "" ? [config.ipv4_address] : []),
    ...(config.ipv6_address !== undefined && config.ipv6_address !== "" ? [config.ipv6_address] : []),
    ...config.static_ips
  ]
  const mac = config.static_mac !== undefined && config.static_mac !== "" ? config.static_mac : undefined
  const perNetwork = {
    ...(staticIps.length > 0 ? { static_ips: staticIps } : {}),
    ...(mac !== undefined ? { static_mac: mac } : {})
  }
  if (ns.network !== undefined) out.Networks = { [ns.network]: perNetwork }
  else if (ns.netns.nsmode === "bridge" && Object.keys(perNetwork).length > 0) out.Networks = { default: perNetwork }

  // an empty group dns block counts as none, so the plugin's dns_servers still apply
  const dns = task.dns !== undefined && (task.dns.servers.length + task.dns.searches.length + task.dns.options.length) > 0
    ? task.dns
    : undefined
  if (dns !== undefined) {
    // the group's dns block comes from Nomad, not from the task config: it is checked here
    dns.servers.forEach((s, i) => {
      if (!isIPAddress(s)) issues.push({ field: `dns.servers[${i}]`, reason: `invalid DNS server address ${quote(s)}` })
    })
    if (dns.servers.length > 0) out.dns_server = dns.servers
    if (dns.searches.length > 0) out.dns_search = dns.searches
    if (dns.options.length > 0) out.dns_option = dns.options
  } else if (plugin.dns_servers.length > 0) {
    out.dns_server = plugin.dns_servers
  }

  // Nomad's bridge mode (HostsConfig): the group's `hostname` and its address, like Nomad's docker driver
  const isolation = task.networkIsolation
  const groupHostname = isolation !== undefined && isolation.path !== "" ? isolation.hostname : ""
  if (groupHostname !== "" && (config.hostname === undefined || config.hostname === "")) out.hostname = groupHostname

  const hosts: Array<string> = []
  if (groupHostname !== "" && isolation !== undefined && isIPAddress(isolation.hostAddress)) {
    hosts.push(`${groupHostname}:${isolation.hostAddress}`)
  }
  for (const h of config.extra_hosts) hosts.push(`${h.host}:${h.ip}`)
  if (hosts.length > 0) out.hostadd = hosts
  return out
}
