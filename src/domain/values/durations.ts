/**
 * Go durations (`time.ParseDuration` syntax: `300ms`, `5m`, `1h30m`, `1.5s`, `0`), as Effect
 * `Duration`s with nanosecond precision. Options such as `image_pull_timeout`, `stop_timeout` and
 * the plugin's `client_http_timeout` are written this way, as in the Go driver.
 */
import { Duration, Result } from "effect"
import { fromParser, quote, type TextCodec } from "./text.ts"

const unitNanos: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  "μs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n
}

/** Go's largest duration (an int64 of nanoseconds, about 292 years): longer is an error there too. */
const MAX_NANOS = (1n << 63n) - 1n

// µ and μ escaped: one literal μ in a regex made V8 hold the whole bundle two bytes per character (scripts/sea.mjs).
const part = /(\d+)?(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y

/**
 * Parses a Go duration. Negative durations, a missing unit (other than a bare `0`) and durations
 * beyond Go's int64 nanoseconds are rejected (`undefined`). Fractions below a nanosecond are cut,
 * as Go does.
 */
export const parseGoDuration = (text: string): Duration.Duration | undefined => {
  const s = text.trim().replace(/^\+/, "")
  if (s === "0") return Duration.zero
  if (s === "" || s.startsWith("-")) return undefined
  let total = 0n
  let pos = 0
  while (pos < s.length) {
    part.lastIndex = pos
    const m = part.exec(s)
    if (m === null || m.index !== pos) return undefined
    const [, whole, fraction, unit] = m
    if (whole === undefined && (fraction === undefined || fraction === "")) return undefined
    const mult = unitNanos[unit!]!
    total += BigInt(whole ?? "0") * mult
    if (fraction !== undefined && fraction !== "") total += (BigInt(fraction) * mult) / 10n ** BigInt(fraction.length)
    if (total > MAX_NANOS) return undefined
    pos = part.lastIndex
  }
  // whole milliseconds the way Duration.millis/seconds/minutes build them, so equal durations look equal
  return total % 1_000_000n === 0n && total / 1_000_000n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Duration.millis(Number(total / 1_000_000n))
    : Duration.nanos(total)
}

const formatUnits: ReadonlyArray<readonly [string, bigint]> = [
  ["h", 3_600_000_000_000n],
  ["m", 60_000_000_000n],
  ["s", 1_000_000_000n],
  ["ms", 1_000_000n],
  ["us", 1_000n],
  ["ns", 1n]
]

/** A duration in Go syntax that parses back to the same nanoseconds (`1h30m`, `1s500ms`, `0s`). */
export const formatGoDuration = (d: Duration.Duration): string => {
  let rest = Duration.toNanosUnsafe(d)
  if (rest <= 0n) return "0s"
  let out = ""
  for (const [unit, size] of formatUnits) {
    const n = rest / size
    if (n > 0n) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}

/** The codec of Go duration options. */
export const goDuration: TextCodec<Duration.Duration> = fromParser(
  parseGoDuration,
  formatGoDuration,
  (s) => `invalid duration ${quote(s)} (expected Go syntax such as 300ms, 30s, 5m, 1h30m)`
)

/** A Go duration option with an upper bound (src/domain/limits.ts): longer is refused, not clamped. */
export const goDurationAtMost = (max: Duration.Duration): TextCodec<Duration.Duration> => ({
  parse: (s) =>
    Result.flatMap(goDuration.parse(s), (d) =>
      Duration.isGreaterThan(d, max)
        ? Result.fail(`duration ${quote(s)} is longer than the ${formatGoDuration(max)} allowed`)
        : Result.succeed(d)),
  format: formatGoDuration
})
