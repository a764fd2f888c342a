/**
 * The console `LogSink` (CLI `run`): a task's stdout chunks go to the process's stdout and its
 * stderr chunks to the process's stderr, byte for byte.
 *
 * Backpressure: when `write()` returns false (the terminal or pipe is slower than the task), the
 * writer waits for `drain` before taking the next chunk, so nothing piles up in memory. If the
 * stream is closed or broken (`run ... | head`), the wait ends on `close`/`error` and further
 * output is dropped: a broken stdout must not hang or crash the CLI while the task still runs.
 */
import { Effect, Layer } from "effect"
import type { Writable } from "node:stream"
import { LogSink } from "../../src/services/LogSink.ts"

/** Writes one chunk to a Node writable and waits for `drain` when its buffer is full. */
export const writeWithBackpressure = (out: Writable, data: Uint8Array): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (out.destroyed || out.writableEnded) return resume(Effect.void)
    if (out.write(data)) return resume(Effect.void)
    const done = () => {
      cleanup()
      resume(Effect.void)
    }
    const cleanup = () => {
      out.off("drain", done)
      out.off("close", done)
      out.off("error", done)
    }
    out.once("drain", done)
    out.once("close", done)
    out.once("error", done)
    // on interruption: stop waiting (the chunk is already queued in the stream)
    return Effect.sync(cleanup)
  })

/** Writes to `process.stdout` / `process.stderr`. */
export const layerConsole: Layer.Layer<LogSink> = Layer.effect(
  LogSink,
  Effect.gen(function*() {
    // EPIPE on stdout (reader gone) is emitted as 'error'; with no listener Node would throw it as
    // an uncaught exception. Swallow it while the layer is alive; writes then become no-ops.
    const ignore = () => {}
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        process.stdout.on("error", ignore)
        process.stderr.on("error", ignore)
      }),
      () =>
        Effect.sync(() => {
          process.stdout.off("error", ignore)
          process.stderr.off("error", ignore)
        })
    )
    return LogSink.of({
      open: () =>
        Effect.succeed({
          write: (chunk) => writeWithBackpressure(chunk.stream === "stderr" ? process.stderr : process.stdout, chunk.data)
        })
    })
  })
)
