/**
 * Pure parsers for the small value syntaxes used in task and plugin configs: Go durations, memory
 * sizes, signal names, ulimits, IP and MAC addresses, `*` globs.
 *
 * This is a leaf module (no imports from the rest of the project) so both the config decoder
 * (src/domain/options.ts) and the translation can use it. Every parser returns `undefined` for
 * invalid input, never throws.
 */
import { isIP } from "node:net"

// ---------------------------------------------------------------------------------------------
// Durations (Go `time.ParseDuration` syntax)
// ---------------------------------------------------------------------------------------------

const durationUnits: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000
}

const durationPart = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y

/**
 * Parses a Go duration string (`300ms`, `5m`, `1h30m`, `1.5s`, `0`) into milliseconds.
 * Negative durations and a missing unit (other than a bare `0`) are rejected (`undefined`).
 */
export const parseGoDuration = (text: string): number | undefined => {
  const s = text.trim().replace(/^\+/, "")
  if (s === "0") return 0
  if (s === "" || s.startsWith("-")) return undefined
  let total = 0
  let pos = 0
  durationPart.lastIndex = 0
  while (pos < s.length) {
    durationPart.lastIndex = pos
    const m = durationPart.exec(s)
    if (m === null || m.index !== pos) return undefined
    total += Number(m[1]) * durationUnits[m[2]!]!
    pos = durationPart.lastIndex
  }
  return Number.isFinite(total) ? total : undefined
}

// ---------------------------------------------------------------------------------------------
// Memory sizes
// ---------------------------------------------------------------------------------------------

const memoryMultipliers: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4
}

/**
 * Parses a memory size into bytes: plain bytes (`1048576`), a number with a binary suffix
 * (`b`, `k`/`kb`/`KiB`, `m`/`mb`/`MiB`, `g`/`gb`/`GiB`, `t`/`tb`/`TiB`, case-insensitive, decimals
 * allowed: `1.5g`), or `-1` (unlimited; only meaningful for `memory_swap`). Invalid → `undefined`.
 */
export const parseMemory = (text: string): number | undefined => {
  const s = text.trim()
  if (s === "-1") return -1
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)$/.exec(s)
  if (m === null) return undefined
  const mult = memoryMultipliers[m[2]!.toLowerCase()]
  if (mult === undefined) return undefined
  const bytes = Math.floor(Number(m[1]) * mult)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

// ---------------------------------------------------------------------------------------------
// Signals (Linux numbering)
// ---------------------------------------------------------------------------------------------

/** Linux signal numbers by name without the `SIG` prefix. */
export const linuxSignals: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29,
  PWR: 30, SYS: 31, RTMIN: 34, RTMAX: 64
}

/**
 * The Linux number of a signal given as `SIGTERM`, `TERM`, `sigterm`, `SIGRTMIN+3` or `15`.
 * Unknown names and numbers outside 1..64 → `undefined`.
 */
export const signalNumber = (text: string): number | undefined => {
  const s = text.trim().toUpperCase()
  if (/^\d+$/.test(s)) {
    const n = Number(s)
    return n >= 1 && n <= 64 ? n : undefined
  }
  const name = s.startsWith("SIG") ? s.slice(3) : s
  const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name)
  if (rt !== null) {
    const n = name.startsWith("RTMIN") ? 34 + Number(rt[1]) : 64 - Number(rt[1])
    return n >= 34 && n <= 64 ? n : undefined
  }
  return Object.hasOwn(linuxSignals, name) ? linuxSignals[name] : undefined
}

// ---------------------------------------------------------------------------------------------
// ulimits
// ---------------------------------------------------------------------------------------------

/** The rlimit names Podman accepts (lower case, without `RLIMIT_`). */
export const rlimitNames: ReadonlyArray<string> = [
  "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
  "rtprio", "rttime", "sigpending", "stack"
]

/** Normalises an rlimit name (`NOFILE`, `RLIMIT_NOFILE`, `nofile` → `nofile`); unknown → `undefined`. */
export const rlimitName = (name: string): string | undefined => {
  const n = name.trim().toLowerCase().replace(/^rlimit_/, "")
  return rlimitNames.includes(n) ? n : undefined
}

/** Parses `soft[:hard]` (hard defaults to soft); both non-negative integers, soft ≤ hard. */
export const parseUlimit = (text: string): { readonly soft: number; readonly hard: number } | undefined => {
  const m = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(text)
  if (m === null) return undefined
  const soft = Number(m[1])
  const hard = m[2] === undefined ? soft : Number(m[2])
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard) || soft > hard) return undefined
  return { soft, hard }
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/** True for a textual IPv4 address. */
export const isIPv4 = (s: string): boolean => isIP(s) === 4
/** True for a textual IPv6 address (no zone, no brackets). */
export const isIPv6 = (s: string): boolean => isIP(s) === 6
/** True for a textual IPv4 or IPv6 address. */
export const isIPAddress = (s: string): boolean => isIP(s) !== 0
/** True for a 48-bit MAC address written `aa:bb:cc:dd:ee:ff` (or with `-`). */
export const isMacAddress = (s: string): boolean => /^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$/.test(s)

// ---------------------------------------------------------------------------------------------
// Globs
// ---------------------------------------------------------------------------------------------

/** Glob match where `*` matches any run of characters (the only wildcard, as in go-glob). */
export const globMatch = (pattern: string, subject: string): boolean => {
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
    "s"
  )
  return re.test(subject)
}
