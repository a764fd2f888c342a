/**
 * Published ports (`portmappings`) and the `NOMAD_PORT_<label>` variables of `port_map`.
 *
 * - `ports`: each label is looked up in the group's shared ports (`task.resources.ports`):
 *   host port = the allocated `value`, container port = `to` (or the same port when 0), on the
 *   port's host IP; published for BOTH tcp and udp.
 * - `port_map` (deprecated, task-level networks): every reserved and dynamic port of the first
 *   task network, container port remapped by label, both protocols, on the network's IP.
 * - Errors (only the task can tell): a label the group does not have, `port_map` without a
 *   network. Both styles at once is the decoder's to reject.
 */
import type { PortMappingSpec } from "../domain/ContainerSpec.ts"
import { boundedText, quote } from "../domain/values/text.ts"
import type { Issues, TranslateInput } from "./types.ts"

const both = (hostPort: number, containerPort: number, hostIp: string): Array<PortMappingSpec> =>
  (["tcp", "udp"] as const).map((protocol) => ({
    container_port: containerPort,
    host_port: hostPort,
    ...(hostIp !== "" ? { host_ip: hostIp } : {}),
    protocol
  }))

const validPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535

/** The port mappings of the task (empty when it publishes none). */
export const portMappings = (input: TranslateInput, issues: Issues): ReadonlyArray<PortMappingSpec> => {
  const { config, task } = input
  const portMapLabels = Object.keys(config.port_map)
  const out: Array<PortMappingSpec> = []
  if (config.ports.length > 0) {
    const seen = new Set<string>()
    config.ports.forEach((label, i) => {
      const field = `ports[${i}]`
      if (seen.has(label)) return
      seen.add(label)
      const port = task.resources.ports.find((p) => p.label === label)
      if (port === undefined) {
        const known = task.resources.ports.map((p) => p.label)
        issues.push({
          field,
          reason: known.length === 0
            ? `port ${quote(label)} not found: the group's network block defines no ports`
            : `port ${quote(label)} not found in the group's network block (known: ${boundedText(known.join(", "))})`
        })
        return
      }
      const containerPort = port.to > 0 ? port.to : port.value
      if (!validPort(port.value) || !validPort(containerPort)) {
        issues.push({ field, reason: `port ${quote(label)} has an invalid allocation (${port.value} -> ${containerPort})` })
        return
      }
      out.push(...both(port.value, containerPort, port.hostIp))
    })
    return out
  }
  if (portMapLabels.length > 0) {
    const network = task.resources.networks[0]
    if (network === undefined) {
      issues.push({ field: "port_map", reason: "needs a task-level network with ports, but the task has none" })
      return []
    }
    for (const port of [...network.reservedPorts, ...network.dynamicPorts]) {
      const mapped = config.port_map[port.label]
      const containerPort = mapped ?? port.value
      if (!validPort(port.value) || !validPort(containerPort)) {
        issues.push({ field: `port_map.${port.label}`, reason: `invalid port mapping ${port.value} -> ${containerPort}` })
        continue
      }
      out.push(...both(port.value, containerPort, network.ip))
    }
  }
  return out
}

/** `NOMAD_PORT_<label>` = mapped container port, for every `port_map` entry (as Nomad's own drivers do). */
export const portMapEnv = (input: TranslateInput): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.entries(input.config.port_map).map(([label, port]) => [`NOMAD_PORT_${label}`, String(port)]))
