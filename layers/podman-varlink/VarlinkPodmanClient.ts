/**
 * `PodmanClient` over Podman 1.x/2.x's io.podman varlink interface (`podman varlink` /
 * `podman system service varlink:…`). Addresses: `varlink:unix:/run/podman/io.podman`,
 * `varlink:unix:@abstract`, `varlink:tcp:host:port`.
 *
 * Every call is validated against our own description of the subset we use (io.podman.varlink)
 * before it is sent, has the client timeout (long-running calls get their own deadline), and runs
 * on a small pool of connections. How each operation maps:
 *
 * | PodmanClient | io.podman |
 * |---|---|
 * | ping / info | GetVersion / GetInfo (fields 1.x does not report are "" / false) |
 * | imageExists / imageInspect | ImageExists (0 = exists) / InspectImage (JSON text) |
 * | imagePull | PullImage with `more` (MoreResponse logs, last one has the id) |
 * | imageLoad | LoadImage (a path on the Podman host; URLs are unsupported) |
 * | containerCreate | CreateContainer (ContainerSpec mapped onto the flag-shaped Create) |
 * | containerStart / Wait / Inspect / Exists / List | StartContainer / WaitContainer / InspectContainer (JSON text) / ContainerExists / ListContainers |
 * | containerStop / Kill / Remove | StopContainer (ErrCtrStopped = success) / KillContainer (signal number) / RemoveContainer |
 * | containerLogs | GetContainersLogs with `more` |
 * | containerStats | GetContainerStats, polled every interval |
 * | exec | ExecContainer with `upgrade`, then Podman's framed stream |
 * | events | GetEvents with `more` |
 *
 * Limits of io.podman, reported as `UnsupportedOperation` (never silently ignored):
 * - `imagePull` with tls_verify=false, a platform (os/arch/variant) or an identity token: PullImage
 *   takes only a name and a username/password;
 * - `imageLoad` from a URL: LoadImage reads a file on the Podman host;
 * - `closeStdin` of an exec session: the framed exec stream has no end-of-stdin frame (half-closing
 *   the socket would make Podman end the session);
 * - ContainerSpec options with no `podman create` flag (see createMapping.ts).
 * Other differences from REST: `info` fields io.podman does not report (rootless, cgroup, OCI runtime,
 * security) are empty/false; stats are polled and a stopped container yields no sample; label
 * filters of `containerList` are applied client-side; JSON integers above 2^53 lose precision.
 */
import { Deferred, Duration, Effect, Result, Schedule, Scope, Stream } from "effect"
import {
  ContainerNotFound,
  ImagePullError,
  OperationTimeout,
  PodmanApiError,
  type PodmanFailure,
  PodmanUnavailable,
  UnsupportedOperation,
  VarlinkError,
  VarlinkTransportError
} from "../../src/domain/errors.ts"
import type { TransportCapabilities } from "../../src/domain/results.ts"
import type {
  ContainerStats,
  ContainerSummary,
  EventFilters,
  ExecOptions,
  ExecSession,
  LogsOptions,
  OutputChunk,
  PodmanClient,
  PodmanEvent,
  PodmanInfo,
  PullOptions,
  PullProgress
} from "../../src/services/Podman.ts"
import { classifyPullError } from "../podman-rest/index.ts"
import { FrameLedger } from "../podman-rest/logsRecovery.ts"
import { signalNumber, toContainerInspect, toImageInfo } from "../podman-rest/mappers.ts"
import { makeVarlinkClient as makeProtocolClient, type VarlinkClient } from "../varlink/VarlinkClient.ts"
import type { VarlinkParameters } from "../varlink/VarlinkConnection.ts"
import { toIoPodmanCreate } from "./createMapping.ts"
import { ExecFrameDecoder, encodeExecFrame, ExecDest } from "./execFrames.ts"
import { ioPodmanSubset } from "./ioPodmanSubset.ts"

export const varlinkCapabilities: TransportCapabilities = {
  transport: "varlink",
  exec: true,
  execStreaming: true,
  stats: true,
  logs: true,
  archiveLoad: true
}

const IFACE = "io.podman"
const TRANSPORT = "varlink"

const rec = (u: unknown): Readonly<Record<string, unknown>> => (typeof u === "object" && u !== null && !Array.isArray(u) ? u as Record<string, unknown> : {})
const s = (u: unknown) => (typeof u === "string" ? u : "")
const n = (u: unknown) => (typeof u === "number" && Number.isFinite(u) ? u : 0)

/** `varlink:unix:/path` → `unix:/path` (the `varlink:` prefix selects this transport). */
export const varlinkProtocolAddress = (address: string) => (address.startsWith("varlink:") ? address.slice("varlink:".length) : address)

/** A signal name (`SIGTERM`, `TERM`, `15`) as the number KillContainer takes. */
export const signalToNumber = (signal: string): number | undefined => signalNumber(signal)

export interface VarlinkPodmanOptions {
  readonly socketName: string
  readonly address: string
  readonly timeoutMillis: number
}

/** Builds an io.podman `PodmanClient`. Its connections live in the Scope. */
export const makeVarlinkClient = (options: VarlinkPodmanOptions): Effect.Effect<PodmanClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { socketName, address, timeoutMillis } = options
    const client: VarlinkClient = yield* makeProtocolClient({
      address: varlinkProtocolAddress(address),
      timeoutMillis,
      poolSize: 4,
      interfaces: [ioPodmanSubset]
    })

    /** Maps protocol failures onto the driver's errors. */
    const mapFailure = (operation: string, id?: string) => (e: VarlinkError | VarlinkTransportError): PodmanFailure => {
      if (e._tag === "VarlinkTransportError") {
        if (e.kind === "connect") return new PodmanUnavailable({ socket: address, operation, detail: e.detail })
        if (e.kind === "timeout") return new OperationTimeout({ operation, timeoutMillis })
        return e
      }
      const p = rec(e.parameters)
      switch (e.error) {
        case `${IFACE}.ContainerNotFound`:
          return new ContainerNotFound({ container: id ?? s(p.id) })
        case `${IFACE}.ImageNotFound`:
          return new PodmanApiError({ operation, status: 404, detail: s(p.reason) || `image not known: ${s(p.id)}` })
        case `${IFACE}.InvalidState`:
        case `${IFACE}.NoContainerRunning`:
          return new PodmanApiError({ operation, status: 409, detail: s(p.reason) || e.error })
        case `${IFACE}.ErrorOccurred`:
        case `${IFACE}.RuntimeError`:
          return new PodmanApiError({ operation, status: 500, detail: s(p.reason) })
        default:
          return e
      }
    }

    const call = (operation: string, method: string, parameters: VarlinkParameters, id?: string, extra?: { timeoutMillis?: number }) =>
      client.call(`${IFACE}.${method}`, parameters, extra ?? {}).pipe(Effect.mapError(mapFailure(operation, id)))

    const unsupported = (operation: string, detail: string) => new UnsupportedOperation({ operation, transport: TRANSPORT, detail })

    // --- system ------------------------------------------------------------------------------

    const ping = call("ping", "GetVersion", {}).pipe(
      Effect.map((p) => ({ apiVersion: p.remote_api_version !== undefined ? String(p.remote_api_version) : s(p.version) }))
    )

    const info = Effect.gen(function*() {
      const version = yield* call("info", "GetVersion", {})
      const p = rec((yield* call("info", "GetInfo", {})).info)
      const host = rec(p.host)
      return {
        version: s(rec(p.podman).podman_version) || s(version.version),
        apiVersion: version.remote_api_version !== undefined ? String(version.remote_api_version) : "",
        rootless: false,
        cgroupVersion: "",
        cgroupManager: "",
        ociRuntime: "",
        ociRuntimePath: "",
        appArmorEnabled: false,
        selinuxEnabled: false,
        seccompEnabled: false,
        capabilities: "",
        os: s(host.os),
        arch: s(host.arch),
        hostname: s(host.hostname),
        kernel: s(host.kernel),
        memTotal: n(host.mem_total),
        cpus: n(host.cpus),
        socketPath: varlinkProtocolAddress(address)
      } satisfies PodmanInfo
    })

    // --- images ------------------------------------------------------------------------------

    const imageExists = (ref: string) => call("imageExists", "ImageExists", { name: ref }).pipe(Effect.map((p) => p.exists === 0))

    const imageInspect = (ref: string) =>
      call("imageInspect", "InspectImage", { name: ref }).pipe(
        Effect.flatMap((p) => parseJsonText("imageInspect", p.image)),
        Effect.map(toImageInfo)
      )

    const pullFailure = (ref: string) => (e: PodmanFailure): ImagePullError | PodmanFailure =>
      e._tag === "PodmanApiError" ? classifyPullError(ref, e.detail) : e

    const imagePull = (ref: string, pull: PullOptions): Stream.Stream<PullProgress, ImagePullError | PodmanFailure> => {
      if (!pull.tlsVerify) return Stream.fail(unsupported("imagePull (tls_verify=false)", "PullImage has no TLS verification switch; configure the registry as insecure on the Podman host"))
      if (pull.os !== undefined || pull.arch !== undefined || pull.variant !== undefined) {
        return Stream.fail(unsupported("imagePull (platform)", "PullImage cannot select an os/arch/variant"))
      }
      if (pull.auth?.identityToken) return Stream.fail(unsupported("imagePull (identity token)", "PullImage takes only a username and a password"))
      const creds = { username: pull.auth?.username ?? "", password: pull.auth?.password ?? "" }
      return client.callMore(`${IFACE}.PullImage`, { name: ref, creds }, { timeoutMillis: pull.timeoutMillis, idleTimeoutMillis: pull.timeoutMillis }).pipe(
        Stream.mapError(mapFailure("imagePull")),
        Stream.mapError(pullFailure(ref)),
        Stream.map((p): PullProgress => {
          const reply = rec(p.reply)
          const logs = Array.isArray(reply.logs) ? reply.logs.filter((l): l is string => typeof l === "string") : []
          const id = s(reply.id)
          return { message: logs.join("").trim(), ...(id !== "" ? { imageId: id } : {}) }
        }),
        Stream.interruptWhen(Effect.sleep(Duration.millis(pull.timeoutMillis)).pipe(
          Effect.andThen(Effect.fail(new OperationTimeout({ operation: "imagePull", timeoutMillis: pull.timeoutMillis })))
        ))
      )
    }

    const imageLoad = (source: { readonly _tag: "path"; readonly path: string } | { readonly _tag: "url"; readonly url: string }, load: { readonly timeoutMillis: number }) =>
      Effect.gen(function*() {
        if (source._tag === "url") return yield* unsupported("imageLoad (url)", "LoadImage reads a file on the Podman host; download the archive there first")
        const replies = yield* client.callMore(`${IFACE}.LoadImage`, { name: "", inputFile: source.path, quiet: true, deleteFile: false }, {
          timeoutMillis: load.timeoutMillis,
          idleTimeoutMillis: load.timeoutMillis
        }).pipe(Stream.runCollect, Effect.mapError(mapFailure("imageLoad")), Effect.mapError(pullFailure(source.path)))
        const last = rec(rec(replies[replies.length - 1]).reply)
        const id = s(last.id)
        if (id === "") return yield* new ImagePullError({ image: source.path, reason: "other", detail: "LoadImage returned no image" })
        return id
      })

    // --- containers --------------------------------------------------------------------------

    const containerCreate = (spec: Parameters<PodmanClient["containerCreate"]>[0]) =>
      Effect.gen(function*() {
        const create = toIoPodmanCreate(spec)
        if (create instanceof UnsupportedOperation) return yield* create
        const p = yield* call("containerCreate", "CreateContainer", { create })
        return { id: s(p.container), warnings: [] as ReadonlyArray<string> }
      })

    const containerStart = (id: string) => call("containerStart", "StartContainer", { name: id }, id).pipe(Effect.asVoid)

    /** WaitContainer blocks as long as the container runs: no deadline on the reply, 100 ms polling on the service side. */
    const containerWait = (id: string) =>
      client.call(`${IFACE}.WaitContainer`, { name: id, interval: 100 }, { timeoutMillis: 2 ** 31 - 1, dedicated: true }).pipe(
        Effect.mapError(mapFailure("containerWait", id)),
        Effect.map((p) => n(p.exitcode))
      )

    const containerInspect = (id: string) =>
      call("containerInspect", "InspectContainer", { name: id }, id).pipe(
        Effect.flatMap((p) => parseJsonText("containerInspect", p.container)),
        Effect.map(toContainerInspect)
      )

    const containerExists = (id: string) => call("containerExists", "ContainerExists", { name: id }).pipe(Effect.map((p) => p.exists === 0))

    const containerList = (filters: { readonly label?: ReadonlyArray<string>; readonly all: boolean }) =>
      call("containerList", "ListContainers", {}).pipe(
        Effect.map((p) => {
          const all = Array.isArray(p.containers) ? p.containers.map(rec) : []
          return all
            .filter((c) => filters.all || c.containerrunning === true)
            .map((c): ContainerSummary => {
              const labels = Object.fromEntries(Object.entries(rec(c.labels)).map(([k, v]) => [k, s(v)]))
              return { id: s(c.id), names: s(c.names).split(",").filter((x) => x !== ""), state: s(c.status), labels }
            })
            .filter((c) =>
              (filters.label ?? []).every((f) => {
                const eq = f.indexOf("=")
                return eq < 0 ? f in c.labels : c.labels[f.slice(0, eq)] === f.slice(eq + 1)
              })
            )
        })
      )

    const containerStop = (id: string, timeoutSeconds: number) =>
      client.call(`${IFACE}.StopContainer`, { name: id, timeout: timeoutSeconds }, { timeoutMillis: timeoutMillis + timeoutSeconds * 1000, dedicated: timeoutSeconds > 1 }).pipe(
        Effect.asVoid,
        Effect.catchIf((e) => e._tag === "VarlinkError" && e.error === `${IFACE}.ErrCtrStopped`, () => Effect.void),
        Effect.mapError((e) => (e._tag === "VarlinkError" || e._tag === "VarlinkTransportError" ? mapFailure("containerStop", id)(e) : e))
      )

    const containerKill = (id: string, signal: string) =>
      Effect.gen(function*() {
        const number = signalToNumber(signal)
        if (number === undefined) return yield* new PodmanApiError({ operation: "containerKill", status: 400, detail: `invalid signal: ${signal}` })
        yield* call("containerKill", "KillContainer", { name: id, signal: number }, id)
      })

    const containerRemove = (id: string, remove: { readonly force: boolean; readonly volumes: boolean; readonly timeoutSeconds?: number }) =>
      Effect.gen(function*() {
        if (remove.force && remove.timeoutSeconds !== undefined) {
          // RemoveContainer has no stop timeout: stop first with ours, then remove.
          yield* containerStop(id, remove.timeoutSeconds).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
        }
        yield* client.call(`${IFACE}.RemoveContainer`, { name: id, force: remove.force, removeVolumes: remove.volumes }, {
          timeoutMillis: timeoutMillis + 10_000
        }).pipe(Effect.mapError(mapFailure("containerRemove", id)))
      })

    const logsOnce = (id: string, logs: LogsOptions, follow: boolean): Stream.Stream<OutputChunk, PodmanFailure> =>
      client.callMore(`${IFACE}.GetContainersLogs`, {
        names: [id],
        follow,
        latest: false,
        since: logs.since ? logs.since.toISOString() : "",
        tail: logs.tail ?? -1,
        timestamps: false
      }, follow ? {} : { idleTimeoutMillis: timeoutMillis }).pipe(
        Stream.mapError(mapFailure("containerLogs", id)),
        Stream.map((p) => rec(p.log)),
        // Podman ends a log stream with an empty LogLine
        Stream.takeWhile((l) => !(s(l.device) === "" && s(l.msg) === "" && s(l.time) === "")),
        Stream.filterMap((l): Result.Result<OutputChunk, void> => {
          const stream = s(l.device) === "stderr" ? "stderr" as const : "stdout" as const
          if ((stream === "stdout" && !logs.stdout) || (stream === "stderr" && !logs.stderr)) return Result.failVoid
          // "P" marks a partial line (no newline yet)
          const text = s(l.msg) + (s(l.parseLogType) === "P" ? "" : "\n")
          return Result.succeed({ stream, data: new TextEncoder().encode(text) })
        })
      )

    /**
     * With `follow`, every delivered line is recorded; when the follow ends, the log is read once
     * more without follow and aligned against the record, so lines a follow dropped or cut short are
     * delivered late instead of lost (same recovery as the REST transport, logsRecovery.ts: a
     * Podman 4.3 service behind the test io.podman service shows both faults).
     */
    const containerLogs = (id: string, logs: LogsOptions): Stream.Stream<OutputChunk, PodmanFailure> => {
      if (!logs.stdout && !logs.stderr) return Stream.empty
      if (!logs.follow) return logsOnce(id, logs, false)
      return Stream.suspend(() => {
        const ledger = new FrameLedger()
        const recover = Stream.unwrap(Effect.gen(function*() {
          // With `tail` the re-read would start at a different line: no alignment possible.
          if (logs.tail !== undefined) return Stream.empty
          const state = yield* containerInspect(id)
          if (state.state.running) yield* containerWait(id)
          const keep = ledger.aligner()
          return logsOnce(id, logs, false).pipe(Stream.filter(keep))
        }).pipe(Effect.catchTag("ContainerNotFound", () => Effect.succeed(Stream.empty))))
        return logsOnce(id, logs, true).pipe(
          Stream.tap((c) => Effect.sync(() => ledger.record(c))),
          Stream.concat(recover)
        )
      })
    }

    const statsOnce = (id: string) =>
      client.call(`${IFACE}.GetContainerStats`, { name: id }).pipe(
        Effect.map((p): ContainerStats | undefined => {
          const c = rec(p.container)
          return {
            containerId: s(c.id) || id,
            readAt: new Date(),
            cpuNano: n(c.cpu_nano),
            cpuSystemNano: 0,
            systemNano: n(c.system_nano),
            memUsage: n(c.mem_usage),
            memLimit: n(c.mem_limit),
            pids: n(c.pids),
            netInput: n(c.net_input),
            netOutput: n(c.net_output),
            blockInput: n(c.block_input),
            blockOutput: n(c.block_output)
          }
        }),
        // a container that is not running has no sample (REST sends zeros; we send nothing)
        Effect.catchIf((e) => e._tag === "VarlinkError" && e.error === `${IFACE}.NoContainerRunning`, () => Effect.succeed(undefined)),
        Effect.mapError((e) => (e._tag === "VarlinkError" || e._tag === "VarlinkTransportError" ? mapFailure("containerStats", id)(e) : e))
      )

    const containerStats = (ids: ReadonlyArray<string>, stats: { readonly intervalSeconds: number }) =>
      Stream.fromEffectSchedule(
        Effect.forEach(ids, statsOnce, { concurrency: 4 }).pipe(
          Effect.map((xs) => xs.filter((x): x is ContainerStats => x !== undefined))
        ),
        Schedule.spaced(Duration.seconds(Math.max(0.1, stats.intervalSeconds)))
      )

    const exec = (id: string, opts: ExecOptions): Effect.Effect<ExecSession, PodmanFailure, Scope.Scope> =>
      Effect.gen(function*() {
        const upgraded = yield* client.upgrade(`${IFACE}.ExecContainer`, {
          opts: {
            name: id,
            tty: opts.tty,
            privileged: false,
            cmd: [...opts.command],
            ...(opts.user !== undefined ? { user: opts.user } : {}),
            ...(opts.workingDir !== undefined ? { workdir: opts.workingDir } : {}),
            ...(opts.env !== undefined ? { env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {})
          }
        }).pipe(Effect.mapError(mapFailure("exec", id)))
        const decoder = new ExecFrameDecoder()
        let exitCode: number | undefined
        const output: Stream.Stream<OutputChunk, PodmanFailure> = upgraded.input.pipe(
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
          Stream.mapError(mapFailure("exec", id))
        )
        const outputDone = yield* Deferred.make<void>()
        const cached: Array<OutputChunk> = []
        let consumed = false
        const session: ExecSession = {
          id: `${id}-varlink-exec`,
          output: Stream.suspend(() => {
            consumed = true
            return output.pipe(Stream.ensuring(Deferred.succeed(outputDone, undefined)))
          }),
          write: (data) => upgraded.write(encodeExecFrame(ExecDest.Stdin, data)).pipe(Effect.mapError(mapFailure("exec", id))),
          closeStdin: Effect.fail(unsupported("exec (close stdin)", "io.podman's exec stream has no end-of-stdin frame")),
          resize: (size) =>
            upgraded.write(encodeExecFrame(ExecDest.Resize, new TextEncoder().encode(JSON.stringify({ Width: size.width, Height: size.height })))).pipe(
              Effect.mapError(mapFailure("exec", id))
            ),
          exitCode: Effect.gen(function*() {
            // the exit code arrives in the last frame: drain the output if nobody does
            if (!consumed) {
              consumed = true
              yield* Stream.runForEach(output, (c) => Effect.sync(() => cached.push(c)))
            } else {
              yield* Deferred.await(outputDone)
            }
            if (exitCode === undefined) {
              return yield* new PodmanApiError({ operation: "exec", status: 0, detail: "exec stream ended without an exit code" })
            }
            return exitCode
          })
        }
        return session
      })

    const events = (filters: EventFilters): Stream.Stream<PodmanEvent, PodmanFailure> => {
      const filter = [
        ...(filters.container ?? []).map((c) => `container=${c}`),
        ...(filters.type ?? []).map((t) => `type=${t}`),
        ...(filters.event ?? []).map((e) => `event=${e}`),
        ...(filters.label ?? []).map((l) => `label=${l}`)
      ]
      return client.callMore(`${IFACE}.GetEvents`, { filter, since: "", until: "" }).pipe(
        Stream.mapError(mapFailure("events")),
        // a stream the service ends sends one empty Event last
        Stream.filter((p) => s(rec(p.events).type) !== "" || s(rec(p.events).id) !== ""),
        Stream.map((p): PodmanEvent => {
          const e = rec(p.events)
          const t = new Date(s(e.time))
          return {
            type: s(e.type),
            action: s(e.status),
            id: s(e.id),
            name: s(e.name),
            attributes: s(e.image) !== "" ? { image: s(e.image) } : {},
            time: Number.isNaN(t.getTime()) ? new Date() : t
          }
        })
      )
    }

    return {
      socketName,
      address,
      capabilities: varlinkCapabilities,
      ping,
      info,
      imageExists,
      imageInspect,
      imagePull,
      imageLoad,
      containerCreate,
      containerStart,
      containerWait,
      containerInspect,
      containerExists,
      containerList,
      containerStop,
      containerKill,
      containerRemove,
      containerLogs,
      containerStats,
      exec,
      events
    } satisfies PodmanClient
  })

const parseJsonText = (operation: string, text: unknown): Effect.Effect<unknown, PodmanApiError> =>
  Effect.try({
    try: () => JSON.parse(typeof text === "string" ? text : "") as unknown,
    catch: (e) => new PodmanApiError({ operation, status: 0, detail: `reply is not JSON text: ${String(e)}` })
  })

