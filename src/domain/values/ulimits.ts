/** Resource limits (`ulimit = { nofile = "1024:2048" }`): rlimit names and `soft[:hard]` values. */
import { fromParser, quote, type TextCodec } from "./text.ts"

/** A soft and hard limit (soft ≤ hard). */
export interface Ulimit {
  readonly soft: number
  readonly hard: number
}

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
export const parseUlimit = (text: string): Ulimit | undefined => {
  const m = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(text)
  if (m === null) return undefined
  const soft = Number(m[1])
  const hard = m[2] === undefined ? soft : Number(m[2])
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard) || soft > hard) return undefined
  return { soft, hard }
}

/** The codec of a ulimit value. */
export const ulimit: TextCodec<Ulimit> = fromParser(
  parseUlimit,
  (u) => (u.soft === u.hard ? `${u.soft}` : `${u.soft}:${u.hard}`),
  (s) => `invalid ulimit ${quote(s)} (expected "soft" or "soft:hard", integers, soft <= hard)`
)

/** Why a ulimit name is refused. */
export const unknownUlimit = (name: string): string =>
  `unknown ulimit ${quote(name)} (expected one of nofile, nproc, core, memlock, stack, …)`
