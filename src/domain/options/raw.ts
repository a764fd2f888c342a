/**
 * Normalising the raw values Nomad sends before an option's own check: HCL2 wraps object literals
 * in one-element lists, cty converts numbers and bools to strings and back, msgpack decoders may
 * give Maps, absent attributes arrive as `null`, and a value that is not known yet as `CtyUnknown`.
 */
import type { ConfigIssue } from "../errors.ts"

/** A raw value, briefly, for a reason. */
export const describe = (raw: unknown): string => {
  if (raw === null) return "null"
  if (Array.isArray(raw)) return `a list of ${raw.length}`
  if (typeof raw === "object" && (raw as { _tag?: unknown })._tag === "CtyUnknown") return "a value that is not known yet"
  if (typeof raw === "object") return "an object"
  if (typeof raw === "string") return JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + "…" : raw)
  return `${typeof raw} ${String(raw)}`
}

/** HCL wraps an object literal in a one-element list; be lenient and unwrap scalars the same way. */
const unwrapScalar = (raw: unknown): unknown =>
  Array.isArray(raw) && raw.length === 1 && (raw[0] === null || typeof raw[0] !== "object") ? raw[0] : raw

export const toStringValue = (raw: unknown): string | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "string") return v
  if (typeof v === "number" && Number.isFinite(v)) return String(v)
  if (typeof v === "bigint" || typeof v === "boolean") return String(v)
  return undefined
}

export const toNumberValue = (raw: unknown): number | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined
  if (typeof v === "bigint") return Number(v)
  if (typeof v === "string" && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v)
  return undefined
}

export const toBooleanValue = (raw: unknown): boolean | undefined => {
  const v = unwrapScalar(raw)
  if (typeof v === "boolean") return v
  if (v === "true") return true
  if (v === "false") return false
  return undefined
}

/** A plain object from a `Map` or an object; `undefined` for anything else. */
export const asRecord = (raw: unknown): Record<string, unknown> | undefined => {
  if (raw instanceof Map) return Object.fromEntries([...raw.entries()].map(([k, v]) => [String(k), v]))
  if (
    raw !== null && typeof raw === "object" && !Array.isArray(raw) && !(raw instanceof Uint8Array) &&
    (raw as { _tag?: unknown })._tag !== "CtyUnknown"
  ) {
    return raw as Record<string, unknown>
  }
  return undefined
}

export const isAbsent = (raw: unknown): boolean => raw === null || raw === undefined

/** Merges a map given as an object, or a list of objects (HCL blocks / wrapped literals), later keys win. */
export const mergeMaps = (raw: unknown, path: string, issues: Array<ConfigIssue>): Array<[string, unknown]> => {
  const direct = asRecord(raw)
  if (direct !== undefined) return Object.entries(direct)
  if (Array.isArray(raw)) {
    const out: Array<[string, unknown]> = []
    raw.forEach((item, i) => {
      if (isAbsent(item)) return
      const rec = asRecord(item)
      if (rec === undefined) issues.push({ field: `${path}[${i}]`, reason: `expected a map, got ${describe(item)}` })
      else out.push(...Object.entries(rec))
    })
    return out
  }
  issues.push({ field: path, reason: `expected a map, got ${describe(raw)}` })
  return []
}

/** The declared option closest to a misspelt one, for "did you mean". */
export const closest = (key: string, candidates: ReadonlyArray<string>): string | undefined => {
  // a long key is no misspelling, and the distance would cost its length times each candidate's
  if (key.length > 64) return undefined
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const c of candidates) {
    const d = levenshtein(key, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

const levenshtein = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}
