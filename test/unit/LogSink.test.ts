/**
 * The in-memory and console log sinks (layers/log-sink/memory.ts, console.ts). The FIFO sink is
 * tested against real named pipes in test/integration/LogSinkFifo.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { Writable } from "node:stream"
import { layerConsole, layerMemory, MemoryLogSink, writeWithBackpressure } from "../../layers/log-sink/index.ts"
import { LogSink } from "../../src/services/LogSink.ts"
import { eventually } from "../support/eventually.ts"

const enc = new TextEncoder()
const target = (taskId: string) => ({ taskId, stdoutPath: "", stderrPath: "" })

describe("LogSink.layerMemory", () => {
  it.effect("captures each task's stdout and stderr separately", () =>
    Effect.gen(function*() {
      const sink = yield* LogSink
      const mem = yield* MemoryLogSink
      const a = yield* sink.open(target("a"))
      const b = yield* sink.open(target("b"))
      yield* a.write({ stream: "stdout", data: enc.encode("a out 1\n") })
      yield* a.write({ stream: "stderr", data: enc.encode("a err\n") })
      yield* b.write({ stream: "stdout", data: enc.encode("b out\n") })
      yield* a.write({ stream: "stdout", data: enc.encode("a out 2\n") })
      expect(yield* mem.lines("a", "stdout")).toEqual(["a out 1", "a out 2"])
      expect(yield* mem.lines("a", "stderr")).toEqual(["a err"])
      expect(yield* mem.text("b", "stdout")).toBe("b out\n")
      expect(yield* mem.lines("b", "stderr")).toEqual([])
      expect((yield* mem.bytes("a", "stdout")).byteLength).toBe(16)
      expect(yield* mem.lines("unknown", "stdout")).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(layerMemory)))

  it.effect("copies written buffers and tracks whether the task's writer is open", () =>
    Effect.gen(function*() {
      const sink = yield* LogSink
      const mem = yield* MemoryLogSink
      const scope = yield* Scope.make()
      const w = yield* sink.open(target("t")).pipe(Scope.provide(scope))
      expect(yield* mem.isOpen("t")).toBe(true)
      const buf = enc.encode("hello\n")
      yield* w.write({ stream: "stdout", data: buf })
      buf.fill(0) // the caller reuses its buffer
      expect(yield* mem.text("t", "stdout")).toBe("hello\n")
      yield* Scope.close(scope, Exit.void)
      expect(yield* mem.isOpen("t")).toBe(false)
      expect(yield* mem.text("t", "stdout")).toBe("hello\n") // kept after close
    }).pipe(Effect.provide(layerMemory)))
})

/** A writable that accepts a chunk only when the test says so (a slow terminal). */
const slowWritable = () => {
  const received: Array<string> = []
  const pending: Array<() => void> = []
  const out = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _enc, cb) {
      received.push(chunk.toString())
      pending.push(cb)
    }
  })
  return { out, received, waiting: () => pending.length, release: () => pending.splice(0).forEach((cb) => cb()) }
}

describe("LogSink.layerConsole", () => {
  it.live("waits for 'drain' when the output is full, then continues in order", () =>
    Effect.gen(function*() {
      const slow = slowWritable()
      const fiber = yield* Effect.forkChild(
        Effect.forEach(["0123456789\n", "second\n", "third\n"], (s) => writeWithBackpressure(slow.out, enc.encode(s)), {
          discard: true
        })
      )
      yield* eventually(Effect.sync(() => expect(slow.received).toHaveLength(1)))
      // the first chunk exceeds the 8-byte high-water mark and the output has not accepted it:
      // the writer waits for 'drain'
      expect(fiber.pollUnsafe()).toBeUndefined()
      expect(slow.received).toEqual(["0123456789\n"])
      for (let i = 0; i < 5 && fiber.pollUnsafe() === undefined; i++) {
        slow.release()
        // the next chunk reaches the output, or the writer is done
        yield* eventually(Effect.sync(() => expect(fiber.pollUnsafe() !== undefined || slow.waiting() > 0).toBe(true)))
      }
      yield* Fiber.join(fiber).pipe(Effect.timeout("1 second"))
      expect(slow.received).toEqual(["0123456789\n", "second\n", "third\n"])
    }))

  it.live("does not hang on a destroyed output", () =>
    Effect.gen(function*() {
      const slow = slowWritable()
      const fiber = yield* Effect.forkChild(writeWithBackpressure(slow.out, enc.encode("0123456789\n")))
      // destroyed while the writer waits for 'drain'
      yield* eventually(Effect.sync(() => expect(slow.received).toHaveLength(1)))
      slow.out.destroy()
      yield* Fiber.join(fiber).pipe(Effect.timeout("1 second"))
      yield* writeWithBackpressure(slow.out, enc.encode("dropped\n")).pipe(Effect.timeout("1 second"))
    }))

  it.live("routes stdout chunks to process.stdout and stderr chunks to process.stderr", () =>
    Effect.gen(function*() {
      const seen: Array<[string, string]> = []
      const origOut = process.stdout.write
      const origErr = process.stderr.write
      const spy = (name: string) =>
        ((chunk: unknown, ...rest: Array<unknown>) => {
          seen.push([name, Buffer.from(chunk as Uint8Array).toString()])
          const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined
          cb?.()
          return true
        }) as typeof process.stdout.write
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          process.stdout.write = spy("stdout")
          process.stderr.write = spy("stderr")
        }),
        () =>
          Effect.sync(() => {
            process.stdout.write = origOut
            process.stderr.write = origErr
          })
      )
      const w = yield* LogSink.use((s) => s.open(target("c")))
      yield* w.write({ stream: "stdout", data: enc.encode("to out\n") })
      yield* w.write({ stream: "stderr", data: enc.encode("to err\n") })
      expect(seen).toEqual([["stdout", "to out\n"], ["stderr", "to err\n"]])
    }).pipe(Effect.scoped, Effect.provide(layerConsole)))
})
