/**
 * Image pulls and archive loads over the libpod REST API. Both fail with `ImagePullError` when the
 * image is the problem (registry refused, not found, archive unreadable, deadline) and with
 * `PodmanError` when Podman is.
 *
 * Podman 4.3 reports registry failures inside an HTTP 200 pull body (`{"error": "..."}`), newer
 * versions may answer with an error status; both are classified by the pull error table
 * (layers/libpod/pullErrors.ts). See docs/podman.md, "Pulls".
 *
 * Two pull endpoints, because only one reports progress: libpod's `POST /images/pull` prints a
 * line when a blob starts and nothing while it downloads (a minute-long layer is a minute of
 * silence), while the Docker-compatible `POST /images/create` reports each layer's state and its
 * bytes every second. The compatible one is used for fully qualified references when the task
 * leaves TLS verification to registries.conf (it has no TLS switch, and it would resolve short
 * names against docker.io instead of registries.conf); libpod's otherwise. Either way every
 * report that changes something is emitted, so a gap between reports is real inactivity.
 *
 * Image names for garbage collection: `imageRemove` (never forced), `imageTag`, `imageList`.
 */
import * as fs from "node:fs"
import { Effect, Option, Schema, Stream } from "effect"
import { Headers, HttpBody, type HttpClient } from "effect/http"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { ImagePullError, type PodmanError } from "../../src/domain/errors.ts"
import type { ArchiveSource, PullOptions, PullProgress } from "../../src/services/Podman.ts"
import { parseJsonOrUndefined } from "../libpod/decode.ts"
import { classifyPullError } from "../libpod/pullErrors.ts"
import { toImageInfo, toImageList } from "../libpod/decode.ts"
import { CompatPullLineJson, ImageLoadJson, PullLineJson } from "../libpod/schemas.ts"
import { encodeRegistryAuth, hasAuth } from "./auth.ts"
import type { Http } from "./http.ts"

/** effect's default redacted header names plus Podman's registry credentials header. */
const REDACTED_HEADERS: ReadonlyArray<string> = ["authorization", "cookie", "set-cookie", "x-api-key", "x-registry-auth"]

const decodePullLine = Schema.decodeUnknownOption(PullLineJson)
const decodeCompatLine = Schema.decodeUnknownOption(CompatPullLineJson)

/** A reference with a registry host (`host.domain/…`, `host:port/…`, `localhost/…`): Docker's rule. */
export const isQualified = (ref: string): boolean => {
  const slash = ref.indexOf("/")
  if (slash < 0) return false
  const first = ref.slice(0, slash)
  return first.includes(".") || first.includes(":") || first === "localhost"
}

/** Layer states of the Docker-compatible pull that mean "this blob is here". */
const LAYER_DONE = new Set(["Already exists", "Download complete", "Verifying Checksum", "Pull complete", "Extracting"])

/**
 * Folds the Docker-compatible pull's lines into progress reports: per blob id its state and bytes;
 * a report only when a line changed something. (Podman lists the image config as one more blob.)
 */
export const compatProgress = () => {
  const blobs = new Map<string, { done: boolean; current: number; total: number }>()
  let last = ""
  return (line: { readonly status?: string | null; readonly id?: string | null; readonly progressDetail?: { readonly current?: number | null; readonly total?: number | null } | null }): PullProgress | undefined => {
    const id = line.id ?? ""
    const status = line.status ?? ""
    if (id === "" || status === "") return undefined
    const b = blobs.get(id) ?? { done: false, current: 0, total: 0 }
    if (LAYER_DONE.has(status)) {
      b.done = true
      if (b.total > 0) b.current = b.total
    } else if (status === "Downloading") {
      b.current = line.progressDetail?.current ?? b.current
      b.total = line.progressDetail?.total ?? b.total
    }
    blobs.set(id, b)
    let done = 0
    let current = 0
    let total = 0
    for (const x of blobs.values()) {
      if (x.done) done++
      current += x.current
      total += x.total
    }
    const key = `${done}/${blobs.size}/${current}/${total}`
    if (key === last) return undefined
    last = key
    return {
      message: "",
      layers: { done, total: blobs.size },
      ...(total > 0 ? { bytes: { done: current, total } } : {})
    }
  }
}
const decodeLoadAnswer = Schema.decodeUnknownOption(ImageLoadJson)

interface ImageDeps {
  readonly http: Http
  /** A client that does NOT go to the Podman socket (archive downloads). */
  readonly plainHttp: HttpClient.HttpClient
  readonly guard: <A, E, R>(operation: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PodmanError, R>
}

/** A pull refused with an error status is a pull failure, classified by Podman's text. */
const pullRefused = (image: string) => (e: PodmanError): Effect.Effect<never, ImagePullError | PodmanError> =>
  e.reason._tag === "Api" || e.reason._tag === "NotFound" || e.reason._tag === "Conflict"
    ? Effect.fail(classifyPullError(image, e.reason._tag === "NotFound" ? `image not known: ${image}` : e.reason.detail))
    : Effect.fail(e)

export const makeImages = ({ http, plainHttp, guard }: ImageDeps) => {
  /** The libpod pull: Podman's lines as messages; "Copying blob" announces a layer, "Copying config" ends them. */
  const libpodPull = (ref: string, opts: PullOptions, headers: Record<string, string>): Stream.Stream<PullProgress, ImagePullError | PodmanError> => {
    const query: Array<readonly [string, string]> = [["reference", ref], ["quiet", "false"]]
    // Only when the task says so: an omitted tlsVerify lets registries.conf decide (insecure registries).
    if (opts.tlsVerify !== undefined) query.push(["tlsVerify", String(opts.tlsVerify)])
    if (opts.os !== undefined && opts.os !== "") query.push(["OS", opts.os])
    if (opts.arch !== undefined && opts.arch !== "") query.push(["Arch", opts.arch])
    if (opts.variant !== undefined && opts.variant !== "") query.push(["Variant", opts.variant])
    const opened = http.open("imagePull", { method: "POST", path: "/images/pull", query, headers }, { headerTimeout: false }).pipe(
      // The auth header must read as <redacted> wherever the request is inspected (spans, logs).
      Effect.provideService(Headers.CurrentRedactedNames, REDACTED_HEADERS),
      Effect.catch(pullRefused(ref))
    )
    return Stream.unwrap(Effect.map(opened, (res) =>
      Stream.suspend(() => {
        let imageId: string | undefined
        let announced = 0
        let done = 0
        return http.jsonLines("imagePull", res).pipe(
          Stream.mapEffect((json): Effect.Effect<PullProgress | undefined, ImagePullError> => {
            // A line of another shape is progress we do not understand: skip it.
            const line = decodePullLine(json)
            if (Option.isNone(line)) return Effect.succeed(undefined)
            const j = line.value
            // Podman 4.3 reports registry errors inside the 200 body.
            if (j.error) return Effect.fail(classifyPullError(ref, j.error))
            const id = j.id || j.images?.[0] || ""
            if (id !== "") {
              imageId = id
              return Effect.succeed({ message: `Pulled ${ref}`, imageId: id })
            }
            const message = (j.stream ?? "").trim()
            if (message.startsWith("Copying blob")) announced++
            if (message.startsWith("Copying config")) done = announced
            return Effect.succeed(message === "" ? undefined : { message, layers: { done, total: announced } })
          }),
          Stream.filter((p): p is PullProgress => p !== undefined),
          Stream.concat(Stream.suspend(() =>
            imageId === undefined
              ? Stream.fail(classifyPullError(ref, "the pull ended without reporting an image id"))
              : Stream.empty
          ))
        )
      })))
  }

  /** The Docker-compatible pull: per-layer states and bytes; the image id is looked up at the end. */
  const compatPull = (ref: string, opts: PullOptions, headers: Record<string, string>): Stream.Stream<PullProgress, ImagePullError | PodmanError> => {
    const query: Array<readonly [string, string]> = [["fromImage", ref]]
    const platform = [opts.os ?? "", opts.arch ?? "", opts.variant ?? ""]
    if (platform.some((p) => p !== "")) {
      query.push(["platform", [platform[0] || "linux", platform[1] || "", platform[2] || ""].filter((p, i) => i < 2 || p !== "").join("/")])
    }
    const opened = http.open("imagePull", { method: "POST", path: "/v1.41/images/create", query, headers, raw: true }, { headerTimeout: false }).pipe(
      Effect.provideService(Headers.CurrentRedactedNames, REDACTED_HEADERS),
      Effect.catch(pullRefused(ref))
    )
    const lookUp = http.call("imageInspect", { method: "GET", path: `/images/${encodeURIComponent(ref)}/json` }, { id: ref }).pipe(
      Effect.flatMap((r) => http.decode("imageInspect", r.text, toImageInfo)),
      Effect.map((info): PullProgress => ({ message: `Pulled ${ref}`, imageId: info.id })),
      Effect.catchReason("PodmanError", "NotFound", () => Effect.fail(classifyPullError(ref, "the pull ended but the image is not there")))
    )
    return Stream.unwrap(Effect.map(opened, (res) =>
      Stream.suspend(() => {
        const fold = compatProgress()
        return http.jsonLines("imagePull", res).pipe(
          Stream.mapEffect((json): Effect.Effect<PullProgress | undefined, ImagePullError> => {
            const line = decodeCompatLine(json)
            if (Option.isNone(line)) return Effect.succeed(undefined)
            const j = line.value
            const error = j.errorDetail?.message || j.error
            if (error) return Effect.fail(classifyPullError(ref, error))
            return Effect.succeed(fold(j))
          }),
          Stream.filter((p): p is PullProgress => p !== undefined),
          Stream.concat(Stream.fromEffect(lookUp))
        )
      })))
  }

  const imagePull = (ref: string, opts: PullOptions): Stream.Stream<PullProgress, ImagePullError | PodmanError> => {
    const headers: Record<string, string> = {}
    if (hasAuth(opts.auth)) headers["X-Registry-Auth"] = encodeRegistryAuth(opts.auth)
    const progress = opts.tlsVerify === undefined && isQualified(ref) ? compatPull(ref, opts, headers) : libpodPull(ref, opts, headers)
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

  const imageRemove = Effect.fn("PodmanRest.imageRemove")(function*(ref: string) {
    // never `force`: it would remove the containers using the image
    yield* guard("imageRemove", http.call("imageRemove", { method: "DELETE", path: `/images/${encodeURIComponent(ref)}` }, { id: ref }))
  })

  const imageTag = Effect.fn("PodmanRest.imageTag")(function*(ref: string, repo: string, tag: string) {
    yield* guard("imageTag", http.call("imageTag", {
      method: "POST",
      path: `/images/${encodeURIComponent(ref)}/tag`,
      query: [["repo", repo], ["tag", tag]]
    }, { id: ref }))
  })

  const imageList = Effect.fn("PodmanRest.imageList")(function*(repo?: string) {
    const r = yield* guard("imageList", http.call("imageList", {
      method: "GET",
      path: "/images/json",
      query: repo === undefined ? [] : [["filters", JSON.stringify({ reference: [repo] })]]
    }))
    return yield* http.decode("imageList", r.text, toImageList)
  })

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
          const length = res.headers["content-length"]
          return Effect.succeed(HttpBody.stream(res.stream, "application/x-tar", length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined))
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
        Effect.catch((e): Effect.Effect<never, ImagePullError | PodmanError> =>
          e.reason._tag === "Unavailable" && e.reason.detail.startsWith("EncodeError")
            // A failing request BODY is the archive source failing (file read error, archive server
            // gone mid-download), not Podman: report it as the image's problem.
            ? Effect.fail(new ImagePullError({ image, reason: source._tag === "url" ? "unreachable" : "other", detail: `archive read failed: ${e.reason.detail}` }))
            : pullRefused(image)(e))
      )
      const answer = decodeLoadAnswer(parseJsonOrUndefined(r.text))
      const name = Option.isSome(answer) ? answer.value.Names?.[0] : undefined
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

  return { imagePull, imageLoad, imageRemove, imageTag, imageList }
}
