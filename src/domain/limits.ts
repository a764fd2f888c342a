/**
 * The driver's documented bounds on its input: what is refused before Podman ever sees it. Input
 * beyond them can never run (the kernel refuses an executable path over PATH_MAX or an environment
 * string over MAX_ARG_STRLEN; a NUL byte cannot be passed to exec at all), and some of it wedges
 * Podman instead of failing (runc 1.1 with Podman 4.3 blocks forever on a `runc create` with an
 * executable name over 64 KiB, or an env key with a NUL byte and a large value; docs/podman.md,
 * "Input that wedges Podman"). Every bound is listed in the README, "Guarantees".
 *
 * The checks that use them run in the decoder (src/domain/options: every string, list and map of a
 * config) and in the translation (src/translate/nomadTask.ts: what Nomad hands over with the task),
 * so `validate`, `plan` and StartTask refuse the same input with a field and a reason.
 */
import { quote } from "./values/text.ts"

/** A task's (or the plugin's) config as Nomad sends it (msgpack bytes). */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** One string value of a config (an argument, a label, a path, an option's text), in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 64 * 1024

/** Entries of one list or map option (`args`, `labels`, `volumes`, …) and repeated blocks. */
export const MAX_LIST_ENTRIES = 1024

/** Linux PATH_MAX less the terminating NUL: the longest path (and executable name) the kernel takes. */
export const MAX_PATH_BYTES = 4095

/** Linux MAX_ARG_STRLEN less the NUL: the longest single argument or `KEY=value` environment string exec takes. */
export const MAX_ARG_STRLEN = 32 * 4096 - 1

/** Arguments plus environment of the task's process, together (Linux allows about 2 MiB with an 8 MiB stack). */
export const MAX_EXEC_BYTES = 1024 * 1024

/** A name, id or other short text Nomad hands over with the task (task and job names, ids, the user). */
export const MAX_NAME_BYTES = 1024

/** The longest duration option (`stop_timeout`, `image_pull_timeout`, `client_http_timeout`). */
export const MAX_DURATION_HOURS = 24

/** The largest memory size option (`shm_size`, `memory_reservation`, `memory_swap`): 1 PiB. */
export const MAX_MEMORY_BYTES = 2 ** 50

/** The largest `pids_limit`: Linux's PID_MAX_LIMIT (the kernel refuses a higher pids.max). */
export const MAX_PIDS = 4 * 1024 * 1024

/** UTF-8 length of `s`. */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** Why a text value cannot be used (a NUL byte, or more than `maxBytes`), or `undefined` when it can. */
export const textProblem = (s: string, maxBytes = MAX_VALUE_BYTES): string | undefined => {
  const nul = s.indexOf("\0")
  if (nul !== -1) return `contains a NUL byte at character ${nul} (${quote(s)})`
  if (s.length > maxBytes || (s.length * 3 > maxBytes && utf8Length(s) > maxBytes)) {
    return `is ${utf8Length(s)} bytes long; at most ${maxBytes} are allowed (${quote(s)})`
  }
  return undefined
}

/** A key as it appears in a field path: as written when short and printable, else quoted and bounded. */
export const fieldKey = (key: string): string =>
  key.length > 0 && key.length <= 64 && !/[\u0000-\u001f\u007f]/.test(key) ? key : quote(key)
