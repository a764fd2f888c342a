/**
 * Unit tests of the REST transport's pure parts: the 8-byte frame demuxer (frames split across
 * chunks at every possible point), whole-frame mode, and the follow-recovery ledger that aligns a
 * re-read against what a follow stream delivered.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as fc from "fast-check"
import type { OutputChunk } from "../../src/services/Podman.ts"
import { demuxAll, demuxStream, encodeFrame, FrameDemuxer } from "../../layers/podman-rest/frames.ts"
import { FrameLedger } from "../../layers/libpod/logsRecovery.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
/** Per-stream text of demuxed chunks. */
const texts = (chunks: ReadonlyArray<OutputChunk>) => ({
  stdout: Buffer.concat(chunks.filter((c) => c.stream === "stdout").map((c) => c.data)).toString(),
  stderr: Buffer.concat(chunks.filter((c) => c.stream === "stderr").map((c) => c.data)).toString()
})
/** Cuts `bytes` at the given offsets. */
const cut = (bytes: Uint8Array, offsets: ReadonlyArray<number>) => {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const p of points) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  out.push(bytes.subarray(prev))
  return out
}

describe("FrameDemuxer", () => {
  it("decodes stdout and stderr frames", () => {
    const bytes = concat([encodeFrame(1, enc("hello\n")), encodeFrame(2, enc("oops\n")), encodeFrame(1, enc("bye\n"))])
    const out = demuxAll([bytes])
    expect(out.map((c) => [c.stream, Buffer.from(c.data).toString()])).toEqual([
      ["stdout", "hello\n"],
      ["stderr", "oops\n"],
      ["stdout", "bye\n"]
    ])
  })

  it("maps stream 0 to stdout and 3 (system error) to stderr", () => {
    const out = demuxAll([concat([encodeFrame(0, enc("a")), encodeFrame(3, enc("b"))])])
    expect(out.map((c) => c.stream)).toEqual(["stdout", "stderr"])
  })

  it("handles a header split byte by byte and a payload split across chunks", () => {
    const bytes = concat([encodeFrame(2, enc("split payload")), encodeFrame(1, enc("x"))])
    const oneByOne = Array.from(bytes, (b) => Uint8Array.of(b))
    const out = demuxAll(oneByOne)
    expect(texts(out)).toEqual({ stdout: "x", stderr: "split payload" })
  })

  it("reads lengths as unsigned big-endian 32-bit", () => {
    const payload = new Uint8Array(70_000).fill(97) // > 65535: needs the high bytes
    const frame = encodeFrame(1, payload)
    expect(Array.from(frame.subarray(0, 8))).toEqual([1, 0, 0, 0, 0, 1, 0x11, 0x70])
    const out = demuxAll(cut(frame, [3, 9, 40_000]))
    expect(out.reduce((n, c) => n + c.data.length, 0)).toBe(70_000)
  })

  it("whole-frame mode emits exactly one chunk per frame, including empty frames", () => {
    const bytes = concat([encodeFrame(1, enc("first line\n")), encodeFrame(1, new Uint8Array(0)), encodeFrame(2, enc("second\n"))])
    const out = demuxAll(cut(bytes, [1, 5, 12, 20]), { wholeFrames: true })
    expect(out.map((c) => [c.stream, Buffer.from(c.data).toString()])).toEqual([
      ["stdout", "first line\n"],
      ["stdout", ""],
      ["stderr", "second\n"]
    ])
  })

  it("tracks frame boundaries", () => {
    const d = new FrameDemuxer()
    const f = encodeFrame(1, enc("abc"))
    d.push(f.subarray(0, 5))
    expect(d.atBoundary).toBe(false)
    d.push(f.subarray(5))
    expect(d.atBoundary).toBe(true)
  })

  it("any split of any frame sequence gives the same streams (property)", () => {
    const frameArb = fc.record({ stream: fc.constantFrom(1 as const, 2 as const), text: fc.string({ maxLength: 40 }) })
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (frames, offsets, whole) => {
        const bytes = concat(frames.map((f) => encodeFrame(f.stream, enc(f.text))))
        const out = demuxAll(cut(bytes, offsets), { wholeFrames: whole })
        expect(texts(out)).toEqual({
          stdout: frames.filter((f) => f.stream === 1).map((f) => f.text).join(""),
          stderr: frames.filter((f) => f.stream === 2).map((f) => f.text).join("")
        })
        if (whole) expect(out.length).toBe(frames.length)
      }),
      { numRuns: 300 }
    )
  })

  it.effect("demuxStream works on an Effect stream of chunks", () =>
    Effect.gen(function*() {
      const bytes = concat([encodeFrame(1, enc("a\n")), encodeFrame(2, enc("b\n")), encodeFrame(1, enc("c\n"))])
      const out = yield* Stream.runCollect(demuxStream(Stream.fromArray(cut(bytes, [4, 11, 13])), { wholeFrames: true }))
      expect(out.map((c) => `${c.stream}:${Buffer.from(c.data).toString()}`)).toEqual(["stdout:a\n", "stderr:b\n", "stdout:c\n"])
    }))
})

describe("FrameLedger (follow recovery)", () => {
  const frame = (stream: "stdout" | "stderr", s: string): OutputChunk => ({ stream, data: enc(s) })
  const align = (delivered: ReadonlyArray<OutputChunk>, reread: ReadonlyArray<OutputChunk>) => {
    const ledger = new FrameLedger()
    for (const f of delivered) ledger.record(f)
    const keep = ledger.aligner()
    return reread.filter(keep)
  }
  const log = Array.from({ length: 50 }, (_, i) => frame(i % 7 === 0 ? "stderr" : "stdout", `line ${i}\n`))

  it("a prefix that was cut short: delivers exactly the rest", () => {
    expect(align(log.slice(0, 20), log)).toEqual(log.slice(20))
  })

  it("a follow that dropped entries mid-stream: delivers the dropped ones and the rest, nothing twice", () => {
    const delivered = log.filter((_, i) => i < 30 && (i < 10 || i > 17))
    const rest = align(delivered, log)
    expect(rest).toEqual(log.filter((_, i) => (i >= 10 && i <= 17) || i >= 30))
    expect(delivered.length + rest.length).toBe(log.length)
  })

  it("repeated identical entries are neither lost nor duplicated", () => {
    const same = Array.from({ length: 10 }, () => frame("stdout", "same\n"))
    expect(align(same.slice(0, 4), same).length).toBe(6)
  })

  it("the same text on the other stream is a different entry", () => {
    const reread = [frame("stdout", "x\n"), frame("stderr", "x\n")]
    expect(align([frame("stderr", "x\n")], reread)).toEqual([frame("stdout", "x\n")])
  })

  it("any subsequence is completed to the whole log (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: log.length, maxLength: log.length }), (mask) => {
        const delivered = log.filter((_, i) => mask[i])
        const rest = align(delivered, log)
        const key = (c: OutputChunk) => `${c.stream}:${Buffer.from(c.data).toString()}`
        expect([...delivered, ...rest].map(key).sort()).toEqual(log.map(key).sort())
        // and what comes late keeps the log's order
        expect(rest).toEqual(log.filter((_, i) => !mask[i]))
      }),
      { numRuns: 200 }
    )
  })
})
