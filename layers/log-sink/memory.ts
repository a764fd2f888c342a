/**
 * The in-memory `LogSink` for tests and embedding: every chunk a task writes is kept in memory,
 * per task and per stream, and can be read back through the `MemoryLogSink` service.
 *
 * It never applies backpressure and keeps everything, so it is meant for short-lived tasks in
 * tests, not for production log volumes. Reopening the same task id (e.g. after RecoverTask)
 * appends to what was captured before.
 *
 * It also retains positions (`retain`): a driver built on the same layer instance after another
 * one stopped (a "plugin restart" in a test) resumes exactly where the first one stopped. A task's
 * position is forgotten when its `retain` Scope closes (DestroyTask).
 */
import { Context, Effect, Layer } from "effect"
import type { LogPosition } from "../../src/domain/LogPosition.ts"
import { LogSink } from "../../src/services/LogSink.ts"
import type { OutputStream } from "../../src/services/Podman.ts"

/** Reads back what the in-memory sink captured. */
export class MemoryLogSink extends Context.Service<MemoryLogSink, {
  /** All bytes written so far for the task's stream (empty if none). */
  readonly bytes: (taskId: string, stream: OutputStream) => Effect.Effect<Uint8Array>
  /** The same, decoded as UTF-8. */
  readonly text: (taskId: string, stream: OutputStream) => Effect.Effect<string>
  /** The text split into lines; a trailing newline does not produce an empty last line. */
  readonly lines: (taskId: string, stream: OutputStream) => Effect.Effect<ReadonlyArray<string>>
  /** Whether the task currently has an open writer (its Scope has not closed yet). */
  readonly isOpen: (taskId: string) => Effect.Effect<boolean>
  /** The delivered position the driver last recorded for the task (while it is retained). */
  readonly position: (taskId: string) => Effect.Effect<LogPosition | undefined>
}>()("nomad-driver-podman/layers/log-sink/MemoryLogSink") {}

interface Captured {
  stdout: Array<Uint8Array>
  stderr: Array<Uint8Array>
  open: number
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

const decoder = new TextDecoder()

/** Provides both `LogSink` (for the driver) and `MemoryLogSink` (for the test reading it back). */
export const layerMemory: Layer.Layer<LogSink | MemoryLogSink> = Layer.effectContext(Effect.sync(() => {
  const tasks = new Map<string, Captured>()
  const positions = new Map<string, LogPosition>()
  const entry = (taskId: string): Captured => {
    let e = tasks.get(taskId)
    if (e === undefined) {
      e = { stdout: [], stderr: [], open: 0 }
      tasks.set(taskId, e)
    }
    return e
  }
  const bytes = (taskId: string, stream: OutputStream) => Effect.sync(() => concat(tasks.get(taskId)?.[stream] ?? []))
  const text = (taskId: string, stream: OutputStream) => Effect.map(bytes(taskId, stream), (b) => decoder.decode(b))
  const sink = LogSink.of({
    open: (target) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const e = entry(target.taskId)
          e.open++
          return e
        }),
        (e) => Effect.sync(() => void e.open--)
      ).pipe(Effect.map((e) => ({
        // copy: the caller may reuse its buffer after the write returns
        write: (chunk) => Effect.sync(() => void e[chunk.stream].push(Uint8Array.from(chunk.data)))
      }))),
    retain: (target, options) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const resumeFrom = options.recover ? positions.get(target.taskId) : undefined
          if (!options.recover) positions.delete(target.taskId)
          return resumeFrom
        }),
        () => Effect.sync(() => void positions.delete(target.taskId))
      ).pipe(Effect.map((resumeFrom) => ({
        keeper: undefined,
        resumeFrom,
        heldFile: undefined,
        save: (p) => Effect.sync(() => void positions.set(target.taskId, p)),
        holdFile: () => Effect.void
      })))
  })
  const memory = MemoryLogSink.of({
    bytes,
    text,
    lines: (taskId, stream) =>
      Effect.map(text(taskId, stream), (t) => (t === "" ? [] : t.replace(/\n$/, "").split("\n"))),
    isOpen: (taskId) => Effect.sync(() => (tasks.get(taskId)?.open ?? 0) > 0),
    position: (taskId) => Effect.sync(() => positions.get(taskId))
  })
  return Context.make(LogSink, sink).pipe(Context.add(MemoryLogSink, memory))
}))
