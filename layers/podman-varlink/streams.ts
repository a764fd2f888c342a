/**
 * The long-lived io.podman operations: followed logs (with the recovery of what a follow dropped),
 * polled stats, events and exec over an upgraded connection.
 */
import { Clock, Deferred, Duration, Effect, Option, Result, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import { Decode, type PodmanError, Unavailable, Unsupported } from "../../src/domain/PodmanError.ts"
import type {
  ContainerInspect,
  ContainerStats,
  EventFilters,
  ExecOptions,
  ExecSession,
  LogsOptions,
  OutputChunk,
  PodmanEvent
} from "../../src/services/Podman.ts"
import { formatLogTime, parseLogTime } from "../../src/domain/LogPosition.ts"
import { FrameLedger } from "../libpod/logsRecovery.ts"
import { type Calls, IFACE } from "./calls.ts"
import { ExecDest, encodeExecFrame, ExecFrameDecoder } from "./execFrames.ts"
import { ContainerStatsReply, EventReply, LogLineReply } from "./replies.ts"

interface StreamDeps {
  readonly calls: Calls
  readonly containerInspect: (id: string) => Effect.Effect<ContainerInspect, PodmanError>
  readonly containerWait: (id: string) => Effect.Effect<number, PodmanError>
}

export const makeVarlinkStreams = ({ calls, containerInspect, containerWait }: StreamDeps) => {
  const { callMore, call, error, failure, timeoutMillis } = calls

  const logsOnce = (id: string, logs: LogsOptions, follow: boolean): Stream.Stream<OutputChunk, PodmanError> =>
    callMore("containerLogs", "GetContainersLogs", {
      names: [id],
      follow,
      latest: false,
      // io.podman parses `since` as RFC 3339 with nanoseconds and keeps what is after it
      since: logs.after !== undefined ? formatLogTime(logs.after) : logs.since ? logs.since.toISOString() : "",
      tail: logs.tail ?? -1,
      timestamps: false
    }, LogLineReply, { id, ...(follow ? {} : { idleTimeoutMillis: timeoutMillis }) }).pipe(
      Stream.map((p) => p.log),
      // Podman ends a log stream with an empty LogLine
      Stream.takeWhile((l) => !((l.device ?? "") === "" && (l.msg ?? "") === "" && (l.time ?? "") === "")),
      Stream.filterMap((l): Result.Result<OutputChunk, void> => {
        const stream = l.device === "stderr" ? "stderr" as const : "stdout" as const
        if ((stream === "stdout" && !logs.stdout) || (stream === "stderr" && !logs.stderr)) return Result.failVoid
        // "P" marks a partial line (no newline yet)
        const text = (l.msg ?? "") + (l.parseLogType === "P" ? "" : "\n")
        const data = new TextEncoder().encode(text)
        // io.podman stamps every LogLine (RFC 3339 with nanoseconds)
        const time = logs.timestamps === true ? parseLogTime(l.time ?? "") : undefined
        return Result.succeed(time === undefined ? { stream, data } : { stream, data, time })
      })
    )

  /**
   * With `follow`, every delivered line is recorded; when the follow ends, the log is read once
   * more without follow and aligned against the record, so lines a follow dropped or cut short are
   * delivered late instead of lost (same recovery as the REST transport, layers/libpod/logsRecovery.ts:
   * a Podman 4.3 service behind the test io.podman service shows both faults).
   */
  const containerLogs = (id: string, logs: LogsOptions): Stream.Stream<OutputChunk, PodmanError> => {
    if (!logs.stdout && !logs.stderr) return Stream.empty
    if (!logs.follow) return logsOnce(id, logs, false)
    return Stream.suspend(() => {
      const ledger = new FrameLedger()
      const recover = Stream.unwrap(Effect.gen(function*() {
        // With `tail` the re-read would start at a different line: no alignment possible.
        if (logs.tail !== undefined) return Stream.empty
        const state = yield* containerInspect(id)
        // A follow that ended while the container still runs: its exit may just not show yet (wait
        // a moment), else the caller opens a new one from where it got.
        if (state.state.running) {
          const exited = yield* containerWait(id).pipe(Effect.timeoutOption(Duration.seconds(3)))
          if (Option.isNone(exited)) {
            return yield* error("containerLogs", new Unavailable({ detail: `the log stream of ${id} ended while the container runs` }))
          }
        }
        const keep = ledger.aligner()
        return logsOnce(id, logs, false).pipe(Stream.filter(keep))
      }).pipe(Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(Stream.empty))))
      return logsOnce(id, logs, true).pipe(
        Stream.tap((c) => Effect.sync(() => ledger.record(c))),
        Stream.concat(recover)
      )
    })
  }

  const statsOnce = (id: string): Effect.Effect<ContainerStats | undefined, PodmanError> =>
    call("containerStats", "GetContainerStats", { name: id }, ContainerStatsReply, { id }).pipe(
      Effect.flatMap(({ container: c }) =>
        Effect.map(Clock.currentTimeMillis, (now): ContainerStats => ({
          containerId: c.id || id,
          readAt: new Date(now),
          cpuNano: c.cpu_nano ?? 0,
          cpuSystemNano: 0,
          systemNano: c.system_nano ?? 0,
          memUsage: c.mem_usage ?? 0,
          memLimit: c.mem_limit ?? 0,
          pids: c.pids ?? 0,
          netInput: c.net_input ?? 0,
          netOutput: c.net_output ?? 0,
          blockInput: c.block_input ?? 0,
          blockOutput: c.block_output ?? 0
        }))
      ),
      // a container that is not running has no sample (REST sends zeros; we send nothing)
      Effect.catchReason("PodmanError", "NotRunning", () => Effect.succeed(undefined))
    )

  const containerStats = (ids: ReadonlyArray<string>, stats: { readonly intervalSeconds: number }) =>
    Stream.fromEffectSchedule(
      Effect.forEach(ids, statsOnce, { concurrency: 4 }).pipe(
        Effect.map((xs) => xs.filter((x): x is ContainerStats => x !== undefined))
      ),
      Schedule.spaced(Duration.seconds(Math.max(0.1, stats.intervalSeconds)))
    )

  const exec = (id: string, opts: ExecOptions): Effect.Effect<ExecSession, PodmanError, Scope.Scope> =>
    Effect.gen(function*() {
      const upgraded = yield* calls.client.upgrade(`${IFACE}.ExecContainer`, {
        opts: {
          name: id,
          tty: opts.tty,
          privileged: false,
          cmd: [...opts.command],
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(opts.workingDir !== undefined ? { workdir: opts.workingDir } : {}),
          ...(opts.env !== undefined ? { env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {})
        }
      }).pipe(Effect.mapError(failure("exec", { id })), Effect.withSpan("PodmanVarlink.exec"))
      const decoder = new ExecFrameDecoder()
      let exitCode: number | undefined
      const output: Stream.Stream<OutputChunk, PodmanError> = upgraded.input.pipe(
        Stream.flatMap((bytes) => Stream.fromIterable(decoder.push(bytes))),
        Stream.takeWhile((f) => {
          if (f.dest === ExecDest.Exit) {
            exitCode = f.payload.length >= 4 ? Buffer.from(f.payload).readUInt32LE(0) : 0
            return false
          }
          return true
        }),
        Stream.filterMap((f): Result.Result<OutputChunk, void> =>
          f.dest === ExecDest.Stdout
            ? Result.succeed({ stream: "stdout", data: f.payload })
            : f.dest === ExecDest.Stderr
            ? Result.succeed({ stream: "stderr", data: f.payload })
            : Result.failVoid
        ),
        Stream.mapError(failure("exec", { id }))
      )
      const outputDone = yield* Deferred.make<void>()
      let consumed = false
      const session: ExecSession = {
        id: `${id}-varlink-exec`,
        output: Stream.suspend(() => {
          consumed = true
          return output.pipe(Stream.ensuring(Deferred.succeed(outputDone, undefined)))
        }),
        write: (data) => upgraded.write(encodeExecFrame(ExecDest.Stdin, data)).pipe(Effect.mapError(failure("exec", { id }))),
        closeStdin: Effect.fail(error("exec", new Unsupported({ transport: "varlink", what: "closing an exec session's stdin (io.podman's exec stream has no end-of-stdin frame)" }))),
        resize: (size) =>
          upgraded.write(encodeExecFrame(ExecDest.Resize, new TextEncoder().encode(JSON.stringify({ Width: size.width, Height: size.height })))).pipe(
            Effect.mapError(failure("exec", { id }))
          ),
        exitCode: Effect.gen(function*() {
          // the exit code arrives in the last frame: drain the output if nobody does
          if (!consumed) {
            consumed = true
            yield* Stream.runDrain(output)
          } else {
            yield* Deferred.await(outputDone)
          }
          if (exitCode === undefined) {
            return yield* error("exec", new Decode({ detail: "the exec stream ended without an exit frame" }))
          }
          return exitCode
        })
      }
      return session
    })

  const events = (filters: EventFilters): Stream.Stream<PodmanEvent, PodmanError> => {
    const filter = [
      ...(filters.container ?? []).map((c) => `container=${c}`),
      ...(filters.type ?? []).map((t) => `type=${t}`),
      ...(filters.event ?? []).map((e) => `event=${e}`),
      ...(filters.label ?? []).map((l) => `label=${l}`)
    ]
    return callMore("events", "GetEvents", { filter, since: "", until: "" }, EventReply).pipe(
      // a stream the service ends sends one empty Event last
      Stream.filter(({ events: e }) => (e.type ?? "") !== "" || (e.id ?? "") !== ""),
      Stream.mapEffect(({ events: e }) =>
        Effect.map(Clock.currentTimeMillis, (now): PodmanEvent => {
          const t = new Date(e.time ?? "")
          return {
            type: e.type ?? "",
            action: e.status ?? "",
            id: e.id ?? "",
            name: e.name ?? "",
            attributes: e.image ? { image: e.image } : {},
            time: Number.isNaN(t.getTime()) ? new Date(now) : t
          }
        })
      )
    )
  }

  return { containerLogs, containerStats, exec, events }
}
