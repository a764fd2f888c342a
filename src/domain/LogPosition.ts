/**
 * How far a task's output has been delivered to its log sink, per stream: what the driver keeps so
 * that after a plugin restart it resumes exactly where it stopped, sending nothing twice and
 * skipping nothing (docs/architecture.md, "Logs").
 *
 * Each stream has its own cursor, because the two streams go to two FIFOs that are written one
 * after the other. A cursor names a point in the source:
 * - in Podman's k8s-file log, `offset`: every record of this stream before that byte offset of the
 *   file `file` is delivered (offsets are record boundaries);
 * - in every source, `time` + `count`: the records of this stream up to `time` are delivered, the
 *   last `count` of them carrying exactly `time` (Podman stamps all lines of one read with the same
 *   time, so a time alone is not a position). The logs API gives nothing else; for the file it is
 *   the fallback when the file the offsets refer to is gone;
 * - `partial`: bytes of this stream's output after that point already delivered (a write cut short
 *   by a full FIFO when the plugin stopped).
 * Times are nanoseconds since the epoch at the precision the source gives (the k8s-file log:
 * nanoseconds; the REST logs API: whole seconds).
 */
import { Effect, Option, Schema } from "effect"

export interface StreamCursor {
  readonly offset: number
  /** Nanoseconds since the epoch; undefined: nothing of this stream delivered yet. */
  readonly time: bigint | undefined
  readonly count: number
  readonly partial: number
}

export interface LogPosition {
  /** Identity (`<device>:<inode>`) of the k8s-file log the offsets refer to; "" for the logs API. */
  readonly file: string
  readonly stdout: StreamCursor
  readonly stderr: StreamCursor
}

export const emptyCursor: StreamCursor = { offset: 0, time: undefined, count: 0, partial: 0 }

/** Nothing delivered yet. */
export const startPosition: LogPosition = { file: "", stdout: emptyCursor, stderr: emptyCursor }

// ---------------------------------------------------------------------------------------------
// Timestamps

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/

/**
 * An RFC 3339 timestamp (`2026-12-01T20:17:50.869635786+00:00`, `2026-12-01T20:17:50Z`) as
 * nanoseconds since the epoch, keeping every digit; undefined when it is not one.
 */
export const parseLogTime = (text: string): bigint | undefined => {
  const m = STAMP.exec(text)
  if (m === null) return undefined
  const seconds = Date.parse(`${m[1]}${m[3] === "Z" ? "Z" : m[3]!.length === 5 ? `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}` : m[3]}`)
  if (Number.isNaN(seconds)) return undefined
  const fraction = (m[2] ?? "").padEnd(9, "0")
  return BigInt(seconds) * 1_000_000n + BigInt(fraction)
}

/** Nanoseconds since the epoch as RFC 3339 with nine fraction digits, UTC (what libpod's `since` parses). */
export const formatLogTime = (nanos: bigint): string => {
  const seconds = nanos / 1_000_000_000n - (nanos % 1_000_000_000n < 0n ? 1n : 0n)
  const fraction = nanos - seconds * 1_000_000_000n
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19)
  return `${base}.${fraction.toString().padStart(9, "0")}Z`
}

/** A Date as nanoseconds since the epoch. */
export const logTimeOfDate = (date: Date): bigint => BigInt(date.getTime()) * 1_000_000n

// ---------------------------------------------------------------------------------------------
// Persisted form (the sink keeps it in a small file per task)

const CursorJson = Schema.Struct({
  offset: Schema.Number,
  /** Decimal nanoseconds, "" when undefined (JSON has no bigint). */
  time: Schema.String,
  count: Schema.Number,
  partial: Schema.Number
})

const PositionJson = Schema.Struct({
  file: Schema.String,
  stdout: CursorJson,
  stderr: CursorJson
})

const cursorToJson = (c: StreamCursor) => ({ offset: c.offset, time: c.time === undefined ? "" : c.time.toString(), count: c.count, partial: c.partial })

const cursorFromJson = (c: typeof CursorJson.Type): StreamCursor | undefined => {
  if (!/^\d*$/.test(c.time)) return undefined
  const ok = [c.offset, c.count, c.partial].every((n) => Number.isSafeInteger(n) && n >= 0)
  return ok ? { offset: c.offset, time: c.time === "" ? undefined : BigInt(c.time), count: c.count, partial: c.partial } : undefined
}

/** The JSON-safe form of a position. */
export const positionToJson = (p: LogPosition): typeof PositionJson.Encoded => ({
  file: p.file,
  stdout: cursorToJson(p.stdout),
  stderr: cursorToJson(p.stderr)
})

/** A position from its JSON-safe form; none when it is not one (a damaged file). */
export const positionFromJson = (raw: unknown): Option.Option<LogPosition> =>
  Schema.decodeUnknownOption(PositionJson)(raw).pipe(
    Option.flatMap((j) => {
      const stdout = cursorFromJson(j.stdout)
      const stderr = cursorFromJson(j.stderr)
      return stdout && stderr ? Option.some({ file: j.file, stdout, stderr }) : Option.none()
    })
  )

/** Decodes a position; fails with a description when it is not one. */
export const decodePosition = (raw: unknown): Effect.Effect<LogPosition, string> =>
  Option.match(positionFromJson(raw), { onNone: () => Effect.fail("not a log position"), onSome: Effect.succeed })
