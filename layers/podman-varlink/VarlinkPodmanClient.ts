/**
 * `PodmanClient` over Podman 1.x/2.x's io.podman varlink interface (`podman varlink` /
 * `podman system service varlink:…`). Addresses: `varlink:unix:/run/podman/io.podman`,
 * `varlink:unix:@abstract`, `varlink:tcp:host:port`.
 *
 * Every call is validated against our own description of the subset we use (io.podman.varlink)
 * before it is sent, has the client timeout (long-running calls get their own deadline), runs on a
 * pool of connections, fails with a `PodmanError` classified by one table (classify.ts) and has its
 * reply decoded with a Schema (replies.ts; inspect texts by layers/libpod). How each operation maps:
 *
 * | PodmanClient | io.podman |
 * |---|---|
 * | ping / info | GetVersion / GetInfo (fields 1.x does not report are "" / false) |
 * | imageExists / imageInspect | ImageExists (0 = exists) / InspectImage (JSON text) |
 * | imagePull | PullImage with `more` (MoreResponse logs, last one has the id) |
 * | imageLoad | LoadImage (a path on the Podman host; URLs are unsupported) |
 * | containerCreate | CreateContainer (ContainerSpec mapped onto the flag-shaped Create) |
 * | containerStart / Wait / Inspect / Exists / List | StartContainer / WaitContainer / InspectContainer (JSON text) / ContainerExists / ListContainers |
 * | awaitExit | conmon's exit file when Podman is on this host (layers/conmon), else WaitContainer; then InspectContainer |
 * | containerStop / Kill / Remove | StopContainer (ErrCtrStopped = success) / KillContainer (signal number) / RemoveContainer |
 * | containerLogs | GetContainersLogs with `more` |
 * | containerStats | GetContainerStats, polled every interval |
 * | exec | ExecContainer with `upgrade`, then Podman's framed stream |
 * | events | GetEvents with `more` |
 *
 * Limits of io.podman, reported with reason Unsupported (never silently ignored):
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
import { Effect, Option, Stream } from "effect"
import type { Scope } from "effect"
import { ImagePullError, type PodmanError } from "../../src/domain/errors.ts"
import { Api, Unsupported } from "../../src/domain/PodmanError.ts"
import type { TransportCapabilities } from "../../src/domain/results.ts"
import type { ContainerListFilters, ContainerState, ContainerSummary, PodmanClient, PodmanInfo, PullOptions, PullProgress } from "../../src/services/Podman.ts"
import type { ExitFiles } from "../conmon/ExitFiles.ts"
import { makeLocalExits } from "../conmon/localExits.ts"
import { goTime, parseJsonText, signalNumber, toContainerInspect, toExitProbe, toImageInfo } from "../libpod/decode.ts"
import { classifyPullError } from "../libpod/pullErrors.ts"
import { makeVarlinkClient as makeProtocolClient } from "../varlink/VarlinkClient.ts"
import { makeCalls } from "./calls.ts"
import { toIoPodmanCreate } from "./createMapping.ts"
import { ioPodmanSubset } from "./ioPodmanSubset.ts"
import {
  ContainerReply,
  CreateContainerReply,
  ExistsReply,
  GetInfoReply,
  GetVersionReply,
  InspectContainerReply,
  InspectImageReply,
  ListContainersReply,
  MoreResponseReply,
  WaitContainerReply
} from "./replies.ts"
import { makeVarlinkStreams } from "./streams.ts"

export const varlinkCapabilities: TransportCapabilities = {
  transport: "varlink",
  exec: true,
  execStreaming: true,
  stats: true,
  logs: true,
  archiveLoad: true
}

const TRANSPORT = "varlink"

/** `varlink:unix:/path` → `unix:/path` (the `varlink:` prefix selects this transport). */
export const varlinkProtocolAddress = (address: string) => (address.startsWith("varlink:") ? address.slice("varlink:".length) : address)

/** A signal name (`SIGTERM`, `TERM`, `15`) as the number KillContainer takes. */
export const signalToNumber = (signal: string): number | undefined => signalNumber(signal)

export interface VarlinkPodmanOptions {
  readonly socketName: string
  readonly address: string
  readonly timeoutMillis: number
  /** conmon's exit files on this host (shared by every client); without it exits come from WaitContainer. */
  readonly exitFiles?: ExitFiles
}

/** WaitContainer's polling interval in ms: Podman's own default (io.podman makes the caller choose). */
const WAIT_INTERVAL_MILLIS = 250

/** Builds an io.podman `PodmanClient`. Its connections live in the Scope. */
export const makeVarlinkClient = (options: VarlinkPodmanOptions): Effect.Effect<PodmanClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { socketName, address, timeoutMillis } = options
    const client = yield* makeProtocolClient({
      address: varlinkProtocolAddress(address),
      timeoutMillis,
      // Calls that may block long (create, start, stop, remove, waits, streams) run on connections
      // of their own; the pool serves the quick ones, and is large enough that a few wedged ones
      // (each bounded by its deadline) leave the others free.
      poolSize: 16,
      interfaces: [ioPodmanSubset]
    })
    const calls = makeCalls(client, address, timeoutMillis)
    const { call, callMore, error } = calls
    const unsupported = (operation: string, what: string) => error(operation, new Unsupported({ transport: TRANSPORT, what }))

    // --- system ------------------------------------------------------------------------------

    const apiVersionOf = (v: { readonly remote_api_version?: number | string | null }) =>
      v.remote_api_version !== undefined && v.remote_api_version !== null ? String(v.remote_api_version) : ""

    const ping = call("ping", "GetVersion", {}, GetVersionReply, { cheap: true }).pipe(
      Effect.map((v) => ({ apiVersion: apiVersionOf(v) || v.version }))
    )

    const info = Effect.gen(function*() {
      const version = yield* call("info", "GetVersion", {}, GetVersionReply)
      const { info: p } = yield* call("info", "GetInfo", {}, GetInfoReply)
      const host = p.host ?? undefined
      return {
        version: p.podman?.podman_version || version.version,
        apiVersion: apiVersionOf(version),
        rootless: false,
        cgroupVersion: "",
        cgroupManager: "",
        ociRuntime: "",
        ociRuntimePath: "",
        appArmorEnabled: false,
        selinuxEnabled: false,
        seccompEnabled: false,
        capabilities: "",
        os: host?.os ?? "",
        arch: host?.arch ?? "",
        hostname: host?.hostname ?? "",
        kernel: host?.kernel ?? "",
        memTotal: host?.mem_total ?? 0,
        cpus: host?.cpus ?? 0,
        socketPath: varlinkProtocolAddress(address)
      } satisfies PodmanInfo
    })

    // --- images ------------------------------------------------------------------------------

    const imageExists = (ref: string) =>
      call("imageExists", "ImageExists", { name: ref }, ExistsReply, { id: ref, cheap: true }).pipe(Effect.map((p) => p.exists === 0))

    const imageInspect = (ref: string) =>
      call("imageInspect", "InspectImage", { name: ref }, InspectImageReply, { id: ref }).pipe(
        Effect.flatMap((p) => parseJsonText(p.image, "InspectImage text").pipe(Effect.flatMap(toImageInfo), Effect.mapError((r) => error("imageInspect", r))))
      )

    /** A pull Podman refused (not a transport failure) is the image's problem. */
    const pullFailure = (ref: string) => (e: PodmanError): ImagePullError | PodmanError =>
      e.reason._tag === "Api" ? classifyPullError(ref, e.reason.detail) : e.reason._tag === "NotFound" ? classifyPullError(ref, `image not known: ${ref}`) : e

    const imagePull = (ref: string, pull: PullOptions): Stream.Stream<PullProgress, ImagePullError | PodmanError> => {
      if (pull.tlsVerify === false) return Stream.fail(unsupported("imagePull", "tls_verify=false (PullImage has no TLS verification switch; configure the registry as insecure on the Podman host)"))
      if (pull.os !== undefined || pull.arch !== undefined || pull.variant !== undefined) {
        return Stream.fail(unsupported("imagePull", "a platform (PullImage cannot select an os/arch/variant)"))
      }
      if (pull.auth?.identityToken) return Stream.fail(unsupported("imagePull", "an identity token (PullImage takes only a username and a password)"))
      const creds = { username: pull.auth?.username ?? "", password: pull.auth?.password ?? "" }
      return callMore("imagePull", "PullImage", { name: ref, creds }, MoreResponseReply, {
        timeoutMillis: pull.timeoutMillis,
        idleTimeoutMillis: pull.timeoutMillis,
        id: ref
      }).pipe(
        Stream.mapError(pullFailure(ref)),
        Stream.map(({ reply }): PullProgress => {
          const id = reply.id ?? ""
          return { message: (reply.logs ?? []).join("").trim(), ...(id !== "" ? { imageId: id } : {}) }
        }),
        Stream.interruptWhen(Effect.sleep(pull.timeoutMillis).pipe(
          Effect.andThen(Effect.fail(new ImagePullError({ image: ref, reason: "timeout", detail: `pull did not finish within ${pull.timeoutMillis} ms` })))
        ))
      )
    }

    const imageLoad = (source: { readonly _tag: "path"; readonly path: string } | { readonly _tag: "url"; readonly url: string }, load: { readonly timeoutMillis: number }) =>
      Effect.gen(function*() {
        if (source._tag === "url") return yield* unsupported("imageLoad", "loading from a URL (LoadImage reads a file on the Podman host; download the archive there first)")
        const replies = yield* callMore("imageLoad", "LoadImage", { name: "", inputFile: source.path, quiet: true, deleteFile: false }, MoreResponseReply, {
          timeoutMillis: load.timeoutMillis,
          idleTimeoutMillis: load.timeoutMillis
        }).pipe(Stream.runCollect, Effect.mapError(pullFailure(source.path)))
        const id = replies[replies.length - 1]?.reply.id ?? ""
        if (id === "") return yield* new ImagePullError({ image: source.path, reason: "other", detail: "LoadImage returned no image" })
        return id
      })

    // --- containers --------------------------------------------------------------------------

    const containerCreate = (spec: Parameters<PodmanClient["containerCreate"]>[0]) =>
      Effect.gen(function*() {
        const create = toIoPodmanCreate(spec)
        if (create instanceof Unsupported) return yield* error("containerCreate", create)
        // `id` is the image: an "image not known" answer is a NotFound of it.
        const p = yield* call("containerCreate", "CreateContainer", { create }, CreateContainerReply, { id: spec.image, dedicated: true })
        return { id: p.container, warnings: [] as ReadonlyArray<string> }
      })

    const containerStart = (id: string) => call("containerStart", "StartContainer", { name: id }, ContainerReply, { id, dedicated: true }).pipe(Effect.asVoid)

    /** WaitContainer blocks as long as the container runs: no deadline on the reply; the service polls at Podman's default interval. */
    const containerWait = (id: string) =>
      call("containerWait", "WaitContainer", { name: id, interval: WAIT_INTERVAL_MILLIS }, WaitContainerReply, {
        id,
        timeoutMillis: 2 ** 31 - 1,
        dedicated: true
      }).pipe(Effect.map((p) => p.exitcode))

    const inspectJson = (id: string) =>
      call("containerInspect", "InspectContainer", { name: id }, InspectContainerReply, { id, cheap: true }).pipe(
        Effect.flatMap((p) => parseJsonText(p.container, "InspectContainer text").pipe(Effect.mapError((r) => error("containerInspect", r))))
      )

    const containerInspect = (id: string) =>
      inspectJson(id).pipe(Effect.flatMap((json) => toContainerInspect(json).pipe(Effect.mapError((r) => error("containerInspect", r)))))

    const probe = (id: string) =>
      inspectJson(id).pipe(Effect.flatMap((json) => toExitProbe(json).pipe(Effect.mapError((r) => error("containerInspect", r)))))

    // A unix address (path or abstract) is a Podman on this host.
    const local = varlinkProtocolAddress(address).startsWith("unix:")
    const files = local && options.exitFiles !== undefined ? makeLocalExits(options.exitFiles, probe) : undefined

    /** conmon's exit file when Podman is on this host, else WaitContainer (docs/podman.md, "Exits"). */
    const awaitExit = (id: string, seen?: Effect.Effect<Option.Option<ContainerState>>) =>
      Effect.gen(function*() {
        if (files !== undefined) {
          const viaFiles = yield* files.awaitExit(id, seen)
          if (Option.isSome(viaFiles)) return viaFiles.value
        }
        const code = yield* containerWait(id)
        const p = yield* probe(id)
        return p.running ? { exitCode: code, oomKilled: false, finishedAt: undefined, error: "" } : p.exit
      })

    const containerExists = (id: string) => call("containerExists", "ContainerExists", { name: id }, ExistsReply, { id, cheap: true }).pipe(Effect.map((p) => p.exists === 0))

    // io.podman lists only the containers libpod knows (`external` has no equivalent)
    const containerList = (filters: ContainerListFilters) =>
      call("containerList", "ListContainers", {}, ListContainersReply, { cheap: true }).pipe(
        Effect.map((p) =>
          (p.containers ?? [])
            .filter((c) => filters.all || c.containerrunning === true)
            .map((c): ContainerSummary => ({
              id: c.id,
              names: (c.names ?? "").split(",").filter((x) => x !== ""),
              state: c.status ?? "",
              labels: c.labels ?? {},
              created: goTime(c.createdat)
            }))
            .filter((c) =>
              (filters.label ?? []).every((f) => {
                const eq = f.indexOf("=")
                return eq < 0 ? f in c.labels : c.labels[f.slice(0, eq)] === f.slice(eq + 1)
              })
            )
        )
      )

    const containerStop = (id: string, timeoutSeconds: number) =>
      call("containerStop", "StopContainer", { name: id, timeout: timeoutSeconds }, ContainerReply, {
        id,
        timeoutMillis: timeoutMillis + timeoutSeconds * 1000,
        dedicated: true
      }).pipe(
        Effect.asVoid,
        // Already stopped (ErrCtrStopped) is what the caller wants.
        Effect.catchReason("PodmanError", "NotRunning", () => Effect.void)
      )

    const containerKill = (id: string, signal: string) =>
      Effect.gen(function*() {
        const number = signalToNumber(signal)
        if (number === undefined) return yield* error("containerKill", new Api({ detail: `invalid signal: ${signal}` }))
        yield* call("containerKill", "KillContainer", { name: id, signal: number }, ContainerReply, { id, cheap: true })
      })

    const containerRemove = (id: string, remove: { readonly force: boolean; readonly volumes: boolean; readonly timeoutSeconds?: number }) =>
      Effect.gen(function*() {
        if (remove.force && remove.timeoutSeconds !== undefined) {
          // RemoveContainer has no stop timeout: stop first with ours, then remove.
          yield* containerStop(id, remove.timeoutSeconds).pipe(Effect.catchReason("PodmanError", "NotFound", () => Effect.void))
        }
        yield* call("containerRemove", "RemoveContainer", { name: id, force: remove.force, removeVolumes: remove.volumes }, ContainerReply, {
          id,
          timeoutMillis: timeoutMillis + 10_000,
          dedicated: true
        })
      })

    const { containerLogs, containerStats, exec, events } = makeVarlinkStreams({ calls, containerInspect, containerWait })

    return {
      socketName,
      address,
      local,
      capabilities: varlinkCapabilities,
      ping,
      info,
      imageExists,
      imageInspect,
      imagePull,
      imageLoad,
      // image garbage collection needs the REST transport (the io.podman subset has no image removal)
      imageRemove: (ref: string) => Effect.fail(unsupported("imageRemove", `removing image ${ref}`)),
      imageTag: (ref: string) => Effect.fail(unsupported("imageTag", `tagging image ${ref}`)),
      imageList: () => Effect.fail(unsupported("imageList", "listing images")),
      containerCreate,
      containerStart,
      containerWait,
      awaitExit,
      containerInspect,
      containerExists,
      containerList,
      containerHealthcheck: (id: string) => Effect.fail(unsupported("containerHealthcheck", `running the health check of ${id}`)),
      containerStop,
      containerKill,
      containerRemove,
      containerLogs,
      containerStats,
      exec,
      events
    } satisfies PodmanClient
  })
