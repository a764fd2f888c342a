/**
 * The long-lived REST streams: container logs (with the recovery of what a follow dropped),
 * batched stats, events. None has a timeout on its status line: Podman (Go's net/http) sends the
 * headers only with the first body write, so a quiet container's followed logs, or an events
 * subscription nothing matches yet, has no status line for as long as nothing happens. They still
 * fail with a PodmanError (Unavailable) when the connection fails. A non-follow log read is bounded
 * like a call.
 */
import { Clock, Duration, Effect, Option, Stream } from "effect"
import { formatLogTime, parseLogTime } from "../../src/domain/LogPosition.ts"
import { Api, PodmanError, Unavailable } from "../../src/domain/PodmanError.ts"
import type { ContainerInspect, ContainerStats, EventFilters, LogsOptions, OutputChunk, PodmanEvent } from "../../src/services/Podman.ts"
import { toEvent, toStatsReport } from "../libpod/decode.ts"
import { FrameLedger } from "../libpod/logsRecovery.ts"
import { demuxStream } from "./frames.ts"
import type { Http } from "./http.ts"

interface StreamDeps {
  readonly http: Http
  readonly guard: <A, E, R>(operation: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PodmanError, R>
  readonly containerInspect: (id: string) => Effect.Effect<ContainerInspect, PodmanError>
  readonly containerWait: (id: string) => Effect.Effect<number, PodmanError>
}

const enc = encodeURIComponent

/**
 * A frame of `logs?timestamps=true`: `<RFC 3339 time> <text>`. libpod formats the time with
 * whole seconds (docs/podman.md, "Logs"): the cursor counts records within a second.
 */
const stampedFrame = (f: OutputChunk): OutputChunk => {
  const space = f.data.indexOf(0x20)
  const time = space > 0 ? parseLogTime(Buffer.from(f.data.buffer, f.data.byteOffset, space).toString("latin1")) : undefined
  return time === undefined ? f : { stream: f.stream, data: f.data.subarray(space + 1), time }
}

/** How long a follow that ended while the container seems to run waits for the exit to show. */
const FOLLOW_END_SETTLE = Duration.seconds(3)

export const makeStreams = ({ http, guard, containerInspect, containerWait }: StreamDeps) => {
  const followEnded = (id: string) =>
    Effect.fail(
      new PodmanError({
        operation: "containerLogs",
        socket: http.address,
        reason: new Unavailable({ detail: `the log stream of ${id} ended while the container runs` })
      })
    )

  const logsOnce = (id: string, opts: LogsOptions, follow: boolean): Stream.Stream<OutputChunk, PodmanError> => {
    const query: Array<readonly [string, string]> = [
      ["follow", String(follow)],
      ["stdout", String(opts.stdout)],
      ["stderr", String(opts.stderr)]
    ]
    // libpod parses `since` with util.ParseInputTime: RFC 3339 keeps nanoseconds (and is exclusive
    // there); unix seconds with a fraction work too.
    if (opts.after !== undefined) query.push(["since", formatLogTime(opts.after)])
    else if (opts.since !== undefined) query.push(["since", (opts.since.getTime() / 1000).toFixed(3)])
    if (opts.tail !== undefined) query.push(["tail", String(opts.tail)])
    if (opts.timestamps === true) query.push(["timestamps", "true"])
    return Stream.unwrap(Effect.map(
      guard("containerLogs", http.open("containerLogs", { method: "GET", path: `/containers/${enc(id)}/logs`, query }, {
        id,
        // Follow: the headers come with the first log line, which may be never (see the header).
        headerTimeout: !follow
      })),
      (res) => {
        const frames = demuxStream(http.body("containerLogs", res), { wholeFrames: true })
        return opts.timestamps === true ? frames.pipe(Stream.map(stampedFrame)) : frames
      }
    ))
  }

  const containerLogs = (id: string, opts: LogsOptions): Stream.Stream<OutputChunk, PodmanError> => {
    if (!opts.stdout && !opts.stderr) return Stream.empty // libpod answers 400 when no stream is selected
    if (!opts.follow) return logsOnce(id, opts, false).pipe(Stream.withSpan("PodmanRest.containerLogs"))
    return Stream.suspend(() => {
      // Podman 4.3 cuts follow streams short after an exit AND drops entries during bursts; see
      // layers/libpod/logsRecovery.ts. Every delivered frame is recorded; when the follow ends, the
      // log is read once more without follow and aligned against the record, delivering what was missed.
      const ledger = new FrameLedger()
      const recover = Stream.unwrap(Effect.gen(function*() {
        // With `tail` the re-read would start at a different entry: no alignment possible.
        if (opts.tail !== undefined) return Stream.empty
        const state = yield* containerInspect(id)
        // A follow that ended while the container still runs: its exit may just not be recorded
        // yet (wait a moment), else the connection ended early (the service went away and came
        // back, a proxy closed it) and the caller opens a new one from where it got.
        if (state.state.running) {
          const exited = yield* containerWait(id).pipe(Effect.timeoutOption(FOLLOW_END_SETTLE))
          if (Option.isNone(exited)) return yield* followEnded(id)
        }
        const keep = ledger.aligner()
        return logsOnce(id, opts, false).pipe(Stream.filter(keep))
      }).pipe(
        // Removed meanwhile: nothing more to read.
        Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(Stream.empty))
      ))
      return logsOnce(id, opts, true).pipe(
        Stream.mapArray((frames) => {
          for (const f of frames) ledger.record(f)
          return frames
        }),
        Stream.concat(recover)
      )
    }).pipe(Stream.withSpan("PodmanRest.containerLogs"))
  }

  const containerStats = (
    ids: ReadonlyArray<string>,
    opts: { readonly intervalSeconds: number }
  ): Stream.Stream<ReadonlyArray<ContainerStats>, PodmanError> => {
    // With no `containers` libpod reports every container on the host: never what we want.
    if (ids.length === 0) return Stream.empty
    const query: Array<readonly [string, string]> = ids.map((id) => ["containers", id] as const)
    query.push(["stream", "true"], ["interval", String(Math.max(1, Math.round(opts.intervalSeconds)))])
    return Stream.unwrap(Effect.map(
      // No header timeout: the headers come with the first sample, one interval later.
      guard("containerStats", http.open("containerStats", { method: "GET", path: "/containers/stats", query }, { headerTimeout: false })),
      (res) =>
        http.jsonLines("containerStats", res).pipe(
          Stream.mapEffect((json) =>
            Effect.gen(function*() {
              const readAt = new Date(yield* Clock.currentTimeMillis)
              const report = yield* toStatsReport(json, readAt).pipe(Effect.mapError(http.decodeError("containerStats")))
              if (report._tag === "Samples") return report.samples
              // Podman's error for the batch (e.g. a container removed meanwhile).
              return yield* new PodmanError({
                operation: "containerStats",
                socket: http.address,
                reason: new Api({ detail: `stats error for ${ids.join(", ")}: ${report.error}` })
              })
            })
          )
        )
    )).pipe(Stream.withSpan("PodmanRest.containerStats"))
  }

  const events = (filters: EventFilters): Stream.Stream<PodmanEvent, PodmanError> => {
    const f: Record<string, ReadonlyArray<string>> = {}
    if (filters.container !== undefined && filters.container.length > 0) f.container = filters.container
    if (filters.type !== undefined && filters.type.length > 0) f.type = filters.type
    if (filters.event !== undefined && filters.event.length > 0) f.event = filters.event
    if (filters.label !== undefined && filters.label.length > 0) f.label = filters.label
    const query: Array<readonly [string, string]> = [["stream", "true"]]
    if (Object.keys(f).length > 0) query.push(["filters", JSON.stringify(f)])
    return Stream.unwrap(Effect.map(
      // No header timeout: the headers come with the first matching event.
      guard("events", http.open("events", { method: "GET", path: "/events", query }, { headerTimeout: false })),
      (res) => http.jsonLines("events", res).pipe(Stream.mapEffect((json) => toEvent(json).pipe(Effect.mapError(http.decodeError("events")))))
    )).pipe(Stream.withSpan("PodmanRest.events"))
  }

  return { containerLogs, containerStats, events }
}
