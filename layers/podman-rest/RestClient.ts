/**
 * The libpod REST transport: `makeRestClient` builds a `PodmanClient` for one Podman endpoint
 * (a unix socket or an http(s) base URL), verified against Podman 4.3.1 (PODMAN-SANDBOX.md §7).
 *
 * Requests go through Effect's node:http client (`NodeHttpClient.makeNodeHttp` over an agent that
 * dials the socket). Only the exec start, which needs a hijacked raw connection with half-close,
 * uses node:http directly (exec.ts).
 *
 * Timeouts: every non-streaming call is bounded by `timeoutMillis` and fails with
 * `OperationTimeout` (a stop/remove adds its grace period). Long-lived streams (followed logs,
 * stats, events) and `containerWait` have NO timeout: Podman (Go's net/http) sends the response
 * headers only with the first body write, so a quiet container's followed logs, or an events
 * subscription nothing matches yet, has no status line for as long as nothing happens (measured on
 * 4.3.1: the headers of `logs?follow=true` on a silent container came when it exited). They still
 * fail typed (PodmanUnavailable) when the connection fails. A non-follow log read is bounded like a
 * call. `imagePull`/`imageLoad` have their own whole-operation deadline that fails with
 * `ImagePullError` reason `timeout`.
 */
import * as fs from "node:fs"
import { Effect, Stream } from "effect"
import { Headers, HttpBody } from "effect/http"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type { Scope } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { ImagePullError, PodmanApiError, type PodmanFailure, type PodmanUnavailable } from "../../src/domain/errors.ts"
import type {
  ArchiveSource,
  ContainerStats,
  EventFilters,
  LogsOptions,
  OutputChunk,
  PodmanClient,
  PodmanEvent,
  PullOptions,
  PullProgress
} from "../../src/services/Podman.ts"
import type { TransportCapabilities } from "../../src/domain/results.ts"
import { parseAddress } from "./address.ts"
import { encodeRegistryAuth, hasAuth } from "./auth.ts"
import { makeExec } from "./exec.ts"
import { demuxStream } from "./frames.ts"
import { FrameLedger } from "./logsRecovery.ts"
import { Http, type Query } from "./http.ts"
import { arr, at, num, parseJson, str, strArr } from "./lenient.ts"
import {
  toContainerInspect,
  toContainerStats,
  toContainerSummary,
  toEvent,
  toImageInfo,
  toInfo
} from "./mappers.ts"
import { classifyPullError } from "./pullErrors.ts"

export interface RestClientOptions {
  /** Configured socket name (`default` unless the plugin config names it). */
  readonly socketName: string
  /** `unix:///abs/path.sock`, `unix:/abs/path`, `/abs/path` or `http(s)://host:port`. */
  readonly address: string
  /** Bound of every non-streaming call. */
  readonly timeoutMillis: number
}

export const restCapabilities: TransportCapabilities = {
  transport: "rest",
  exec: true,
  execStreaming: true,
  stats: true,
  logs: true,
  archiveLoad: true
}

const enc = encodeURIComponent

/** effect's default redacted header names plus Podman's registry credentials header. */
const REDACTED_HEADERS: ReadonlyArray<string> = ["authorization", "cookie", "set-cookie", "x-api-key", "x-registry-auth"]

/** Builds a REST `PodmanClient`. Its HTTP agents (and so its open connections) live in the Scope. */
export const makeRestClient = Effect.fnUntraced(function*(
  options: RestClientOptions
): Effect.fn.Return<PodmanClient, never, Scope.Scope> {
  const { socketName, address, timeoutMillis } = options
  const endpoint = parseAddress(address)

  // Agent for the Podman endpoint (socketPath for unix sockets), and a plain one for fetching
  // archive URLs (imageLoad from http(s)): that traffic must NOT go to the Podman socket.
  const podmanAgent = yield* NodeHttpClient.makeAgent(
    endpoint._tag === "unix" ? { socketPath: endpoint.socketPath, keepAlive: true } : { keepAlive: true }
  )
  const plainAgent = yield* NodeHttpClient.makeAgent({})
  const podmanHttp = yield* NodeHttpClient.makeNodeHttp.pipe(Effect.provideService(NodeHttpClient.HttpAgent, podmanAgent))
  const plainHttp = yield* NodeHttpClient.makeNodeHttp.pipe(Effect.provideService(NodeHttpClient.HttpAgent, plainAgent))

  const baseUrl = endpoint._tag === "invalid" ? "http://invalid.invalid" : endpoint.baseUrl
  const http = new Http(podmanHttp, baseUrl, address, timeoutMillis)

  /** An address we cannot use fails every call the same way instead of failing construction. */
  const guard = <A, E, R>(operation: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | PodmanFailure, R> =>
    endpoint._tag === "invalid"
      ? Effect.fail(http.unavailable(operation, `invalid address: ${endpoint.reason}`))
      : self

  // ---------------------------------------------------------------------------------------------
  // System
  // ---------------------------------------------------------------------------------------------

  const ping = Effect.fn("PodmanRest.ping")(function*() {
    // `/_ping` is unversioned; the libpod version is only in the header (the body is "OK").
    const r = yield* guard("ping", http.call("ping", { method: "GET", path: "/_ping", raw: true }))
    return { apiVersion: r.headers["libpod-api-version"] ?? "" }
  })

  const info = Effect.fn("PodmanRest.info")(function*() {
    const r = yield* guard("info", http.call("info", { method: "GET", path: "/info" }))
    return toInfo(parseJson(r.text))
  })

  // ---------------------------------------------------------------------------------------------
  // Images
  // ---------------------------------------------------------------------------------------------

  const imageExists = Effect.fn("PodmanRest.imageExists")(function*(ref: string) {
    const r = yield* guard(
      "imageExists",
      http.call("imageExists", { method: "GET", path: `/images/${enc(ref)}/exists` }, {
        accept: (s) => s === 204 || s === 200 || s === 404
      })
    )
    return r.status !== 404
  })

  const imageInspect = Effect.fn("PodmanRest.imageInspect")(function*(ref: string) {
    const r = yield* guard("imageInspect", http.call("imageInspect", { method: "GET", path: `/images/${enc(ref)}/json` }))
    return toImageInfo(parseJson(r.text))
  })

  const imagePull = (ref: string, opts: PullOptions): Stream.Stream<PullProgress, ImagePullError | PodmanFailure> => {
    const query: Array<readonly [string, string]> = [
      ["reference", ref],
      // Always sent: Podman's own default would depend on registries.conf, and the Go driver's
      // omission made pulls without `auth` silently insecure (FEATURES.md §8).
      ["tlsVerify", String(opts.tlsVerify)],
      ["quiet", "false"]
    ]
    if (opts.os !== undefined && opts.os !== "") query.push(["OS", opts.os])
    if (opts.arch !== undefined && opts.arch !== "") query.push(["Arch", opts.arch])
    if (opts.variant !== undefined && opts.variant !== "") query.push(["Variant", opts.variant])
    const headers: Record<string, string> = {}
    if (hasAuth(opts.auth)) headers["X-Registry-Auth"] = encodeRegistryAuth(opts.auth)

    const opened = http.open("imagePull", { method: "POST", path: "/images/pull", query, headers }, { headerTimeout: false }).pipe(
      // The auth header must read as <redacted> wherever the request is inspected (spans, logs).
      Effect.provideService(Headers.CurrentRedactedNames, REDACTED_HEADERS),
      // A pull refused with an error status (newer Podman, or a malformed request) is still a pull failure.
      Effect.catchTag("PodmanApiError", (e) => Effect.fail(classifyPullError(ref, e.detail)))
    )
    const progress = Stream.unwrap(Effect.map(opened, (res) =>
      Stream.suspend(() => {
        let imageId: string | undefined
        return http.jsonLines("imagePull", res).pipe(
          Stream.mapEffect((j): Effect.Effect<PullProgress | undefined, ImagePullError> => {
            // Podman 4.3 reports registry errors inside the 200 body (PODMAN-SANDBOX.md §5).
            const error = str(at(j, "error"))
            if (error !== "") return Effect.fail(classifyPullError(ref, error))
            const id = str(at(j, "id")) || (strArr(at(j, "images"))[0] ?? "")
            if (id !== "") {
              imageId = id
              return Effect.succeed({ message: `Pulled ${ref}`, imageId: id })
            }
            const message = str(at(j, "stream")).trim()
            return Effect.succeed(message === "" ? undefined : { message })
          }),
          Stream.filter((p): p is PullProgress => p !== undefined),
          Stream.concat(Stream.suspend(() =>
            imageId === undefined
              ? Stream.fail(classifyPullError(ref, "the pull ended without reporting an image id"))
              : Stream.empty
          ))
        )
      })))
    return Stream.unwrap(guard("imagePull", Effect.succeed(progress))).pipe(
      // Whole-pull deadline: a failure (not just an end) so the caller can retry or report it.
      Stream.interruptWhen(Effect.sleep(opts.timeoutMillis).pipe(
        Effect.andThen(Effect.fail(
          new ImagePullError({ image: ref, reason: "timeout", detail: `pull did not finish within ${opts.timeoutMillis} ms` })
        ))
      )),
      Stream.withSpan("PodmanRest.imagePull")
    )
  }

  /** The archive body: a local file streamed from disk, or an http(s) URL streamed from its GET. */
  const archiveBody = (source: ArchiveSource, image: string): Effect.Effect<HttpBody.HttpBody, ImagePullError> => {
    if (source._tag === "path") {
      return Effect.tryPromise({
        try: () => fs.promises.stat(source.path),
        catch: (e) =>
          new ImagePullError({ image, reason: "not-found", detail: `cannot read archive ${source.path}: ${(e as Error).message}` })
      }).pipe(Effect.map((st) =>
        HttpBody.stream(
          NodeStream.fromReadable({
            evaluate: () => fs.createReadStream(source.path),
            onError: (e) => new ImagePullError({ image, reason: "other", detail: `reading ${source.path}: ${String(e)}` })
          }),
          "application/x-tar",
          st.size
        )
      ))
    }
    return plainHttp.get(source.url).pipe(
      // The archive server could not be reached (refused, DNS, reset, TLS...).
      Effect.mapError((e) => {
        const cause = (e.reason as { cause?: unknown }).cause
        const text = cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}` : String(cause ?? "")
        const classified = classifyPullError(image, `fetching archive: ${text}`)
        return classified.reason === "other"
          ? new ImagePullError({ image, reason: "unreachable", detail: classified.detail })
          : classified
      }),
      Effect.flatMap((res) => {
        if (res.status >= 200 && res.status < 300) {
          const len = num(res.headers["content-length"], -1)
          return Effect.succeed(HttpBody.stream(res.stream, "application/x-tar", len >= 0 ? len : undefined))
        }
        return Effect.fail(new ImagePullError({
          image,
          reason: res.status === 404 ? "not-found" : res.status === 401 || res.status === 403 ? "auth" : "other",
          detail: `fetching archive: HTTP ${res.status}`
        }))
      })
    )
  }

  const imageLoad = Effect.fn("PodmanRest.imageLoad")(function*(source: ArchiveSource, opts: { readonly timeoutMillis: number }) {
    const image = source._tag === "path" ? source.path : source.url
    const load = Effect.gen(function*() {
      const body = yield* archiveBody(source, image)
      const r = yield* http.call("imageLoad", { method: "POST", path: "/images/load", body }, {
        // The archive upload takes as long as it takes; only the whole-load deadline applies.
        extraMillis: opts.timeoutMillis
      }).pipe(
        Effect.catchTag("PodmanApiError", (e) => Effect.fail(classifyPullError(image, e.detail))),
        // A failing request BODY is the archive source failing (file read error, archive server
        // gone mid-download), not Podman: report it as the image's problem.
        Effect.catchTag("PodmanUnavailable", (e): Effect.Effect<never, ImagePullError | PodmanUnavailable> =>
          e.detail.startsWith("EncodeError")
            ? Effect.fail(new ImagePullError({ image, reason: source._tag === "url" ? "unreachable" : "other", detail: `archive read failed: ${e.detail}` }))
            : Effect.fail(e))
      )
      const name = strArr(at(parseJson(r.text), "Names"))[0]
      if (name === undefined) {
        return yield* new ImagePullError({ image, reason: "other", detail: `load answered without an image name: ${r.text.slice(0, 200)}` })
      }
      return name
    })
    return yield* guard("imageLoad", load).pipe(
      Effect.timeoutOrElse({
        duration: opts.timeoutMillis,
        orElse: () => Effect.fail(new ImagePullError({ image, reason: "timeout", detail: `load did not finish within ${opts.timeoutMillis} ms` }))
      })
    )
  })

  // ---------------------------------------------------------------------------------------------
  // Containers
  // ---------------------------------------------------------------------------------------------

  const containerCreate = Effect.fn("PodmanRest.containerCreate")(function*(spec: ContainerSpec) {
    const r = yield* guard(
      "containerCreate",
      http.call("containerCreate", { method: "POST", path: "/containers/create", body: HttpBody.jsonUnsafe(spec) })
    )
    const j = parseJson(r.text)
    return { id: str(at(j, "Id")), warnings: strArr(at(j, "Warnings")) }
  })

  const containerStart = Effect.fn("PodmanRest.containerStart")(function*(id: string) {
    // 304 = already running: starting is idempotent for the driver.
    yield* guard("containerStart", http.call("containerStart", { method: "POST", path: `/containers/${enc(id)}/start` }, {
      container: id,
      accept: (s) => (s >= 200 && s < 300) || s === 304
    }))
  })

  const containerWait = Effect.fn("PodmanRest.containerWait")(function*(id: string) {
    // Long-poll. On 4.3.1 `stopped` and `exited` both work (and both answer at once, exit code 0,
    // for a container that was created but never started); `next-exit` is a 400. `interval=10ms`
    // shortens libpod's internal state polling from 250 ms (PODMAN-SANDBOX.md §6). No timeout:
    // this blocks for the container's whole life.
    const query: Query = [["condition", "stopped"], ["condition", "exited"], ["interval", "10ms"]]
    const res = yield* guard(
      "containerWait",
      http.open("containerWait", { method: "POST", path: `/containers/${enc(id)}/wait`, query }, {
        container: id,
        headerTimeout: false
      })
    )
    const text = yield* res.text.pipe(Effect.mapError(http.transportError("containerWait")))
    // 4.x answers a bare number; the Docker-compat shape `{"StatusCode":n}` is accepted too.
    const j = parseJson(text)
    const code = typeof j === "object" && j !== null ? num(at(j, "StatusCode"), NaN) : num(j ?? text, NaN)
    if (Number.isNaN(code)) {
      return yield* new PodmanApiError({ operation: "containerWait", status: res.status, detail: `unexpected wait answer: ${text.slice(0, 200)}` })
    }
    return code
  })

  const containerInspect = Effect.fn("PodmanRest.containerInspect")(function*(id: string) {
    const r = yield* guard(
      "containerInspect",
      http.call("containerInspect", { method: "GET", path: `/containers/${enc(id)}/json` }, { container: id })
    )
    return toContainerInspect(parseJson(r.text))
  })

  const containerExists = Effect.fn("PodmanRest.containerExists")(function*(id: string) {
    const r = yield* guard("containerExists", http.call("containerExists", { method: "GET", path: `/containers/${enc(id)}/exists` }, {
      accept: (s) => s === 204 || s === 200 || s === 404
    }))
    return r.status !== 404
  })

  const containerList = Effect.fn("PodmanRest.containerList")(function*(
    filters: { readonly label?: ReadonlyArray<string>; readonly all: boolean }
  ) {
    const query: Array<readonly [string, string]> = [["all", String(filters.all)]]
    if (filters.label !== undefined && filters.label.length > 0) {
      query.push(["filters", JSON.stringify({ label: filters.label })])
    }
    const r = yield* guard("containerList", http.call("containerList", { method: "GET", path: "/containers/json", query }))
    return arr(parseJson(r.text)).map(toContainerSummary)
  })

  const containerStop = Effect.fn("PodmanRest.containerStop")(function*(id: string, timeoutSeconds: number) {
    const t = Math.max(0, Math.ceil(timeoutSeconds))
    // 304 = already stopped, which is what the caller wants.
    yield* guard("containerStop", http.call("containerStop", {
      method: "POST",
      path: `/containers/${enc(id)}/stop`,
      query: [["timeout", String(t)]]
    }, { container: id, accept: (s) => (s >= 200 && s < 300) || s === 304, extraMillis: t * 1000 }))
  })

  const containerKill = Effect.fn("PodmanRest.containerKill")(function*(id: string, signal: string) {
    yield* guard("containerKill", http.call("containerKill", {
      method: "POST",
      path: `/containers/${enc(id)}/kill`,
      query: [["signal", signal]]
    }, { container: id }))
  })

  const containerRemove = Effect.fn("PodmanRest.containerRemove")(function*(
    id: string,
    opts: { readonly force: boolean; readonly volumes: boolean; readonly timeoutSeconds?: number }
  ) {
    const query: Array<readonly [string, string]> = [["force", String(opts.force)], ["v", String(opts.volumes)]]
    // libpod's parameter is `timeout`; `t` is silently ignored and the default 10 s applies.
    const t = opts.timeoutSeconds !== undefined ? Math.max(0, Math.ceil(opts.timeoutSeconds)) : undefined
    if (t !== undefined) query.push(["timeout", String(t)])
    // 404 = already gone, which is what the caller wants.
    yield* guard("containerRemove", http.call("containerRemove", { method: "DELETE", path: `/containers/${enc(id)}`, query }, {
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      extraMillis: (t ?? 10) * 1000
    }))
  })

  // ---------------------------------------------------------------------------------------------
  // Logs and stats
  // ---------------------------------------------------------------------------------------------

  const logsOnce = (id: string, opts: LogsOptions, follow: boolean): Stream.Stream<OutputChunk, PodmanFailure> => {
    const query: Array<readonly [string, string]> = [
      ["follow", String(follow)],
      ["stdout", String(opts.stdout)],
      ["stderr", String(opts.stderr)]
    ]
    // Unix seconds with a fraction: libpod parses it (util.ParseInputTime) at sub-second precision.
    if (opts.since !== undefined) query.push(["since", (opts.since.getTime() / 1000).toFixed(3)])
    if (opts.tail !== undefined) query.push(["tail", String(opts.tail)])
    return Stream.unwrap(Effect.map(
      guard("containerLogs", http.open("containerLogs", { method: "GET", path: `/containers/${enc(id)}/logs`, query }, {
        container: id,
        // Follow: the headers come with the first log line, which may be never (see the header).
        headerTimeout: !follow
      })),
      (res) => demuxStream(http.body("containerLogs", res), { wholeFrames: true })
    ))
  }

  const containerLogs = (id: string, opts: LogsOptions): Stream.Stream<OutputChunk, PodmanFailure> => {
    if (!opts.stdout && !opts.stderr) return Stream.empty // libpod answers 400 when no stream is selected
    if (!opts.follow) return logsOnce(id, opts, false).pipe(Stream.withSpan("PodmanRest.containerLogs"))
    return Stream.suspend(() => {
      // Podman 4.3 cuts follow streams short after an exit AND drops entries during bursts; see
      // logsRecovery.ts. Every delivered frame is recorded; when the follow ends, the log is read
      // once more without follow and aligned against the record, delivering what was missed.
      const ledger = new FrameLedger()
      const recover = Stream.unwrap(Effect.gen(function*() {
        // With `tail` the re-read would start at a different entry: no alignment possible.
        if (opts.tail !== undefined) return Stream.empty
        const state = yield* containerInspect(id)
        // A follow that ended while the container still runs: the rest is read once it exits.
        if (state.state.running) yield* containerWait(id)
        const keep = ledger.aligner()
        return logsOnce(id, opts, false).pipe(Stream.filter(keep))
      }).pipe(
        // Removed meanwhile: nothing more to read.
        Effect.catchTag("ContainerNotFound", () => Effect.succeed(Stream.empty))
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
  ): Stream.Stream<ReadonlyArray<ContainerStats>, PodmanFailure> => {
    // With no `containers` libpod reports every container on the host: never what we want.
    if (ids.length === 0) return Stream.empty
    const query: Array<readonly [string, string]> = ids.map((id) => ["containers", id] as const)
    query.push(["stream", "true"], ["interval", String(Math.max(1, Math.round(opts.intervalSeconds)))])
    return Stream.unwrap(Effect.map(
      // No header timeout: the headers come with the first sample, one interval later.
      guard("containerStats", http.open("containerStats", { method: "GET", path: "/containers/stats", query }, { headerTimeout: false })),
      (res) =>
        http.jsonLines("containerStats", res).pipe(
          Stream.mapEffect((j) => {
            const stats = at(j, "Stats")
            const err = at(j, "Error")
            // A missing container gives `{"Error":{},"Stats":null}` (Go errors marshal to `{}`).
            if (!Array.isArray(stats)) {
              return Effect.fail(new PodmanApiError({
                operation: "containerStats",
                status: 200,
                detail: `stats error for ${ids.join(", ")}: ${typeof err === "string" ? err : JSON.stringify(err ?? null)}`
              }))
            }
            const readAt = new Date()
            return Effect.succeed(stats.map((s) => toContainerStats(s, readAt)))
          })
        )
    )).pipe(Stream.withSpan("PodmanRest.containerStats"))
  }

  // ---------------------------------------------------------------------------------------------
  // Exec and events
  // ---------------------------------------------------------------------------------------------

  const exec = makeExec({ http, endpoint, guard })

  const events = (filters: EventFilters): Stream.Stream<PodmanEvent, PodmanFailure> => {
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
      (res) => http.jsonLines("events", res).pipe(Stream.map(toEvent))
    )).pipe(Stream.withSpan("PodmanRest.events"))
  }

  return {
    socketName,
    address,
    capabilities: restCapabilities,
    ping: ping(),
    info: info(),
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
