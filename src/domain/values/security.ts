/**
 * `security_opt` entries (`key=value`, or `key:value`): `no-new-privileges`, `label=<opt>` /
 * `label=nested`, `apparmor=<profile>`, `seccomp=<path|unconfined>`, `proc-opts=a,b`,
 * `mask=p1:p2`, `unmask=p1:p2|ALL`, `systempaths=unconfined` (the same as `unmask=ALL`).
 */
import { Result } from "effect"
import { quote, type TextCodec } from "./text.ts"

/** One `security_opt` entry. */
export type SecurityOpt =
  | { readonly _tag: "no-new-privileges"; readonly enabled: boolean }
  | { readonly _tag: "label"; readonly value: string }
  | { readonly _tag: "label-nested" }
  | { readonly _tag: "apparmor"; readonly profile: string }
  | { readonly _tag: "seccomp"; readonly profile: string }
  | { readonly _tag: "proc-opts"; readonly options: ReadonlyArray<string> }
  | { readonly _tag: "mask"; readonly paths: ReadonlyArray<string> }
  /** `ALL` unmasks every path. */
  | { readonly _tag: "unmask"; readonly paths: ReadonlyArray<string> }

const nonEmpty = (parts: ReadonlyArray<string>) => parts.filter((v) => v !== "")

/** The codec of `security_opt` entries. */
export const securityOpt: TextCodec<SecurityOpt> = {
  parse: (opt) => {
    if (opt === "no-new-privileges" || opt === "no-new-privileges=true" || opt === "no-new-privileges:true") {
      return Result.succeed({ _tag: "no-new-privileges", enabled: true })
    }
    const eq = opt.indexOf("=")
    const sep = eq !== -1 ? eq : opt.indexOf(":")
    if (sep <= 0) return Result.fail(`invalid security_opt ${quote(opt)}`)
    const key = opt.slice(0, sep)
    const value = opt.slice(sep + 1)
    const needsValue = Result.fail(`security_opt ${quote(key)} needs a value`)
    if (value === "") return needsValue
    const list = (separator: string) => nonEmpty(value.split(separator))
    switch (key) {
      case "no-new-privileges":
        return value === "false"
          ? Result.succeed({ _tag: "no-new-privileges", enabled: false })
          : Result.fail(`invalid no-new-privileges value ${quote(value)}`)
      case "label":
        return Result.succeed(value === "nested" ? { _tag: "label-nested" } : { _tag: "label", value })
      case "apparmor":
        return Result.succeed({ _tag: "apparmor", profile: value })
      case "seccomp":
        return Result.succeed({ _tag: "seccomp", profile: value })
      case "proc-opts":
        return list(",").length > 0 ? Result.succeed({ _tag: "proc-opts", options: list(",") }) : needsValue
      case "mask":
        return list(":").length > 0 ? Result.succeed({ _tag: "mask", paths: list(":") }) : needsValue
      case "unmask":
        return value === "ALL" ? Result.succeed({ _tag: "unmask", paths: ["ALL"] })
          : list(":").length > 0 ? Result.succeed({ _tag: "unmask", paths: list(":") }) : needsValue
      case "systempaths":
        return value === "unconfined"
          ? Result.succeed({ _tag: "unmask", paths: ["ALL"] })
          : Result.fail(`invalid systempaths option ${quote(value)} (only "unconfined" is supported)`)
      default:
        return Result.fail(`unknown security_opt ${quote(key)}`)
    }
  },
  format: (o) => {
    switch (o._tag) {
      case "no-new-privileges":
        return o.enabled ? "no-new-privileges" : "no-new-privileges=false"
      case "label":
        return `label=${o.value}`
      case "label-nested":
        return "label=nested"
      case "apparmor":
        return `apparmor=${o.profile}`
      case "seccomp":
        return `seccomp=${o.profile}`
      case "proc-opts":
        return `proc-opts=${o.options.join(",")}`
      case "mask":
        return `mask=${o.paths.join(":")}`
      case "unmask":
        return `unmask=${o.paths.join(":")}`
    }
  }
}
