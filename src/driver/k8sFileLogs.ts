/**
 * Container output read from Podman's own `k8s-file` log (the file conmon writes), when Podman runs
 * on this host. Podman 4.3's `logs?follow=true` stream drops frames under load while the container
 * runs (measured: 54–95k of 150k lines of a burst arrived; docs/podman.md, "Logs"), and a running
 * service's lost lines can never be recovered from the API. The file has every line, in conmon's
 * order, with nanosecond timestamps; tailing it is lossless and cheap. The logs API remains the
 * fallback for remote sockets and other log drivers. The file is read through the `HostFiles`
 * service; a read error fails the stream with a typed `HostFileError`.
 *
 * Format, one record per line: `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>`; `P` marks a
 * partial line (the text continues in the next record, no newline).
 */
import { Effect, Option, Stream } from "effect"
import type { HostFileError } from "../domain/errors.ts"
import { HostFiles } from "../services/HostFiles.ts"
import type { OutputChunk, OutputStream } from "../services/Podman.ts"

/** Milliseconds since the epoch of a record's timestamp (nanoseconds cut to ms). */
const recordTime = (ts: string): number => Date.parse(ts.replace(/(\.\d{3})\d+/, "$1"))

/** Parses complete records; returns the chunks (consecutive records of one stream merged). */
export const parseK8sRecords = (text: string, sinceMillis: number | undefined): Array<OutputChunk> => {
  const out: Array<OutputChunk> = []
  let stream: OutputStream | undefined
  let parts: Array<string> = []
  const flush = () => {
    if (stream !== undefined && parts.length > 0) out.push({ stream, data: Buffer.from(parts.join("")) })
    parts = []
  }
  for (const line of text.split("\n")) {
    if (line === "") continue
    const a = line.indexOf(" ")
    const b = line.indexOf(" ", a + 1)
    const c = line.indexOf(" ", b + 1)
    if (a < 0 || b < 0) continue
    const s = line.slice(a + 1, b)
    if (s !== "stdout" && s !== "stderr") continue
    if (sinceMillis !== undefined && recordTime(line.slice(0, a)) < sinceMillis) continue
    const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c)
    const body = c < 0 ? "" : line.slice(c + 1)
    if (s !== stream) {
      flush()
      stream = s
    }
    parts.push(tag === "P" ? body : `${body}\n`)
  }
  flush()
  return out
}

/** The largest read (a burst is read in chunks this big). */
const READ_SIZE = 256 * 1024
/** The buffer of a quiet log: a task's buffer grows (doubling) only while reads fill it, and shrinks back when idle. */
const MIN_READ_SIZE = 8 * 1024

interface TailState {
  readonly offset: number
  /** Bytes after the last newline (a record still being written). */
  readonly rest: Buffer
  /** Empty reads in a row (the poll interval backs off while the container is quiet). */
  readonly idle: number
}

/** The longest pause between two reads of a quiet log. */
const MAX_POLL_MILLIS = 1_000

/**
 * Follows the file from its start (with `since`: from its current end, and records before `since`
 * skipped) until `exited` is true and the file has been read to its end. Truncation (conmon's
 * log_size_max) restarts from the beginning.
 */
export const tailK8sFile = (
  path: string,
  options: {
    readonly since?: Date
    readonly exited: Effect.Effect<boolean>
    /** Completes when the container exits: cuts a poll pause short so the end is seen at once. */
    readonly awaitExit?: Effect.Effect<unknown>
    readonly pollMillis?: number
  }
): Stream.Stream<OutputChunk, HostFileError, HostFiles> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const file = yield* (yield* HostFiles).openForTail(path)
      const sinceMillis = options.since?.getTime()
      const poll = options.pollMillis ?? 100
      // Sized to what is there: a task that logs little holds 8 KiB, not 256 KiB, for its whole life.
      let buf = Buffer.allocUnsafe(MIN_READ_SIZE)
      const step = (s: TailState): Effect.Effect<readonly [ReadonlyArray<OutputChunk>, Option.Option<TailState>], HostFileError> =>
        Effect.gen(function*() {
          // Exit is looked at BEFORE reading: conmon wrote every line before the exit became known,
          // so an empty read after seeing the exit really is the end (the other order loses the tail).
          const exited = yield* options.exited
          const bytesRead = yield* file.readAt(buf, s.offset)
          if (bytesRead === 0) {
            if (buf.length > MIN_READ_SIZE) buf = Buffer.allocUnsafe(MIN_READ_SIZE)
            if (exited) return [[], Option.none()] as const
            // Nothing new: was the file truncated (conmon's log_size_max)? Then start over.
            const size = yield* file.size
            if (size < s.offset) return [[], Option.some({ offset: 0, rest: Buffer.alloc(0), idle: 0 })] as const
            const pause = Effect.sleep(Math.min(poll * 2 ** s.idle, Math.max(poll, MAX_POLL_MILLIS)))
            yield* options.awaitExit === undefined ? pause : Effect.raceFirst(pause, options.awaitExit)
            return [[], Option.some({ ...s, idle: Math.min(s.idle + 1, 10) })] as const
          }
          const data = Buffer.concat([s.rest, buf.subarray(0, bytesRead)])
          if (bytesRead === buf.length && buf.length < READ_SIZE) buf = Buffer.allocUnsafe(buf.length * 2)
          const cut = data.lastIndexOf(0x0a) + 1
          const chunks = cut > 0 ? parseK8sRecords(data.subarray(0, cut).toString("utf8"), sinceMillis) : []
          return [chunks, Option.some({ offset: s.offset + bytesRead, rest: Buffer.from(data.subarray(cut)), idle: 0 })] as const
        })
      // Resuming (after a plugin restart): what is already in the file predates `since`; start at
      // its end instead of parsing a possibly huge log only to skip it.
      const start = options.since === undefined ? 0 : yield* file.size
      return Stream.paginate({ offset: start, rest: Buffer.alloc(0), idle: 0 } as TailState, step)
    })
  )

/** Whether the file can be opened for reading here (Podman local, plugin allowed to read it). */
export const canReadFile = (path: string): Effect.Effect<boolean, never, HostFiles> =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    return yield* Effect.scoped(files.openForTail(path)).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
  })
