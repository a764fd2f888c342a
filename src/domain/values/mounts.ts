/**
 * Mount-like task options: bind mounts (`volumes`), tmpfs mounts (`tmpfs`) and devices
 * (`devices`), parsed from the Go driver's (and Podman CLI's) text syntax.
 */
import * as path from "node:path"
import { Result } from "effect"
import { MAX_PATH_BYTES, utf8Length } from "../limits.ts"
import { quote, type TextCodec } from "./text.ts"

const posix = path.posix

/** Why a path is too long for the kernel (PATH_MAX), or `undefined`. */
export const pathTooLong = (p: string): string | undefined =>
  p.length > MAX_PATH_BYTES / 3 && utf8Length(p) > MAX_PATH_BYTES
    ? `the path ${quote(p)} is longer than PATH_MAX (${MAX_PATH_BYTES} bytes)`
    : undefined

/** A path that must be absolute and within PATH_MAX; the reason when it is not. */
export const absolutePathProblem = (p: string, what: string): string | undefined =>
  !posix.isAbsolute(p) ? `${what} ${quote(p)} must be an absolute path` : pathTooLong(p)

/**
 * A bind mount `source:destination[:options]`. An absolute source is normalised; a relative one is
 * kept as written (it is relative to the task directory, which only the task knows). The
 * destination is absolute and normalised.
 */
export interface BindMount {
  readonly source: string
  readonly destination: string
  readonly options: ReadonlyArray<string>
}

/** True when the mount's source is relative to the task directory. */
export const isRelativeSource = (m: BindMount): boolean => !posix.isAbsolute(m.source)

const splitOptions = (text: string): ReadonlyArray<string> => text.split(",").map((o) => o.trim()).filter((o) => o !== "")

/** The codec of `volumes` entries. */
export const bindMount: TextCodec<BindMount> = {
  parse: (spec) => {
    const parts = spec.split(":")
    if (parts.length < 2 || parts.length > 3 || parts[0] === "" || parts[1] === "") {
      return Result.fail(`invalid volume ${quote(spec)} (expected source:destination[:options])`)
    }
    const [source, destination, options] = parts as [string, string, string | undefined]
    const problem = absolutePathProblem(destination, "the destination") ?? pathTooLong(source)
    if (problem !== undefined) return Result.fail(problem)
    return Result.succeed({
      source: posix.isAbsolute(source) ? posix.normalize(source) : source,
      destination: posix.normalize(destination),
      options: splitOptions(options ?? "")
    })
  },
  format: (m) => `${m.source}:${m.destination}${m.options.length > 0 ? `:${m.options.join(",")}` : ""}`
}

/** A tmpfs mount `/path[:option,option]`. */
export interface TmpfsMount {
  readonly destination: string
  readonly options: ReadonlyArray<string>
}

/** The codec of `tmpfs` entries. */
export const tmpfsMount: TextCodec<TmpfsMount> = {
  parse: (spec) => {
    const idx = spec.indexOf(":")
    const destination = idx === -1 ? spec : spec.slice(0, idx)
    const problem = absolutePathProblem(destination, "the tmpfs path")
    if (problem !== undefined) return Result.fail(problem)
    return Result.succeed({ destination, options: idx === -1 ? [] : splitOptions(spec.slice(idx + 1)) })
  },
  format: (m) => `${m.destination}${m.options.length > 0 ? `:${m.options.join(",")}` : ""}`
}

/**
 * A device: a host device `host[:container][:permissions]` (Podman's own syntax, paths absolute,
 * permissions a combination of r, w and m), or a CDI device name (`vendor.com/class=name`).
 */
export type DeviceRequest =
  | { readonly _tag: "host"; readonly host: string; readonly container?: string; readonly permissions?: string }
  | { readonly _tag: "cdi"; readonly name: string }

const cdiName = /^[\w.-]+\/[\w.-]+=\S+$/
const isPermissions = (s: string): boolean => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length

/** The codec of `devices` entries. */
export const deviceRequest: TextCodec<DeviceRequest> = {
  parse: (d) => {
    const invalid = (why: string) =>
      Result.fail(`invalid device ${quote(d)} (${why}; expected /host/path[:/container/path][:permissions] or a CDI name)`)
    if (!d.startsWith("/")) return cdiName.test(d) ? Result.succeed({ _tag: "cdi", name: d }) : invalid("not a host path")
    const parts = d.split(":")
    if (parts.length > 3) return invalid("too many parts")
    const tooLong = parts.map(pathTooLong).find((p) => p !== undefined)
    if (tooLong !== undefined) return Result.fail(tooLong)
    const [host, second, third] = parts as [string, string | undefined, string | undefined]
    if (third !== undefined) {
      if (!posix.isAbsolute(second!)) return invalid("the container path must be absolute")
      if (!isPermissions(third)) return invalid("permissions are a combination of r, w and m")
      return Result.succeed({ _tag: "host", host, container: second!, permissions: third })
    }
    if (second === undefined) return Result.succeed({ _tag: "host", host })
    if (isPermissions(second)) return Result.succeed({ _tag: "host", host, permissions: second })
    if (!posix.isAbsolute(second)) return invalid("the container path must be absolute")
    return Result.succeed({ _tag: "host", host, container: second })
  },
  format: (d) =>
    d._tag === "cdi" ? d.name : [d.host, ...(d.container !== undefined ? [d.container] : []), ...(d.permissions !== undefined ? [d.permissions] : [])].join(":")
}
