/**
 * Memory sizes as the Go driver reads them (`shm_size`, `memory_reservation`, `memory_swap`):
 * plain bytes (`1048576`) or a number with a binary suffix (`b`, `k`/`kb`/`KiB`, `m`/`mb`/`MiB`,
 * `g`/`gb`/`GiB`, `t`/`tb`/`TiB`, case-insensitive, decimals allowed: `1.5g`).
 */
import { Result } from "effect"
import { MAX_MEMORY_BYTES } from "../limits.ts"
import { fromParser, quote, type TextCodec } from "./text.ts"

const multipliers: Readonly<Record<string, number>> = {
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
 * A size in bytes (a non-negative integer up to MAX_MEMORY_BYTES, 1 PiB), or `undefined` for text
 * that is not a size.
 */
export const parseBytes = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)$/.exec(text.trim())
  if (m === null) return undefined
  const mult = multipliers[m[2]!.toLowerCase()]
  if (mult === undefined) return undefined
  const bytes = Math.floor(Number(m[1]) * mult)
  return Number.isSafeInteger(bytes) && bytes <= MAX_MEMORY_BYTES ? bytes : undefined
}

const sizeSyntax = "bytes, or a number with a b, k, m, g suffix such as 512m, at most 1 PiB"

/** A memory size (0 allowed). */
export const memorySize: TextCodec<number> = fromParser(
  parseBytes,
  String,
  (s) => `invalid memory size ${quote(s)} (expected ${sizeSyntax})`
)

/** A memory size that must be more than 0 bytes (`shm_size`: Podman rejects 0). */
export const positiveMemorySize: TextCodec<number> = {
  parse: (s) => {
    const n = parseBytes(s)
    if (n === undefined) return Result.fail(`invalid size ${quote(s)} (expected ${sizeSyntax})`)
    return n > 0 ? Result.succeed(n) : Result.fail(`invalid size ${quote(s)} (must be more than 0 bytes)`)
  },
  format: String
}

/** `memory_swap`: a limit in bytes, or unlimited (`-1`). */
export type SwapLimit = { readonly _tag: "bytes"; readonly bytes: number } | { readonly _tag: "unlimited" }

/** The codec of `memory_swap`. */
export const swapLimit: TextCodec<SwapLimit> = fromParser(
  (s): SwapLimit | undefined => {
    if (s.trim() === "-1") return { _tag: "unlimited" }
    const bytes = parseBytes(s)
    return bytes === undefined ? undefined : { _tag: "bytes", bytes }
  },
  (v) => (v._tag === "unlimited" ? "-1" : String(v.bytes)),
  (s) => `invalid memory size ${quote(s)} (expected ${sizeSyntax}, or -1)`
)

/** The smallest log size limit: conmon rotates before each record that would pass it, so a limit must hold many. */
export const MIN_LOG_SIZE = 64 * 1024

/** A log size limit (`logging.max_size`): bytes, at least {@link MIN_LOG_SIZE}, or `0` for no limit. */
export const logSizeLimit: TextCodec<number> = {
  parse: (s) => {
    const n = parseBytes(s)
    if (n === undefined) return Result.fail(`invalid size ${quote(s)} (expected ${sizeSyntax}, or 0 for no limit)`)
    return n === 0 || n >= MIN_LOG_SIZE ? Result.succeed(n) : Result.fail(`log size limit ${quote(s)} is below the minimum of 64k (0 means no limit)`)
  },
  format: String
}
