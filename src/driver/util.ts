/**
 * Small pure helpers of the driver: Go-style durations, signal names and numbers.
 */
import { constants } from "node:os"

const unitMillis: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses a Go duration string (`5m`, `1h30m`, `300ms`, `1.5s`); a bare number is seconds. `undefined` when invalid. */
export const parseGoDuration = (text: string): number | undefined => {
  const s = text.trim()
  if (s === "") return undefined
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let matched = 0
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * unitMillis[m[2]!]!
    matched = re.lastIndex
  }
  return matched === s.length ? total : undefined
}

const signals = constants.signals as Record<string, number>

/** `SIGTERM`, `TERM`, `15` → 15; `undefined` when unknown. */
export const signalNumber = (signal: string | number): number | undefined => {
  if (typeof signal === "number") return signal
  const s = signal.trim().toUpperCase()
  if (/^\d+$/.test(s)) return Number(s)
  return signals[s.startsWith("SIG") ? s : `SIG${s}`]
}

/** 15 → `SIGTERM`; a name is normalised to its `SIG` form. */
export const signalName = (signal: string | number): string | undefined => {
  const n = signalNumber(signal)
  if (n === undefined) return undefined
  return Object.keys(signals).find((k) => signals[k] === n)
}
