/**
 * DriverState: everything the driver needs to re-attach to a task after a plugin restart. It is the
 * opaque `driver_state` of Nomad's TaskHandle (JSON bytes), versioned so that a newer plugin can read
 * the state an older one wrote.
 *
 * Fields added later are optional, so the version stays 1: a state without them (written by an
 * older plugin, or converted from a Go driver handle) still recovers, and an older plugin reading a
 * newer state ignores what it does not know.
 */
import { Effect, Schema } from "effect"
import { InvalidTaskConfig } from "./errors.ts"
import { NomadTask } from "./NomadTask.ts"

/** The TaskHandle version this driver writes. */
export const DRIVER_STATE_VERSION = 1

/**
 * The process that keeps a task's log FIFOs open while no plugin runs: its pid, and its start time
 * (clock ticks since boot, field 22 of `/proc/<pid>/stat`) so that a reused pid is never taken for it.
 */
export const LogKeeperId = Schema.Struct({
  pid: Schema.Number,
  startTime: Schema.String
})
export type LogKeeperId = typeof LogKeeperId.Type

export const DriverState = Schema.Struct({
  version: Schema.Literal(1),
  taskId: Schema.String,
  containerId: Schema.String,
  containerName: Schema.String,
  /** Configured socket name the task runs on. */
  socketName: Schema.String,
  /** ISO-8601. */
  startedAt: Schema.String,
  /**
   * ISO-8601, the start (read by older plugins). Recovery resumes log forwarding at the position
   * the log sink kept for the task (src/domain/LogPosition.ts); without one (a state from a plugin
   * that kept none), at the recovery's own time.
   */
  logSince: Schema.String,
  /**
   * The task config in its HCL-level form (`encodeTaskConfig`: JSON-safe, HCL names, text values),
   * decoded again on recovery. A Go driver handle carries the config as Nomad sent it, which
   * decodes the same way.
   */
  taskConfig: Schema.Unknown,
  /** What Nomad handed us at start (log FIFO paths, alloc dir, resources). */
  nomadTask: NomadTask,
  /** The log keeper started with the task (layers/log-sink/keeper.ts); absent when none was started. */
  logKeeper: Schema.optional(LogKeeperId)
})
export type DriverState = typeof DriverState.Type

export const encodeDriverState = (state: DriverState): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(state))

export const decodeDriverState = (bytes: Uint8Array): Effect.Effect<DriverState, InvalidTaskConfig> =>
  Effect.try({
    try: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    catch: () => new InvalidTaskConfig({ issues: [{ field: "driver_state", reason: "not valid JSON" }] })
  }).pipe(
    Effect.flatMap((raw) => Schema.decodeUnknownEffect(DriverState)(raw)),
    Effect.mapError((e) =>
      e._tag === "InvalidTaskConfig" ? e : new InvalidTaskConfig({ issues: [{ field: "driver_state", reason: e.message }] })
    )
  )
