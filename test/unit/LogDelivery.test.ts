/**
 * The pure part of exact-once log delivery (src/driver/logDelivery.ts, src/domain/LogPosition.ts):
 * parsing conmon's k8s-file records with their offsets and nanosecond times, the planner's writes
 * and positions, resuming by offsets, by time + count, and in the middle of a cut-short write.
 */
import { Option } from "effect"
import { describe, expect, it } from "vitest"
import {
  formatLogTime, type LogPosition, parseLogTime, positionFromJson, positionToJson, startPosition
} from "../../src/domain/LogPosition.ts"
import { DeliveryPlanner, type LogRecord, parseK8sLog, partway, recordOf, resumeTime } from "../../src/driver/logDelivery.ts"

const text = (d: Uint8Array) => Buffer.from(d).toString()

describe("log times", () => {
  it("keep every nanosecond digit, any zone, and print back as RFC 3339 UTC with nine digits", () => {
    expect(parseLogTime("2026-12-01T20:17:50.869635786+00:00")).toBe(1796156270869635786n)
    expect(parseLogTime("2026-12-01T21:17:50.869635786+01:00")).toBe(1796156270869635786n)
    expect(parseLogTime("2026-12-01T20:17:50Z")).toBe(1796156270000000000n)
    expect(parseLogTime("2026-12-01T20:17:50.5Z")).toBe(1796156270500000000n)
    expect(parseLogTime("not a time")).toBeUndefined()
    expect(formatLogTime(1796156270869635786n)).toBe("2026-12-01T20:17:50.869635786Z")
    expect(formatLogTime(1796156270000000000n - 1n)).toBe("2026-12-01T20:17:49.999999999Z")
  })

  it("a position survives its JSON form; a damaged one is none", () => {
    const p: LogPosition = {
      file: "64768:1234",
      stdout: { offset: 10, time: 1796156270869635786n, count: 2, partial: 3 },
      stderr: { offset: 5, time: undefined, count: 0, partial: 0 }
    }
    expect(positionFromJson(JSON.parse(JSON.stringify(positionToJson(p))))).toEqual(Option.some(p))
    expect(Option.isNone(positionFromJson({ file: "x" }))).toBe(true)
    expect(Option.isNone(positionFromJson({ ...positionToJson(p), stdout: { offset: -1, time: "", count: 0, partial: 0 } }))).toBe(true)
  })
})

describe("parseK8sLog", () => {
  const lines = [
    "2026-11-28T14:48:52.493280165+00:00 stdout F a",
    "garbage",
    "2026-11-28T14:48:52.493280165+00:00 stdout P part",
    "2026-11-28T14:48:52.493290000+00:00 stdout F ial",
    "2026-11-28T14:48:52.493370626+00:00 stderr F b",
    "2026-11-28T14:48:52.694436280+00:00 stdout F with  two spaces ",
    "2026-11-28T14:48:52.694436280+00:00 stdout F ",
    "2026-11-28T14:48:52.694436280+00:00 stderr F incomplete"
  ]
  const log = Buffer.from(lines.join("\n"))

  it("gives each record's stream, bytes (newline only on full lines), time and offsets; stops at the last newline", () => {
    const { consumed, records } = parseK8sLog(log, 1000)
    expect(records.map((r) => `${r.stream}:${bytesOf(r)}`)).toEqual(["stdout:a\n", "stdout:part", "stdout:ial\n", "stderr:b\n", "stdout:with  two spaces \n", "stdout:\n"])
    expect(consumed).toBe(log.lastIndexOf("\n") + 1)
    expect(records[0]).toMatchObject({ start: 1000, end: 1000 + lines[0]!.length + 1, time: BigInt(Date.parse("2026-11-28T14:48:52Z")) * 1_000_000n + 493280165n })
    expect(records[1]!.start).toBe(1000 + lines[0]!.length + 1 + lines[1]!.length + 1)
    expect(records[5]!.end).toBe(1000 + consumed)
  })
})

const rec = (stream: "stdout" | "stderr", body: string, time?: bigint, at?: { start: number; end: number }): LogRecord => ({
  ...recordOf(stream, Buffer.from(body), time),
  ...(at ?? {})
})
const bytesOf = (r: LogRecord) => text(r.bytes.subarray(r.from, r.to))

describe("DeliveryPlanner", () => {
  it("one write per stream and batch; the position after each write and after the batch", () => {
    const p = new DeliveryPlanner({ ...startPosition, file: "1:1" })
    const records = [
      rec("stdout", "o1\n", 5n, { start: 0, end: 10 }),
      rec("stderr", "e1\n", 5n, { start: 10, end: 20 }),
      rec("stdout", "o2\n", 6n, { start: 20, end: 30 })
    ]
    const { final, writes } = p.plan(records, 35)
    expect(writes.map((w) => `${w.stream}:${text(w.data)}`)).toEqual(["stdout:o1\no2\n", "stderr:e1\n"])
    expect(writes[0]!.after.stdout).toEqual({ offset: 30, time: 6n, count: 1, partial: 0 })
    expect(writes[0]!.after.stderr).toEqual(startPosition.stderr) // stderr is written next
    expect(writes[1]!.after.stderr).toEqual({ offset: 20, time: 5n, count: 1, partial: 0 })
    // once all is delivered, both streams stand at the batch's end and its newest time
    expect(final.stdout).toEqual({ offset: 35, time: 6n, count: 1, partial: 0 })
    expect(final.stderr).toEqual({ offset: 35, time: 6n, count: 0, partial: 0 })
    expect(partway(writes[0]!, 4).stdout).toEqual({ ...startPosition.stdout, partial: 4 })
  })

  it("resumes by offsets: records before each stream's offset are skipped, then the cut-short bytes", () => {
    const at: LogPosition = {
      file: "1:1",
      stdout: { offset: 20, time: 6n, count: 1, partial: 2 },
      stderr: { offset: 10, time: 5n, count: 1, partial: 0 }
    }
    const p = new DeliveryPlanner(at)
    p.control({ _tag: "Resume", by: "offset" })
    const { final, writes } = p.plan([
      rec("stderr", "e1\n", 5n, { start: 10, end: 20 }), // delivered? no: stderr stands at 10
      rec("stdout", "o2\n", 6n, { start: 20, end: 30 }), // 2 of its bytes were delivered
      rec("stdout", "o3\n", 7n, { start: 30, end: 40 })
    ], 40)
    expect(writes.map((w) => `${w.stream}:${text(w.data)}`)).toEqual(["stdout:\no3\n", "stderr:e1\n"])
    expect(writes[0]!.before.stdout).toEqual(at.stdout) // the partial count goes on from 2
    expect(final.stdout.offset).toBe(40)
    expect(final.stdout.partial).toBe(0)
  })

  it("a cut-short write longer than a record skips whole records first", () => {
    const p = new DeliveryPlanner({ file: "", stdout: { offset: 0, time: undefined, count: 0, partial: 5 }, stderr: startPosition.stderr })
    p.control({ _tag: "Resume", by: "time" })
    const { writes } = p.plan([rec("stdout", "ab\n", 1n), rec("stdout", "cd\n", 1n), rec("stdout", "ef\n", 2n)])
    expect(text(writes[0]!.data)).toBe("\nef\n") // "ab\n" and "cd" were delivered
    expect(writes[0]!.before.stdout).toEqual({ offset: 0, time: 1n, count: 1, partial: 2 })
  })

  it("resumes by time + count: records of the same (whole-second) time already delivered are skipped", () => {
    // 3 stdout records at second 7 were delivered, stderr is delivered up to second 7 with none at 7
    const at: LogPosition = {
      file: "",
      stdout: { offset: 0, time: 7n, count: 3, partial: 0 },
      stderr: { offset: 0, time: 7n, count: 0, partial: 0 }
    }
    expect(resumeTime(at)).toBe(7n)
    const p = new DeliveryPlanner(at)
    p.control({ _tag: "Resume", by: "time" })
    const { final, writes } = p.plan([
      rec("stdout", "1\n", 7n),
      rec("stderr", "e\n", 7n),
      rec("stdout", "2\n", 7n),
      rec("stdout", "3\n", 7n),
      rec("stdout", "4\n", 7n),
      rec("stdout", "5\n", 8n)
    ])
    expect(writes.map((w) => `${w.stream}:${text(w.data)}`)).toEqual(["stdout:4\n5\n", "stderr:e\n"])
    expect(final.stdout).toMatchObject({ time: 8n, count: 1 })
    expect(final.stderr).toMatchObject({ time: 8n, count: 0 })
  })

  it("a new file (rotation) starts at offset 0 and keeps the time cursor", () => {
    const p = new DeliveryPlanner({ file: "1:1", stdout: { offset: 500, time: 9n, count: 2, partial: 0 }, stderr: { offset: 500, time: 9n, count: 0, partial: 0 } })
    p.control({ _tag: "File", id: "1:2" })
    expect(p.position).toEqual({ file: "1:2", stdout: { offset: 0, time: 9n, count: 2, partial: 0 }, stderr: { offset: 0, time: 9n, count: 0, partial: 0 } })
    const { writes } = p.plan([rec("stdout", "x\n", 10n, { start: 0, end: 5 })], 5)
    expect(text(writes[0]!.data)).toBe("x\n")
  })

  it("a record delivered late with an older time (a follow that dropped it) does not move the time cursor back", () => {
    const p = new DeliveryPlanner({ file: "", stdout: { offset: 0, time: 9n, count: 2, partial: 0 }, stderr: { offset: 0, time: 9n, count: 0, partial: 0 } })
    const { final } = p.plan([rec("stdout", "late\n", 4n)])
    expect(final.stdout).toMatchObject({ time: 9n, count: 2 })
  })
})
