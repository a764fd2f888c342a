/**
 * Exact-once log delivery, the pure part: the records a log source produces, and the planner that
 * turns them into writes to the task's log sink while tracking, per stream, the position each write
 * reaches (src/domain/LogPosition.ts). After a plugin restart or a reconnect the planner skips what
 * the position says was delivered, byte-exactly, so nothing is sent twice and nothing is skipped.
 *
 * A source says how to resume (`Resume`): by k8s-file offsets, or by time + count (the logs API, or
 * a file whose offsets no longer apply). Each batch of records becomes at most one write per stream
 * (all of the batch's stdout, then all of its stderr): the two streams go to two FIFOs, so only the
 * order within a stream matters, and a batch costs two writes however its lines interleave.
 */
import type { LogPosition, StreamCursor } from "../domain/LogPosition.ts"
import { parseLogTime } from "../domain/LogPosition.ts"
import type { OutputStream } from "../services/Podman.ts"

/**
 * One record of container output: a line, or a piece of one (`P` records carry no newline). Its
 * bytes are `bytes[from, to)`: records parsed from a file read share that read's buffer (no copy
 * per line; a burst has hundreds of thousands of them).
 */
export interface LogRecord {
  readonly stream: OutputStream
  /** Nanoseconds since the epoch at the source's precision; undefined when the source gives none. */
  readonly time: bigint | undefined
  readonly bytes: Uint8Array
  readonly from: number
  readonly to: number
  /** k8s-file: offsets of the record's line in the file, [start, end). */
  readonly start?: number
  readonly end?: number
}

/** A record of its own bytes (the logs API's chunks). */
export const recordOf = (stream: OutputStream, data: Uint8Array, time: bigint | undefined): LogRecord => ({
  stream,
  time,
  bytes: data,
  from: 0,
  to: data.length
})

/** What a log source produces. */
export type SourceEvent =
  /** (Re)starting: skip what the current position says is delivered, by file offsets or by time + count. */
  | { readonly _tag: "Resume"; readonly by: "offset" | "time" }
  /** From here on the records come from another k8s-file log (Podman rotated it), from its offset 0. */
  | { readonly _tag: "File"; readonly id: string }
  /** Records in source order; `end`: the file offset the batch reaches (k8s-file). */
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<LogRecord>; readonly end?: number }

/** One write to the sink: its data, the position before it and once it is delivered. */
export interface PlannedWrite {
  readonly stream: OutputStream
  readonly data: Uint8Array
  readonly before: LogPosition
  readonly after: LogPosition
}

const STREAMS: ReadonlyArray<OutputStream> = ["stdout", "stderr"]

type Filter =
  | { readonly mode: "none" }
  | { readonly mode: "offset"; readonly offset: number }
  | { readonly mode: "time"; readonly time: bigint | undefined; readonly count: number; seen: number; done: boolean }

/** Whether the record was delivered before the resume (and must be skipped). */
const delivered = (f: Filter, r: LogRecord): boolean => {
  switch (f.mode) {
    case "none":
      return false
    case "offset":
      return r.start !== undefined && r.start < f.offset
    case "time": {
      if (f.done) return false
      if (r.time !== undefined && f.time !== undefined) {
        if (r.time < f.time) return true
        if (r.time === f.time && f.seen < f.count) {
          f.seen++
          return true
        }
      }
      // the first record past the resume point: from here on everything is new
      f.done = true
      return false
    }
  }
}

/** One stream's share of a batch: its cursor as records are taken, and the bytes to write. */
class StreamPlan {
  offset: number
  time: bigint | undefined
  count: number
  partial: number
  /** The cursor before the first record taken (the write's `before`). */
  first: StreamCursor | undefined
  private readonly pieces: Array<LogRecord> = []
  private readonly froms: Array<number> = []
  private size = 0

  constructor(c: StreamCursor) {
    this.offset = c.offset
    this.time = c.time
    this.count = c.count
    this.partial = c.partial
  }

  cursor(): StreamCursor {
    return { offset: this.offset, time: this.time, count: this.count, partial: this.partial }
  }

  /** Moves the cursor past `r` (delivered). */
  pass(r: LogRecord): void {
    if (r.end !== undefined) this.offset = r.end
    const t = r.time
    if (t === undefined) return
    if (this.time === undefined || t > this.time) {
      this.time = t
      this.count = 1
    } else if (t === this.time) {
      this.count++
    }
    // an older record delivered late (a follow that dropped it): the time cursor stays
  }

  /** Takes `r`'s bytes from `from` into this write. */
  take(r: LogRecord, from: number): void {
    if (this.first === undefined) this.first = this.cursor()
    this.pieces.push(r)
    this.froms.push(from)
    this.size += r.to - from
    this.pass(r)
    this.partial = 0
  }

  data(): Uint8Array {
    const out = Buffer.allocUnsafe(this.size)
    let at = 0
    for (let i = 0; i < this.pieces.length; i++) {
      const r = this.pieces[i]!
      const from = this.froms[i]!
      if (Buffer.isBuffer(r.bytes)) r.bytes.copy(out, at, from, r.to)
      else out.set(r.bytes.subarray(from, r.to), at)
      at += r.to - from
    }
    return out
  }
}

/** Turns source events into writes, keeping the delivered position (see the module comment). */
export class DeliveryPlanner {
  private filters: Record<OutputStream, Filter> = { stdout: { mode: "none" }, stderr: { mode: "none" } }
  /** Bytes still to skip at the start of each stream's next records (a write the last run cut short). */
  private skip: Record<OutputStream, number> = { stdout: 0, stderr: 0 }

  /** `position`: where delivery stands now; it moves as the planned writes are made. */
  constructor(public position: LogPosition) {}

  /** Handles a non-record event; a Records event goes to `plan`. */
  control(event: Exclude<SourceEvent, { _tag: "Records" }>): void {
    const p = this.position
    if (event._tag === "File") {
      // a new file: its offsets start at 0, everything in it is new unless a Resume says otherwise
      this.position = { file: event.id, stdout: { ...p.stdout, offset: 0 }, stderr: { ...p.stderr, offset: 0 } }
      this.filters = { stdout: { mode: "none" }, stderr: { mode: "none" } }
      return
    }
    for (const s of STREAMS) {
      const c = p[s]
      this.filters[s] = event.by === "offset"
        ? { mode: "offset", offset: c.offset }
        : { mode: "time", time: c.time, count: c.count, seen: 0, done: false }
      this.skip[s] = c.partial
    }
  }

  /**
   * The writes for one batch, in order, and the position once all of them are delivered (which
   * also moves the streams the batch had nothing for). The caller makes the writes, records each
   * `after` as it completes, then `commit`s.
   */
  plan(records: ReadonlyArray<LogRecord>, end?: number): { readonly writes: ReadonlyArray<PlannedWrite>; readonly final: LogPosition } {
    const out = new StreamPlan(this.position.stdout)
    const err = new StreamPlan(this.position.stderr)
    const filters = this.filters
    let latest: bigint | undefined
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      if (r.time !== undefined && (latest === undefined || r.time > latest)) latest = r.time
      const isOut = r.stream === "stdout"
      if (delivered(isOut ? filters.stdout : filters.stderr, r)) continue
      const p = isOut ? out : err
      const skip = isOut ? this.skip.stdout : this.skip.stderr
      let from = r.from
      const length = r.to - r.from
      if (skip > 0) {
        if (length <= skip) {
          // wholly delivered by the cut-short write: the cursor moves past it, the rest of the skip stays
          p.pass(r)
          p.partial -= length
          if (isOut) this.skip.stdout -= length
          else this.skip.stderr -= length
          continue
        }
        from += skip
        if (isOut) this.skip.stdout = 0
        else this.skip.stderr = 0
      }
      p.take(r, from)
    }
    const writes: Array<PlannedWrite> = []
    let at = this.position
    for (const [s, p] of [["stdout", out], ["stderr", err]] as const) {
      if (p.first === undefined) continue
      const before = { ...at, [s]: p.first }
      const after = { ...at, [s]: p.cursor() }
      writes.push({ stream: s, data: p.data(), before, after })
      at = after
    }
    // Once the whole batch is delivered, every stream with nothing pending is delivered up to the
    // batch's end: its resume point moves there too (no rescanning of the other stream's records).
    const final = (s: OutputStream, p: StreamPlan): StreamCursor => {
      const c = p.cursor()
      if (c.partial !== 0 || this.skip[s] !== 0) return c
      const offset = end !== undefined && end > c.offset ? end : c.offset
      const moveTime = latest !== undefined && (c.time === undefined || c.time < latest)
      return moveTime ? { offset, time: latest, count: 0, partial: 0 } : { ...c, offset }
    }
    return { writes, final: { file: this.position.file, stdout: final("stdout", out), stderr: final("stderr", err) } }
  }

  /** The batch is delivered. */
  commit(final: LogPosition): void {
    this.position = final
  }
}

/** The position while a write is under way: `bytes` of it delivered. */
export const partway = (w: PlannedWrite, bytes: number): LogPosition => {
  if (bytes >= w.data.length) return w.after
  const c = w.before[w.stream]
  return { ...w.before, [w.stream]: { ...c, partial: c.partial + bytes } }
}

/** The newest time both streams are delivered up to, for a logs-API resume; undefined: from the start. */
export const resumeTime = (p: LogPosition): bigint | undefined => {
  const a = p.stdout.time
  const b = p.stderr.time
  if (a === undefined || b === undefined) return undefined
  return a < b ? a : b
}

// ---------------------------------------------------------------------------------------------
// Podman's k8s-file log: `<RFC3339Nano> <stdout|stderr> <F|P> <text>\n` per record

const SPACE = 0x20
const NEWLINE = 0x0a
const LETTER_P = 0x50

/** `stdout` or `stderr` at buf[at, at + 6), else undefined (compared byte by byte: no string per line). */
const streamAt = (buf: Buffer, at: number): OutputStream | undefined => {
  // s t d o u t / s t d e r r
  if (buf[at] !== 0x73 || buf[at + 1] !== 0x74 || buf[at + 2] !== 0x64) return undefined
  if (buf[at + 3] === 0x6f && buf[at + 4] === 0x75 && buf[at + 5] === 0x74) return "stdout"
  if (buf[at + 3] === 0x65 && buf[at + 4] === 0x72 && buf[at + 5] === 0x72) return "stderr"
  return undefined
}

/** Whether buf[a, a + len) equals buf[b, b + len), compared from the end (stamps differ in their last digits). */
const sameBytes = (buf: Buffer, a: number, b: number, len: number): boolean => {
  for (let k = len - 1; k >= 0; k--) if (buf[a + k] !== buf[b + k]) return false
  return true
}

/**
 * The complete records in `buf`, which holds the file's bytes from offset `base`; `consumed`: the
 * bytes up to the last complete line (the rest is a record still being written). The records
 * point into `buf`. Lines that are not records are skipped.
 */
export const parseK8sLog = (buf: Buffer, base: number): { readonly records: Array<LogRecord>; readonly consumed: number } => {
  const records: Array<LogRecord> = []
  let i = 0
  // conmon stamps every line of one read with the same time: parse each distinct stamp once
  let stampAt = -1
  let stampLength = 0
  let time: bigint | undefined
  for (;;) {
    const nl = buf.indexOf(NEWLINE, i)
    if (nl < 0) break
    const a = buf.indexOf(SPACE, i)
    // `<stamp> <stream> <F|P>[ <text>]`: the stream is 6 bytes, the tag one
    if (a > i && a + 9 <= nl + 1 && buf[a + 7] === SPACE) {
      const stream = streamAt(buf, a + 1)
      const hasBody = a + 9 < nl + 1 && buf[a + 9] === SPACE
      if (stream !== undefined && (a + 9 === nl || hasBody)) {
        const stampLen = a - i
        if (stampAt < 0 || stampLen !== stampLength || !sameBytes(buf, stampAt, i, stampLen)) {
          stampAt = i
          stampLength = stampLen
          time = parseLogTime(buf.toString("latin1", i, a))
        }
        const from = hasBody ? a + 10 : nl
        // a full line is its text and the newline that ends the record; a partial one, the text only
        const to = buf[a + 8] === LETTER_P ? nl : nl + 1
        records.push({ stream, time, bytes: buf, from, to, start: base + i, end: base + nl + 1 })
      }
    }
    i = nl + 1
  }
  return { records, consumed: i }
}
