/**
 * The `LogSink` service: where a task's stdout and stderr go. In plugin mode that is Nomad's two
 * FIFOs (layers/log-sink/fifo.ts); the CLI uses the console sink, tests the in-memory sink.
 */
import type { Effect, Scope } from "effect"
import { Context } from "effect"
import type { OutputChunk } from "./Podman.ts"

/** An open destination for one task's output. Writes apply backpressure (they wait for the reader). */
export interface LogWriter {
  readonly write: (chunk: OutputChunk) => Effect.Effect<void>
}

export interface LogTarget {
  readonly taskId: string
  /** Nomad's stdout FIFO path, `/dev/null`, or "" (discard). */
  readonly stdoutPath: string
  readonly stderrPath: string
}

export class LogSink extends Context.Service<LogSink, {
  /** Opens the task's destinations; they are closed when the Scope closes. Never fails: an unusable path discards. */
  readonly open: (target: LogTarget) => Effect.Effect<LogWriter, never, Scope.Scope>
}>()("nomad-driver-podman/services/LogSink") {}
