/**
 * Container output read through Podman's logs API: for remote sockets and the journald log driver,
 * where there is no file to tail. Each session follows the log from where delivery stands (libpod's
 * `since` is exclusive at nanosecond precision; a session starts one nanosecond before the resume
 * time and the planner skips the records of that time already delivered, see logDelivery.ts).
 *
 * A session that fails (the connection dropped, the Podman service restarted) is opened again with
 * a capped exponential backoff, from the position reached: nothing is lost and nothing repeated.
 * The transport ends a session normally only once the container has exited and its last line is
 * delivered (and makes up for what Podman 4.3's follow drops, layers/libpod/logsRecovery.ts).
 */
import { Duration, Effect, Stream } from "effect"
import type { PodmanError } from "../domain/errors.ts"
import type { LogPosition } from "../domain/LogPosition.ts"
import type { PodmanClient } from "../services/Podman.ts"
import { recordOf, resumeTime, type SourceEvent } from "./logDelivery.ts"

const BACKOFF_MIN = Duration.millis(100)
const BACKOFF_MAX = Duration.seconds(5)

/** Whether a failed session is worth opening again: not when the container is gone or the transport cannot. */
const retryable = (e: PodmanError): boolean => {
  const tag = e.reason._tag
  return tag !== "NotFound" && tag !== "Unsupported" && tag !== "Decode"
}

export const apiLogSource = (
  client: PodmanClient,
  containerId: string,
  /** Where delivery stands now (read when a session starts). */
  position: Effect.Effect<LogPosition>
): Stream.Stream<SourceEvent> => {
  const session = (from: LogPosition): Stream.Stream<SourceEvent, PodmanError> => {
    const t = resumeTime(from)
    const resume: SourceEvent = { _tag: "Resume", by: "time" }
    return Stream.succeed(resume).pipe(
      Stream.concat(
        client.containerLogs(containerId, {
          follow: true,
          stdout: true,
          stderr: true,
          timestamps: true,
          ...(t !== undefined ? { after: t - 1n } : {})
        }).pipe(
          Stream.mapArray((chunks): readonly [SourceEvent] => [{
            _tag: "Records",
            records: chunks.map((c) => recordOf(c.stream, c.data, c.time))
          }])
        )
      )
    )
  }

  const attempt = (failures: number): Stream.Stream<SourceEvent> =>
    Stream.unwrap(Effect.map(position, (from) => {
      let delivered = false
      return session(from).pipe(
        Stream.tap((e) =>
          e._tag === "Records" && !delivered
            ? Effect.sync(() => void (delivered = true)).pipe(
              Effect.andThen(failures > 0 ? Effect.logInfo("log stream reconnected") : Effect.void)
            )
            : Effect.void
        ),
        Stream.catch((e: PodmanError) => {
          if (!retryable(e)) {
            return e.reason._tag === "NotFound"
              ? Stream.empty
              : Stream.fromEffect(Effect.logWarning(`log forwarding stopped: ${e.message}`)).pipe(Stream.drain)
          }
          const n = delivered ? 0 : failures
          const delay = Duration.min(Duration.times(BACKOFF_MIN, 2 ** Math.min(n, 10)), BACKOFF_MAX)
          const say = n === 0 ? Effect.logWarning(`log stream interrupted, reconnecting: ${e.message}`) : Effect.logDebug(`log stream reconnect failed: ${e.message}`)
          return Stream.fromEffect(say.pipe(Effect.andThen(Effect.sleep(delay)))).pipe(
            Stream.drain,
            Stream.concat(Stream.suspend(() => attempt(n + 1)))
          )
        })
      )
    }))

  return attempt(0)
}
