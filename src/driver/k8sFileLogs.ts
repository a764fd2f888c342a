/**
 * Container output read from Podman's own `k8s-file` log (the file conmon writes), when Podman runs
 * on this host. Podman 4.3's `logs?follow=true` stream drops frames under load while the container
 * runs (docs/podman.md, "Logs"); the file has every line, in conmon's order, with nanosecond
 * timestamps, and tailing it is lossless, cheap, and independent of the Podman service (a service
 * restart does not touch it). The file is read through the `HostFiles` service; a read error fails
 * the stream with a typed `HostFileError`.
 *
 * Format, one record per line: `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>`; `P` marks a
 * partial line (the text continues in the next record, no newline). Parsed in logDelivery.ts.
 *
 * Rotation (`logging.max_size`): the files at the path over time come from a follower
 * (logFollower.ts), which opens each new one as soon as conmon renames it there; the tailer reads
 * the current file to its end, then the next. Every file it moves to is handed to the task's log
 * keeper (`holdFile`), so that a file renamed away while no plugin runs can still be read to its
 * end by the next plugin (`heldFile`).
 *
 * Waiting: a quiet log is watched, so the first line of a burst wakes the reader at once; its
 * polls are only a safety net then, 1 s after the last read and backing off to 10 s. Without
 * inotify they start at 100 ms and back off to 250 ms. (A 1 s poll of 20 quiet logs cost an idle
 * plugin more CPU than all its other work, bench/ "plugin idle"; polls at 100, 200, 400 ms... after
 * every start, when a watch would wake the reader anyway, cost each start 5 ms of CPU.)
 */
import { Effect, Option, Stream } from "effect"
import type { HostFileError } from "../domain/errors.ts"
import type { LogPosition } from "../domain/LogPosition.ts"
import { HostFiles } from "../services/HostFiles.ts"
import { parseK8sLog, type SourceEvent } from "./logDelivery.ts"
import { followLog, type LogFollower, type OpenLog } from "./logFollower.ts"

/** The largest read (a burst is read in chunks this big). */
const READ_SIZE = 512 * 1024
/** The read size of a quiet log: it doubles only while reads fill it and drops back when idle. */
const MIN_READ_SIZE = 8 * 1024

/** The longest pause between two reads of a quiet log, without and with a working directory watch. */
const MAX_POLL_MILLIS = 250
const MAX_POLL_WATCHED_MILLIS = 10_000
/** The first pause of a quiet log, without and with a working directory watch (`pollMillis` sets both). */
const FIRST_POLL_MILLIS = 100
const FIRST_POLL_WATCHED_MILLIS = 1_000

export interface K8sTailOptions {
  readonly path: string
  /**
   * Where delivery stands. Undefined: unknown (a task recovered from a plugin that kept no
   * position): start at the end of what the file holds now; the caller filters by time.
   */
  readonly position: LogPosition | undefined
  /** A path that opens the file the task's log keeper held (recovery), if any. */
  readonly heldFile?: string | undefined
  /** Whether the container has exited; looked at before each read. */
  readonly exited: Effect.Effect<boolean>
  /** Completes when the container exits: cuts a poll pause short so the end is seen at once. */
  readonly awaitExit?: Effect.Effect<unknown>
  /** The first pause of a quiet log (default: 100 ms without a directory watch, 1 s with one). */
  readonly pollMillis?: number
  /** Hands a newly opened log file (its descriptor) to the task's log keeper. */
  readonly holdFile?: (fd: number) => Effect.Effect<void>
  /**
   * A follower started (the log created) before the container: a burst at start cannot rotate
   * files away before anything holds them. The tailer takes it over and ends it.
   */
  readonly follower?: LogFollower
  /** The follower's queue bound (tests); default `MAX_PENDING_BYTES`. */
  readonly maxPendingBytes?: number
}

interface TailState {
  readonly current: OpenLog
  readonly offset: number
  /** Bytes after the last newline (a record still being written). */
  readonly rest: Buffer
  /** Empty reads in a row (the poll interval backs off while the container is quiet). */
  readonly idle: number
  /** Legacy resume at the end: bytes up to the first newline are the tail of a record already there. */
  readonly skipToNewline: boolean
}

/** Follows the file (see the module comment) until the container has exited and everything is read. */
export const tailK8sFile = (options: K8sTailOptions): Stream.Stream<SourceEvent, HostFileError, HostFiles> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const { path } = options
      // Sized to what is there: a task that logs little reads 8 KiB at a time, not 512 KiB.
      let readSize = MIN_READ_SIZE
      const outer = yield* Effect.scope
      const follower = options.follower ??
        (yield* followLog(path, outer, { create: false, ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}) }))
      yield* Effect.addFinalizer(() => follower.release)
      const hold = (o: OpenLog) =>
        options.holdFile !== undefined && o.file.fd !== undefined ? options.holdFile(o.file.fd) : Effect.void
      const byteBefore = (o: OpenLog, offset: number) =>
        Effect.gen(function*() {
          const one = Buffer.alloc(1)
          return (yield* o.file.readAt(one, offset - 1)) === 1 ? one[0] : undefined
        })
      /** The file at the path when the tailer started (the follower's first). */
      const atStart = follower.first

      // ---- where to start
      const initial: Array<SourceEvent> = []
      const state = (current: OpenLog, offset: number, extra: Partial<TailState> = {}): TailState => {
        follower.setCurrent(current.id)
        return { current, offset, rest: Buffer.alloc(0), idle: 0, skipToNewline: false, ...extra }
      }
      const start: TailState = yield* Effect.gen(function*() {
        const position = options.position
        if (position === undefined) {
          yield* hold(atStart)
          const size = yield* atStart.file.size
          initial.push({ _tag: "File", id: atStart.id }, { _tag: "Resume", by: "time" })
          const last = size > 0 ? yield* byteBefore(atStart, size) : 0x0a
          return state(atStart, size, { skipToNewline: last !== 0x0a })
        }
        const resumeAt = Math.min(position.stdout.offset, position.stderr.offset)
        if (position.file === "" || atStart.id === position.file) {
          yield* hold(atStart)
          // the offsets must fall on a record boundary of this very file
          const boundary = resumeAt === 0 || (yield* byteBefore(atStart, resumeAt)) === 0x0a
          if (atStart.id === position.file && boundary) {
            initial.push({ _tag: "Resume", by: "offset" })
            return state(atStart, resumeAt)
          }
          // No file yet (nothing delivered, or the position came from the logs API): by time.
          if (position.file !== "") {
            yield* Effect.logWarning(`the log position does not match Podman's log ${path}; resuming by time`)
          }
          initial.push({ _tag: "File", id: atStart.id }, { _tag: "Resume", by: "time" })
          return state(atStart, 0)
        }
        if (options.heldFile !== undefined) {
          // Podman rotated the log while no plugin ran: the file delivery stopped in is the keeper's;
          // the one at the path comes after it
          const held = yield* follower.open(options.heldFile).pipe(Effect.option)
          if (Option.isSome(held) && held.value.id === position.file) {
            initial.push({ _tag: "Resume", by: "offset" })
            const current = state(held.value, resumeAt)
            // the file at the path comes next
            follower.queueFirst()
            return current
          }
          if (Option.isSome(held)) yield* held.value.release
        }
        yield* Effect.logWarning(
          `Podman rotated the log ${path} and the file delivery stopped in is gone: resuming by time, output in between may be lost`
        )
        yield* hold(atStart)
        initial.push({ _tag: "File", id: atStart.id }, { _tag: "Resume", by: "time" })
        return state(atStart, 0)
      })

      // ---- the reader
      /** The kept partial record and what follows `s.offset` (up to the read size) in one buffer. */
      const readMore = (s: TailState): Effect.Effect<Buffer, HostFileError> =>
        Effect.suspend(() => {
          const buf = Buffer.allocUnsafe(s.rest.length + readSize)
          s.rest.copy(buf)
          return Effect.map(s.current.file.readAt(buf.subarray(s.rest.length), s.offset), (n) => buf.subarray(0, s.rest.length + n))
        })

      const step = (s: TailState): Effect.Effect<readonly [ReadonlyArray<SourceEvent>, Option.Option<TailState>], HostFileError> =>
        Effect.gen(function*() {
          // Exit is looked at BEFORE reading: conmon wrote every line before the exit became known,
          // so an empty read after seeing the exit really is the end (the other order loses the tail).
          const exited = yield* options.exited
          // A rotation known before this read: conmon closed the current file before the rename,
          // so an empty read now means it is complete.
          const rotatedBefore = follower.rotated()
          // changes from here on wake the pause below at once
          yield* follower.resetChanged
          // A quiet log (the last read found nothing): its size says whether anything is new, so an
          // idle poll allocates no read buffer (and none stays referenced while this step waits).
          const quietSize = s.idle > 0 ? yield* s.current.file.size : undefined
          const chunk = quietSize !== undefined && quietSize <= s.offset ? undefined : yield* readMore(s)
          const bytesRead = chunk === undefined ? 0 : chunk.length - s.rest.length
          // a look at the path after every read too: the watcher may be asleep between two events
          yield* follower.noteRotation
          yield* follower.warnLost
          readSize = bytesRead === readSize ? Math.min(readSize * 2, READ_SIZE) : bytesRead === 0 ? MIN_READ_SIZE : readSize
          if (chunk !== undefined && bytesRead > 0) {
            let data = chunk
            let base = s.offset - s.rest.length
            let skipToNewline = s.skipToNewline
            if (skipToNewline) {
              const nl = data.indexOf(0x0a)
              if (nl < 0) return [[], Option.some({ ...s, offset: s.offset + bytesRead, idle: 0 })] as const
              data = data.subarray(nl + 1)
              base += nl + 1
              skipToNewline = false
            }
            const { consumed, records } = parseK8sLog(data, base)
            const events: Array<SourceEvent> = records.length > 0 || consumed > 0 ? [{ _tag: "Records", records, end: base + consumed }] : []
            const rest = Buffer.from(data.subarray(consumed))
            return [events, Option.some({ ...s, offset: s.offset + bytesRead, rest, idle: 0, skipToNewline })] as const
          }
          if (rotatedBefore) {
            // the current file is complete: go on with the next one
            const next = follower.takeNext()
            if (next !== undefined) {
              yield* hold(next)
              yield* s.current.release
              yield* follower.warnLost
              return [[{ _tag: "File", id: next.id }], Option.some(state(next, 0))] as const
            }
          }
          // A new file at the path seen only after this read: read once more first.
          if (follower.rotated()) return [[], Option.some(s)] as const
          if (exited) return [[], Option.none()] as const
          // Same file and nothing new: was it truncated in place (copytruncate)? Then start over.
          const size = quietSize ?? (yield* s.current.file.size)
          if (size < s.offset) {
            yield* Effect.logWarning(`Podman's log ${path} was truncated in place; reading it again from its start`)
            return [[{ _tag: "File", id: s.current.id }], Option.some(state(s.current, 0))] as const
          }
          const watched = yield* follower.watching
          const first = options.pollMillis ?? (watched ? FIRST_POLL_WATCHED_MILLIS : FIRST_POLL_MILLIS)
          const cap = watched ? MAX_POLL_WATCHED_MILLIS : MAX_POLL_MILLIS
          const waits: Array<Effect.Effect<unknown>> = [Effect.sleep(Math.min(first * 2 ** s.idle, Math.max(first, cap))), follower.changed]
          if (options.awaitExit !== undefined) waits.push(options.awaitExit)
          yield* Effect.raceAll(waits)
          return [[], Option.some({ ...s, idle: Math.min(s.idle + 1, 10) })] as const
        })

      return Stream.fromIterable(initial).pipe(Stream.concat(Stream.paginate(start, step)))
    })
  )
