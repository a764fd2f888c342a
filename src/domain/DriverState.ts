/**
 * DriverState: everything the driver needs to re-attach to a task after a plugin restart. It is the
 * opaque `driver_state` of Nomad's TaskHandle (JSON bytes), versioned so that a newer plugin can read
 * the state an older one wrote.
 */
import { Effect, Schema } from "effect"
import { InvalidTaskConfig } from "./errors.ts"
import { NomadTask } from "./NomadTask.ts"

/** The TaskHandle version this driver writes. */
export const DRIVER_STATE_VERSION = 1

export const DriverState = Schema.Struct({
  version: Schema.Literal(1),
  taskId: Schema.String,
  containerId: Schema.String,
  containerName: Schema.String,
  /** Configured socket name the task runs on. */
  socketName: Schema.String,
  /** ISO-8601. */
  startedAt: Schema.String,
  /** Logs were forwarded up to this instant (ISO-8601 with ns precision kept as a string). */
  logSince: Schema.String,
  /**
   * The task config in its HCL-level form (`encodeTaskConfig`: JSON-safe, HCL names, text values),
   * decoded again on recovery. A Go driver handle carries the config as Nomad sent it, which
   * decodes the same way.
   */
  taskConfig: Schema.Unknown,
  /** What Nomad handed us at start (log FIFO paths, alloc dir, resources). */
  nomadTask: NomadTask
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
