/**
 * The libpod REST transport: `makeRestClient` builds a `PodmanClient` for one Podman endpoint
 * (a unix socket or an http(s) base URL), verified against Podman 4.3.1 (docs/podman.md).
 *
 * Requests go through Effect's node:http client (`NodeHttpClient.makeNodeHttp` over an agent that
 * dials the socket), except one-shot calls on a unix socket, which use that agent through node:http
 * directly (http.ts, `exchange`), and the exec start, which needs a hijacked raw connection with
 * half-close (exec.ts). Pulls and loads are in images.ts, logs, stats and events in
 * streams.ts.
 *
 * Every failure is a `PodmanError` whose reason comes from one table (classify.ts); every answer the
 * driver depends on is decoded with a Schema (layers/libpod), so a changed shape is a Decode reason,
 * never a silent default.
 *
 * Timeouts: every non-streaming call is bounded by `timeoutMillis` and fails with reason Timeout
 * (a stop/remove adds its grace period). Long-lived streams (followed logs, stats, events),
 * `containerWait` and the exit detection of `awaitExit` (exits.ts) have NO timeout (see
 * streams.ts). `imagePull`/`imageLoad` have their own whole-operation deadline that fails with
 * `ImagePullError` reason `timeout`.
 */
import { Effect } from "effect"
import { HttpBody } from "effect/http"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { Scope } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import type { PodmanError } from "../../src/domain/PodmanError.ts"
import type { TransportCapabilities } from "../../src/domain/results.ts"
import type { ContainerListFilters, PodmanClient } from "../../src/services/Podman.ts"
import { toContainerInspect, toContainerList, toCreated, toHealthcheckStatus, toImageInfo, toInfo, toWaitExitCode } from "../libpod/decode.ts"
import { parseAddress } from "./address.ts"
import type { ExitFiles } from "../conmon/ExitFiles.ts"
import { makeExec } from "./exec.ts"
import { type ExitMode, makeRestExits } from "./exits.ts"
import { Http, type Query } from "./http.ts"
import { makeImages } from "./images.ts"
import { makeStreams } from "./streams.ts"

export interface RestClientOptions {
  /** Configured socket name (`default` unless the plugin config names it). */
  readonly socketName: string
  /** `unix:///abs/path.sock`, `unix:/abs/path`, `/abs/path` or `http(s)://host:port`. */
  readonly address: string
  /** Bound of every non-streaming call. */
  readonly timeoutMillis: number
  /** conmon's exit files on this host (shared by every client); without it exits come from Podman. */
  readonly exitFiles?: ExitFiles
  /** How exits are detected (exits.ts); `auto` unless a test forces a fallback. */
  readonly exits?: ExitMode
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

/** 2xx, or one more status that means success for this operation (e.g. 304 "already stopped"). */
const okOr = (extra: number) => (s: number) => (s >= 200 && s < 300) || s === extra

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
  const http = new Http(podmanHttp, baseUrl, address, timeoutMillis, endpoint._tag === "unix" ? podmanAgent.http : undefined)

  /** An address we cannot use fails every call the same way instead of failing construction. */
  const guard = <A, E, R>(operation: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | PodmanError, R> =>
    endpoint._tag === "invalid"
      ? Effect.fail(http.unavailable(operation, `invalid address: ${endpoint.reason}`))
      : self

  // ---------------------------------------------------------------------------------------------
  // System
  // ---------------------------------------------------------------------------------------------

  const ping = Effect.fn("PodmanRest.ping")(function*() {
    // `/_ping` is unversioned; the libpod version is only in the header (the body is "OK").
    const r = yield* guard("ping", http.call("ping", { method: "GET", path: "/_ping", raw: true }, { cheap: true }))
    return { apiVersion: r.headers["libpod-api-version"] ?? "" }
  })

  const info = Effect.fn("PodmanRest.info")(function*() {
    const r = yield* guard("info", http.call("info", { method: "GET", path: "/info" }, { cheap: true }))
    return yield* http.decode("info", r.text, toInfo)
  })

  // ---------------------------------------------------------------------------------------------
  // Images (pull and load: images.ts)
  // ---------------------------------------------------------------------------------------------

  const imageExists = Effect.fn("PodmanRest.imageExists")(function*(ref: string) {
    const r = yield* guard("imageExists", http.call("imageExists", { method: "GET", path: `/images/${enc(ref)}/exists` }, { accept: okOr(404), id: ref, cheap: true }))
    return r.status !== 404
  })

  const imageInspect = Effect.fn("PodmanRest.imageInspect")(function*(ref: string) {
    const r = yield* guard("imageInspect", http.call("imageInspect", { method: "GET", path: `/images/${enc(ref)}/json` }, { id: ref }))
    return yield* http.decode("imageInspect", r.text, toImageInfo)
  })

  const { imagePull, imageLoad, imageRemove, imageTag, imageList } = makeImages({ http, plainHttp, guard })

  // ---------------------------------------------------------------------------------------------
  // Containers
  // ---------------------------------------------------------------------------------------------

  const containerCreate = Effect.fn("PodmanRest.containerCreate")(function*(spec: ContainerSpec) {
    const r = yield* guard(
      "containerCreate",
      // `id` is the image: an "image not known" answer is a NotFound of it.
      http.call("containerCreate", { method: "POST", path: "/containers/create", body: HttpBody.jsonUnsafe(spec) }, { id: spec.image })
    )
    return yield* http.decode("containerCreate", r.text, toCreated)
  })

  const containerStart = Effect.fn("PodmanRest.containerStart")(function*(id: string) {
    // 304 = already running: starting is idempotent for the driver.
    yield* guard("containerStart", http.call("containerStart", { method: "POST", path: `/containers/${enc(id)}/start` }, { id, accept: okOr(304) }))
  })

  const containerWait = Effect.fn("PodmanRest.containerWait")(function*(id: string) {
    // Long-poll. On 4.3.1 `stopped` and `exited` both work (and both answer at once, exit code 0,
    // for a container that was created but never started); `next-exit` is a 400. Podman polls the
    // container's state at `interval`: its default (250 ms) keeps that load low; the driver's exit
    // detection uses `wait` only as its last resort (exits.ts, docs/podman.md "Exits"). No
    // timeout: this blocks for the container's whole life.
    const query: Query = [["condition", "stopped"], ["condition", "exited"]]
    const res = yield* guard(
      "containerWait",
      http.open("containerWait", { method: "POST", path: `/containers/${enc(id)}/wait`, query }, { id, headerTimeout: false })
    )
    const text = yield* res.text.pipe(Effect.mapError(http.transportError("containerWait")))
    return yield* http.decode("containerWait", text, toWaitExitCode)
  })

  const containerInspect = Effect.fn("PodmanRest.containerInspect")(function*(id: string) {
    const r = yield* guard("containerInspect", http.call("containerInspect", { method: "GET", path: `/containers/${enc(id)}/json` }, { id, cheap: true }))
    return yield* http.decode("containerInspect", r.text, toContainerInspect)
  })

  const containerExists = Effect.fn("PodmanRest.containerExists")(function*(id: string) {
    const r = yield* guard("containerExists", http.call("containerExists", { method: "GET", path: `/containers/${enc(id)}/exists` }, { id, accept: okOr(404), cheap: true }))
    return r.status !== 404
  })

  const containerList = Effect.fn("PodmanRest.containerList")(function*(filters: ContainerListFilters) {
    const query: Array<readonly [string, string]> = [["all", String(filters.all)]]
    // storage-only containers (an interrupted create's leftovers) are listed only on request
    if (filters.external === true) query.push(["external", "true"])
    if (filters.label !== undefined && filters.label.length > 0) {
      query.push(["filters", JSON.stringify({ label: filters.label })])
    }
    const r = yield* guard("containerList", http.call("containerList", { method: "GET", path: "/containers/json", query }, { cheap: true }))
    return yield* http.decode("containerList", r.text, toContainerList)
  })

  const containerStop = Effect.fn("PodmanRest.containerStop")(function*(id: string, timeoutSeconds: number) {
    const t = Math.max(0, Math.ceil(timeoutSeconds))
    // 304 = already stopped, which is what the caller wants.
    yield* guard("containerStop", http.call("containerStop", {
      method: "POST",
      path: `/containers/${enc(id)}/stop`,
      query: [["timeout", String(t)]]
    }, { id, accept: okOr(304), extraMillis: t * 1000 }))
  })

  const containerKill = Effect.fn("PodmanRest.containerKill")(function*(id: string, signal: string) {
    yield* guard("containerKill", http.call("containerKill", {
      method: "POST",
      path: `/containers/${enc(id)}/kill`,
      query: [["signal", signal]]
    }, { id, cheap: true }))
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
      id,
      accept: okOr(404),
      extraMillis: (t ?? 10) * 1000
    }))
  })

  const containerHealthcheck = Effect.fn("PodmanRest.containerHealthcheck")(function*(id: string) {
    // runs the check now (Podman's `healthcheck run`): Podman's own timers need systemd
    const r = yield* guard("containerHealthcheck", http.call("containerHealthcheck", { method: "GET", path: `/containers/${enc(id)}/healthcheck` }, { id }))
    return yield* http.decode("containerHealthcheck", r.text, toHealthcheckStatus)
  })

  // ---------------------------------------------------------------------------------------------
  // Logs, stats, events (streams.ts) and exec (exec.ts)
  // ---------------------------------------------------------------------------------------------

  const { containerLogs, containerStats, events } = makeStreams({ http, guard, containerInspect, containerWait })
  const exec = makeExec({ http, endpoint, guard })
  // A unix socket is a Podman on this host: its k8s-file logs, cgroups and conmon's files can be read here.
  const local = endpoint._tag === "unix"
  const { awaitExit } = makeRestExits({
    http,
    guard,
    local,
    exitFiles: options.exitFiles,
    mode: options.exits ?? "auto",
    containerWait
  })

  return {
    socketName,
    address,
    local,
    capabilities: restCapabilities,
    ping: ping(),
    info: info(),
    imageExists,
    imageInspect,
    imagePull,
    imageLoad,
    imageRemove,
    imageTag,
    imageList,
    containerCreate,
    containerStart,
    containerWait,
    awaitExit,
    containerInspect,
    containerExists,
    containerList,
    containerHealthcheck,
    containerStop,
    containerKill,
    containerRemove,
    containerLogs,
    containerStats,
    exec,
    events
  } satisfies PodmanClient
})
