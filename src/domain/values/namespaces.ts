/**
 * Namespace modes: `userns`, `ipc_mode` and `network_mode`. `task:<name>` names a sibling task of
 * the same allocation (its container name is only known with the task, so it stays a task name).
 */
import { Result } from "effect"
import { quote, type TextCodec } from "./text.ts"

/** A uid/gid range mapped into a user namespace. */
export interface IdMapping {
  readonly container_id: number
  readonly host_id: number
  readonly size: number
}

/** The `userns` option. */
export type UsernsMode =
  | { readonly _tag: "host" | "nomap" }
  | { readonly _tag: "keep-id"; readonly uid?: number; readonly gid?: number }
  | { readonly _tag: "ns"; readonly path: string }
  | {
    readonly _tag: "auto"
    readonly size?: number
    readonly uidMappings: ReadonlyArray<IdMapping>
    readonly gidMappings: ReadonlyArray<IdMapping>
  }

const UINT32 = 0xffffffff
const uint = (s: string, min: number): number | undefined =>
  /^\d+$/.test(s) && Number(s) >= min && Number(s) <= UINT32 ? Number(s) : undefined

const idMapping = (text: string): IdMapping | undefined => {
  const m = /^(\d+):(\d+):(\d+)$/.exec(text)
  if (m === null) return undefined
  const [c, h, s] = [uint(m[1]!, 0), uint(m[2]!, 0), uint(m[3]!, 1)]
  return c === undefined || h === undefined || s === undefined ? undefined : { container_id: c, host_id: h, size: s }
}

const formatMapping = (m: IdMapping) => `${m.container_id}:${m.host_id}:${m.size}`

const modeAndValue = (text: string): readonly [string, string] => {
  const idx = text.indexOf(":")
  return idx === -1 ? [text, ""] : [text.slice(0, idx), text.slice(idx + 1)]
}

/** The options of a `keep-id` or `auto` userns, as Podman takes them after the `:`. */
export const usernsOptions = (mode: UsernsMode): string => {
  switch (mode._tag) {
    case "keep-id":
      return [...(mode.uid !== undefined ? [`uid=${mode.uid}`] : []), ...(mode.gid !== undefined ? [`gid=${mode.gid}`] : [])].join(",")
    case "auto":
      return [
        ...(mode.size !== undefined ? [`size=${mode.size}`] : []),
        ...mode.uidMappings.map((m) => `uidmapping=${formatMapping(m)}`),
        ...mode.gidMappings.map((m) => `gidmapping=${formatMapping(m)}`)
      ].join(",")
    case "ns":
      return mode.path
    default:
      return ""
  }
}

/** The codec of `userns`: `host`, `auto[:size=N,uidmapping=c:h:n,gidmapping=c:h:n]`, `keep-id[:uid=U,gid=G]`, `nomap`, `ns:<path>`. */
export const usernsMode: TextCodec<UsernsMode> = {
  parse: (text) => {
    const [mode, value] = modeAndValue(text)
    const opts = value === "" ? [] : value.split(",")
    switch (mode) {
      case "host":
      case "nomap":
        return value === "" ? Result.succeed({ _tag: mode }) : Result.fail(`userns mode ${quote(mode)} takes no options`)
      case "keep-id": {
        const out: { uid?: number; gid?: number } = {}
        for (const opt of opts) {
          const m = /^(uid|gid)=(\d+)$/.exec(opt)
          const n = m === null ? undefined : uint(m[2]!, 0)
          if (m === null || n === undefined) return Result.fail(`invalid keep-id option ${quote(opt)} (expected uid=N or gid=N)`)
          out[m[1] as "uid" | "gid"] = n
        }
        return Result.succeed({ _tag: "keep-id", ...out })
      }
      case "ns":
        return value.startsWith("/") ? Result.succeed({ _tag: "ns", path: value }) : Result.fail("ns: needs an absolute namespace path")
      case "auto": {
        let size: number | undefined
        const uidMappings: Array<IdMapping> = []
        const gidMappings: Array<IdMapping> = []
        for (const opt of opts) {
          const [k, v] = opt.includes("=") ? [opt.slice(0, opt.indexOf("=")), opt.slice(opt.indexOf("=") + 1)] : [opt, ""]
          const mapping = idMapping(v)
          if (k === "size" && uint(v, 1) !== undefined) size = uint(v, 1)
          else if (k === "uidmapping" && mapping !== undefined) uidMappings.push(mapping)
          else if (k === "gidmapping" && mapping !== undefined) gidMappings.push(mapping)
          else return Result.fail(`invalid userns auto option ${quote(opt)} (expected size=N, uidmapping=c:h:n or gidmapping=c:h:n)`)
        }
        return Result.succeed({ _tag: "auto", ...(size !== undefined ? { size } : {}), uidMappings, gidMappings })
      }
      default:
        return Result.fail(`unknown userns mode ${quote(mode)} (expected host, auto, keep-id, nomap or ns:<path>)`)
    }
  },
  format: (mode) => {
    const options = usernsOptions(mode)
    return options === "" ? mode._tag : `${mode._tag}:${options}`
  }
}

/** The `ipc_mode` option. */
export type IpcMode =
  | { readonly _tag: "host" | "private" | "shareable" | "none" }
  | { readonly _tag: "container"; readonly container: string }
  | { readonly _tag: "ns"; readonly path: string }
  | { readonly _tag: "task"; readonly task: string }

/** True when the IPC namespace is the container's own (so `shm_size` applies to it). */
export const ownsShm = (mode: IpcMode | undefined): boolean =>
  mode === undefined || mode._tag === "private" || mode._tag === "shareable"

/** The codec of `ipc_mode`: `host`, `private`, `shareable`, `none`, `container:<id>`, `ns:<path>`, `task:<task>`. */
export const ipcMode: TextCodec<IpcMode> = {
  parse: (text) => {
    switch (text) {
      case "host":
      case "private":
      case "shareable":
      case "none":
        return Result.succeed({ _tag: text })
    }
    const [mode, value] = modeAndValue(text)
    if (mode === "container" && value !== "") return Result.succeed({ _tag: "container", container: value })
    if (mode === "ns" && value.startsWith("/")) return Result.succeed({ _tag: "ns", path: value })
    if (mode === "task" && value !== "") return Result.succeed({ _tag: "task", task: value })
    return Result.fail(`invalid ipc_mode ${quote(text)} (expected host, private, shareable, none, container:<id>, ns:<path> or task:<name>)`)
  },
  format: (m) =>
    m._tag === "container" ? `container:${m.container}` : m._tag === "ns" ? `ns:${m.path}` : m._tag === "task" ? `task:${m.task}` : m._tag
}

/** The `network_mode` option. */
export type NetworkMode =
  | { readonly _tag: "bridge" | "host" | "none" | "pasta" | "slirp4netns" }
  | { readonly _tag: "container"; readonly container: string }
  | { readonly _tag: "ns"; readonly path: string }
  | { readonly _tag: "task"; readonly task: string }
  /** A Podman network by name (whether it exists is Podman's to say). */
  | { readonly _tag: "network"; readonly name: string }

const networkName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** The codec of `network_mode`. */
export const networkMode: TextCodec<NetworkMode> = {
  parse: (text) => {
    switch (text) {
      case "bridge":
      case "host":
      case "none":
      case "pasta":
      case "slirp4netns":
        return Result.succeed({ _tag: text })
    }
    const [mode, value] = modeAndValue(text)
    switch (mode) {
      case "container":
        return value === "" ? Result.fail("container: needs a container name or id") : Result.succeed({ _tag: "container", container: value })
      case "ns":
        return value.startsWith("/") ? Result.succeed({ _tag: "ns", path: value }) : Result.fail("ns: needs an absolute namespace path")
      case "task":
        return value === "" ? Result.fail("task: needs a task name") : Result.succeed({ _tag: "task", task: value })
    }
    return networkName.test(text)
      ? Result.succeed({ _tag: "network", name: text })
      : Result.fail(`invalid network mode or network name ${quote(text)}`)
  },
  format: (m) =>
    m._tag === "container"
      ? `container:${m.container}`
      : m._tag === "ns"
      ? `ns:${m.path}`
      : m._tag === "task"
      ? `task:${m.task}`
      : m._tag === "network"
      ? m.name
      : m._tag
}
