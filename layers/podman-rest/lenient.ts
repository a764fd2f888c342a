/**
 * Lenient readers for libpod JSON.
 *
 * Podman changed the shape of its JSON several times (4.1, 4.6 and 5.0 renamed, retyped or dropped
 * fields: e.g. `Config.StopSignal` went from a number to a string, `Ports` maps may be `null`, some
 * counters arrive as strings). A strict Schema would turn every such drift into a failed task, so
 * the REST layer reads only the fields it uses, through these helpers: a missing or mistyped field
 * gets a default, unknown fields are ignored, and numbers may be given as strings.
 */

/** A JSON object, or `{}` for anything else (null, arrays, scalars). */
export const obj = (v: unknown): Readonly<Record<string, unknown>> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

/** Walks `keys` through nested objects; `undefined` when a step is missing. */
export const at = (v: unknown, ...keys: ReadonlyArray<string>): unknown => {
  let cur: unknown = v
  for (const k of keys) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

/** A string; numbers and booleans are stringified; anything else gives `fallback`. */
export const str = (v: unknown, fallback = ""): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" ? String(v) : fallback

/** A finite number; numeric strings are accepted (type drift), anything else gives `fallback`. */
export const num = (v: unknown, fallback = 0): number => {
  if (typeof v === "number") return Number.isFinite(v) ? v : fallback
  if (typeof v === "bigint") return Number(v)
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v.trim())
    return Number.isFinite(n) ? n : fallback
  }
  return fallback
}

/** `true`, `"true"` or `1`; everything else is false. */
export const bool = (v: unknown): boolean => v === true || v === 1 || (typeof v === "string" && v.toLowerCase() === "true")

/** An array of strings; a single string becomes a one-element array; non-strings are dropped. */
export const strArr = (v: unknown): ReadonlyArray<string> =>
  Array.isArray(v)
    ? v.filter((x) => typeof x === "string" || typeof x === "number").map((x) => String(x))
    : typeof v === "string" && v !== ""
    ? [v]
    : []

/** An array (or `[]`). */
export const arr = (v: unknown): ReadonlyArray<unknown> => (Array.isArray(v) ? v : [])

/** A string → string record; non-string values are stringified, objects dropped. */
export const strRec = (v: unknown): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(obj(v))) {
    if (typeof x === "string" || typeof x === "number" || typeof x === "boolean") out[k] = String(x)
  }
  return out
}

/**
 * A timestamp. Go's zero time (`0001-01-01T00:00:00Z`, what Podman reports for "never") and
 * unparsable values give `undefined`. Numbers are read as unix seconds.
 */
export const date = (v: unknown): Date | undefined => {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return new Date(v * 1000)
  if (typeof v !== "string" || v === "" || v.startsWith("0001-01-01")) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** Parses JSON text, or `undefined` when it is not JSON (never throws). */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
