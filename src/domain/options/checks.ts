/** Checks shared by task and plugin option declarations (Schema filters and small codecs). */
import { Result, Schema } from "effect"
import { isIPAddress, isIPv4, isIPv6, isMacAddress } from "../values/addresses.ts"
import { quote, type TextCodec } from "../values/text.ts"

/** A string Schema with a predicate and the reason it fails. */
export const filter = (predicate: (s: string) => boolean, reason: (s: string) => string) =>
  Schema.String.check(Schema.makeFilter((s: string) => predicate(s) || reason(s)))

/** An integer between `minimum` and `maximum`. */
export const intIn = (minimum: number, maximum: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))

/** A port number. */
export const Port = intIn(1, 65535)

export const NonEmpty = filter((s) => s.trim() !== "", () => "must not be empty")
export const IPAddress = filter(isIPAddress, (s) => `invalid IP address ${quote(s)}`)
export const IPv4Address = filter(isIPv4, (s) => `invalid IPv4 address ${quote(s)}`)
export const IPv6Address = filter(isIPv6, (s) => `invalid IPv6 address ${quote(s)}`)
export const MacAddress = filter(isMacAddress, (s) => `invalid MAC address ${quote(s)}`)

/** A codec for one of a few literal words. */
export const oneOf = <const L extends string>(values: ReadonlyArray<L>, reason: (s: string) => string): TextCodec<L> => ({
  parse: (s) => ((values as ReadonlyArray<string>).includes(s) ? Result.succeed(s as L) : Result.fail(reason(s))),
  format: (l) => l
})

/** The log drivers the driver supports. */
export const logDriver = oneOf(
  ["nomad", "journald"],
  (s) => `unsupported logging driver ${quote(s)} (expected "nomad" or "journald")`
)
