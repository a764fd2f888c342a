/**
 * The `LogSink` service: where a task's stdout and stderr go. In plugin mode that is Nomad's two
 * FIFOs (layers/log-sink/fifo.ts); the CLI uses the console sink, tests the in-memory sink.
 *
 * Two optional capabilities serve delivery across plugin restarts (docs/architecture.md, "Logs"):
 * - a writer may report the bytes the destination accepted (`accepted`), so the driver knows its
 *   position to the byte even when a write is cut short;
 * - a sink may `retain` a task's logs: keep the destinations open in something that outlives the
 *   plugin (so Nomad's reader never sees EOF while the task lives) and keep the delivered position
 *   where the next plugin instance finds it.
 */
import type { Effect, Scope } from "effect"
import { Context } from "effect"
import type { LogPosition } from "../domain/LogPosition.ts"
import type { LogKeeperId } from "../domain/DriverState.ts"
import type { OutputChunk } from "./Podman.ts"

/** An open destination for one task's output. Writes apply backpressure (they wait for the reader). */
export interface LogWriter {
  /**
   * Writes the chunk; returns once all of it is delivered. A writer that can tell calls `accepted`
   * with each piece's byte count as the destination takes it (before returning); a writer that does
   * not is taken to have delivered the chunk whole when `write` returns.
   */
  readonly write: (chunk: OutputChunk, accepted?: (bytes: number) => Effect.Effect<void>) => Effect.Effect<void>
}

export interface LogTarget {
  readonly taskId: string
  /** Nomad's stdout FIFO path, `/dev/null`, or "" (discard). */
  readonly stdoutPath: string
  readonly stderrPath: string
  /**
   * A directory private to the driver for this task (invisible to the task), where a sink may keep
   * what must survive a plugin restart; absent or "" when there is none.
   */
  readonly stateDir?: string
}

/** A task's retained logs (see the module comment); lives from StartTask (or RecoverTask) to DestroyTask. */
export interface RetainedLogs {
  /** The keeper process holding the destinations open, to be recorded in the task's DriverState. */
  readonly keeper: LogKeeperId | undefined
  /** The delivered position found at recovery; undefined at a start, or when none was kept. */
  readonly resumeFrom: LogPosition | undefined
  /**
   * A path that opens the Podman log file the keeper held when the plugin stopped (the file a
   * rotation may have renamed away meanwhile); undefined when none.
   */
  readonly heldFile: string | undefined
  /** Records the delivered position. Cheap and synchronous; called after every accepted piece. */
  readonly save: (position: LogPosition) => Effect.Effect<void>
  /** Has the keeper also hold this open file (a descriptor of this process): the log file being read. */
  readonly holdFile: (fd: number) => Effect.Effect<void>
}

export class LogSink extends Context.Service<LogSink, {
  /** Opens the task's destinations; they are closed when the Scope closes. Never fails: an unusable path discards. */
  readonly open: (target: LogTarget) => Effect.Effect<LogWriter, never, Scope.Scope>
  /**
   * Optional: retains the task's logs until the Scope closes (DestroyTask), which ends the keeper
   * and forgets the position. `recover`: the task was started by an earlier plugin instance; find
   * its keeper (`keeper`, from its DriverState) and its position again. Never fails: what cannot
   * be kept is logged and done without.
   */
  readonly retain?: (
    target: LogTarget,
    options: { readonly recover: boolean; readonly keeper: LogKeeperId | undefined }
  ) => Effect.Effect<RetainedLogs, never, Scope.Scope>
}>()("nomad-driver-podman/services/LogSink") {}
