/**
 * Exact-once delivery across crashes (src/driver/logDelivery.ts and the forwarder's `deliverer`):
 * random records (both streams, partial lines, many records sharing one time), cut into random
 * batches, written to a sink that takes random pieces and "crashes" (the run is interrupted) after a
 * random number of bytes, any number of times. Each new run starts from the last recorded position
 * and reads the source again the way the real sources do: the k8s-file from the smaller offset,
 * the logs API from one nanosecond before the resume time. Every stream's output must be exactly
 * its records, in order: nothing lost, nothing twice.
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type LogPosition, startPosition } from "../../src/domain/LogPosition.ts"
import { DeliveryPlanner, type LogRecord, recordOf, resumeTime, type SourceEvent } from "../../src/driver/logDelivery.ts"
import { deliverer } from "../../src/driver/logs.ts"
import type { LogWriter } from "../../src/services/LogSink.ts"

const recordArb = fc.record({
  stream: fc.constantFrom("stdout" as const, "stderr" as const),
  body: fc.string({ maxLength: 12 }),
  partial: fc.boolean(),
  /** 0: the same time as the record before (conmon stamps a whole read with one time). */
  step: fc.constantFrom(0, 0, 0, 1, 2)
})

/** The records with their times (whole seconds, as the REST logs API gives them) and file offsets. */
const build = (raw: ReadonlyArray<typeof recordArb extends fc.Arbitrary<infer T> ? T : never>): Array<LogRecord> => {
  let time = 1_700_000_000n * 1_000_000_000n
  let offset = 0
  return raw.map((r) => {
    time += BigInt(r.step) * 1_000_000_000n
    const data = Buffer.from(r.partial ? r.body : `${r.body}\n`)
    const start = offset
    offset += 40 + data.length // the line's header and text
    return { ...recordOf(r.stream, data, time), start, end: offset }
  })
}

const expected = (records: ReadonlyArray<LogRecord>, stream: string) =>
  Buffer.concat(records.filter((r) => r.stream === stream).map((r) => r.bytes)).toString()

/** What a source gives after a (re)start from `saved`: the k8s-file tailer or the logs API. */
const sourceFrom = (records: ReadonlyArray<LogRecord>, saved: LogPosition, mode: "file" | "api", cuts: ReadonlyArray<number>): Array<SourceEvent> => {
  const head: Array<SourceEvent> = []
  let rest: ReadonlyArray<LogRecord>
  if (mode === "file") {
    if (saved.file === "") {
      head.push({ _tag: "File", id: "1:1" }, { _tag: "Resume", by: "time" })
      rest = records
    } else {
      head.push({ _tag: "Resume", by: "offset" })
      const from = Math.min(saved.stdout.offset, saved.stderr.offset)
      rest = records.filter((r) => r.start! >= from)
    }
  } else {
    head.push({ _tag: "Resume", by: "time" })
    const t = resumeTime(saved)
    rest = t === undefined ? records : records.filter((r) => r.time! > t - 1n)
  }
  const events: Array<SourceEvent> = [...head]
  let i = 0
  let c = 0
  while (i < rest.length) {
    const n = Math.max(1, cuts[c++ % Math.max(1, cuts.length)] ?? 1)
    const batch = rest.slice(i, i + n)
    i += n
    events.push({ _tag: "Records", records: batch, ...(mode === "file" ? { end: batch[batch.length - 1]!.end! } : {}) })
  }
  return events
}

const CRASH = "crash"

const deliverAll = (
  records: ReadonlyArray<LogRecord>,
  mode: "file" | "api",
  cuts: ReadonlyArray<number>,
  pieces: ReadonlyArray<number>,
  budgets: ReadonlyArray<number>
) => {
  const out: Record<string, Array<Buffer>> = { stdout: [], stderr: [] }
  let saved: LogPosition = startPosition
  for (const budget of [...budgets, Infinity]) {
    let left = budget
    let p = 0
    const writer: LogWriter = {
      write: (chunk, accepted) =>
        Effect.gen(function*() {
          let at = 0
          while (at < chunk.data.length) {
            const n = Math.min(chunk.data.length - at, Math.max(1, pieces[p++ % pieces.length]!), Math.max(1, left))
            out[chunk.stream]!.push(Buffer.from(chunk.data.subarray(at, at + n)))
            at += n
            left -= n
            if (accepted !== undefined) yield* accepted(n)
            if (left <= 0) return yield* Effect.die(CRASH)
          }
        })
    }
    const planner = new DeliveryPlanner(saved)
    const deliver = deliverer(planner, writer, (position) => Effect.sync(() => void (saved = position)))
    const exit = Effect.runSyncExit(Effect.forEach(sourceFrom(records, saved, mode, cuts), deliver, { discard: true }))
    if (Exit.isSuccess(exit)) break
  }
  return { stdout: Buffer.concat(out.stdout!).toString(), stderr: Buffer.concat(out.stderr!).toString() }
}

describe("exact-once delivery across crashes", () => {
  for (const mode of ["file", "api"] as const) {
    it(`${mode === "file" ? "k8s-file offsets" : "logs API (time + count)"}: every byte of each stream exactly once, in order`, () => {
      fc.assert(
        fc.property(
          fc.array(recordArb, { minLength: 1, maxLength: 40 }),
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 4 }),
          (raw, cuts, pieces, budgets) => {
            const records = build(raw)
            const got = deliverAll(records, mode, cuts, pieces, budgets)
            expect(got.stdout).toBe(expected(records, "stdout"))
            expect(got.stderr).toBe(expected(records, "stderr"))
          }
        ),
        { numRuns: 400 }
      )
    })
  }
})
