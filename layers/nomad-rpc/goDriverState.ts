/**
 * Migration from the Go nomad-driver-podman: after an operator swaps the Go binary for this one,
 * Nomad hands RecoverTask the handles the Go driver wrote. Their `driver_state` is Nomad's msgpack
 * encoding of the Go struct `TaskState{TaskConfig, ContainerID, StartedAt, Net, LogStreamer}`, not our
 * JSON DriverState. Everything else we need is in the handle's own `config` (the task as Nomad sent
 * it, including `msgpack_driver_config`), so such a handle is turned into a DriverState here and the
 * running container is adopted instead of being lost.
 */
import { decode } from "@msgpack/msgpack"
import { Effect } from "effect"
import type { DriverState } from "../../src/domain/DriverState.ts"
import { InvalidTaskConfig } from "../../src/domain/errors.ts"
import type { TaskHandle } from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { toNomadTask } from "./codec.ts"
import { decodeCtyMsgpack } from "./cty.ts"

const invalid = (reason: string) => new InvalidTaskConfig({ issues: [{ field: "driver_state", reason }] })

const startedAtOf = (v: unknown): string => {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString()
  if (typeof v === "string" && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString()
  return new Date(0).toISOString() // unknown: the driver takes the start time from Podman
}

/** A DriverState from a Go driver handle, or InvalidTaskConfig when the bytes are not one. */
export const fromGoDriverState = (handle: TaskHandle): Effect.Effect<DriverState, InvalidTaskConfig> =>
  Effect.gen(function*() {
    const config = handle.config
    if (config === undefined) return yield* invalid("the handle has no task config")
    const state = yield* Effect.try({
      try: () => decode(handle.driverState) as Record<string, unknown> | null,
      catch: () => invalid("neither this driver's JSON state nor the Go driver's msgpack state")
    })
    const containerId = state?.ContainerID
    if (typeof containerId !== "string" || containerId === "") {
      return yield* invalid("the Go driver state has no ContainerID")
    }
    const rawConfig = yield* Effect.try({
      try: () => decodeCtyMsgpack(config.msgpackDriverConfig),
      catch: () => invalid("the handle's msgpack_driver_config does not decode")
    })
    const socket = (rawConfig as { socket?: unknown } | null)?.socket
    const startedAt = startedAtOf(state?.StartedAt)
    return {
      version: 1,
      taskId: config.id,
      containerId,
      containerName: `${config.name}-${config.allocId}`,
      socketName: typeof socket === "string" && socket !== "" ? socket : "default",
      startedAt,
      logSince: startedAt,
      taskConfig: rawConfig ?? {},
      nomadTask: toNomadTask(config)
    } satisfies DriverState
  })
