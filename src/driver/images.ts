/**
 * Making sure a task's image is present: archives are loaded, registry images are looked up locally
 * and pulled when missing (or when `force_pull` / a platform override asks for it). Concurrent
 * pulls of the same reference share one pull.
 *
 * Progress is published as task events: the first report, then at most one every
 * {@link PROGRESS_EVERY} ("layers 2/5, 12.0 MB/40.0 MB" where Podman reports them), and the end.
 * A pull that reports nothing new for the plugin's `pull_activity_timeout` fails with an
 * `ImagePullError` reason `timeout`; the pull request is closed, which makes Podman abandon it, so
 * nothing of it is left. An image the driver brought is marked for garbage collection (imageGc.ts).
 */
import { DateTime, Duration, Effect, Equal, Fiber, Hash, RcMap, Stream } from "effect"
import { ImagePullError, type PodmanError } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { PodmanClient, PullProgress } from "../services/Podman.ts"
import { formatGoDuration } from "../domain/values/durations.ts"
import { type AuthServices, resolveAuth } from "./auth.ts"
import type { ImageGc } from "./imageGc.ts"

/** At most one progress event per pull this often (the docker driver's pace). */
export const PROGRESS_EVERY = Duration.seconds(10)

const mb = (n: number) => `${(n / 1_000_000).toFixed(1)} MB`

/** A progress report as the text of a task event. */
export const describeProgress = (ref: string, p: PullProgress): string => {
  const parts: Array<string> = []
  if (p.layers !== undefined && p.layers.total > 0) parts.push(`layers ${p.layers.done}/${p.layers.total}`)
  if (p.bytes !== undefined && p.bytes.total > 0) parts.push(`${mb(p.bytes.done)}/${mb(p.bytes.total)}`)
  const detail = parts.length > 0 ? parts.join(", ") : p.message.trim()
  return detail === "" ? `Pulling image ${ref}` : `Pulling image ${ref}: ${detail}`
}

/** Reports that say the same thing (no activity) are one. */
const sameProgress = (a: PullProgress, b: PullProgress) =>
  a.message === b.message && a.imageId === b.imageId && a.layers?.done === b.layers?.done &&
  a.layers?.total === b.layers?.total && a.bytes?.done === b.bytes?.done && a.bytes?.total === b.bytes?.total

export type ImageEvent = (message: string, annotations?: Record<string, string>) => Effect.Effect<void>

/**
 * One pull or load, keyed by what it fetches and where to. Equal keys share one job: the first
 * caller's effect runs, later callers join it.
 */
class ImageJob implements Equal.Equal {
  constructor(readonly key: string, readonly run: Effect.Effect<string, ImagePullError | PodmanError>) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof ImageJob && that.key === this.key
  }
  [Hash.symbol](): number {
    return Hash.string(this.key)
  }
}

/**
 * A de-duplicating image resolver for one driver instance. Concurrent pulls of the same reference
 * to the same socket share one pull, held in an `RcMap` while anyone waits for it: a waiter that
 * gives up (its StartTask cancelled) just leaves, and when the last one leaves the pull itself is
 * interrupted. Needs the driver layer's Scope.
 */
export const makeImageResolver = (gc: ImageGc) => Effect.gen(function*() {
  const authServices = yield* Effect.context<AuthServices>()
  const jobs = yield* RcMap.make({
    lookup: (job: ImageJob) => Effect.forkScoped(job.run),
    idleTimeToLive: 0
  })

  const pullOnce = (
    client: PodmanClient,
    key: string,
    pull: Effect.Effect<string, ImagePullError | PodmanError>
  ): Effect.Effect<string, ImagePullError | PodmanError> =>
    Effect.scoped(RcMap.get(jobs, new ImageJob(`${client.address}|${key}`, pull)).pipe(Effect.flatMap(Fiber.join))).pipe(
      Effect.annotateLogs({ socket: client.socketName })
    )

  /** Returns the image name/id to create the container from. */
  const ensure = (
    client: PodmanClient,
    config: TaskConfig,
    plugin: PluginConfig,
    event: ImageEvent
  ): Effect.Effect<string, ImagePullError | PodmanError> =>
    Effect.gen(function*() {
      const timeoutMillis = Duration.toMillis(config.image_pull_timeout)
      const source = config.image
      if (source._tag === "archive") {
        yield* event(`Loading image ${source.source._tag === "url" ? source.source.url : source.source.path}`)
        // what was there before the load: an archive of an image already present brings nothing new
        const load = gc.snapshot(client).pipe(
          Effect.flatMap((before) =>
            client.imageLoad(source.source, { timeoutMillis }).pipe(Effect.tap((name) => gc.brought(client, name, before)))
          )
        )
        return yield* pullOnce(client, `load|${source.text}`, load)
      }
      const platformOverride = config.os !== undefined || config.arch !== undefined || config.variant !== undefined
      let existedBefore: string | undefined
      if (!config.force_pull && !platformOverride) {
        const present = yield* client.imageExists(source.ref).pipe(
          Effect.catch((e) => Effect.logWarning(`image lookup failed, pulling: ${e.message}`).pipe(Effect.as(false)))
        )
        if (present) return source.ref
      } else {
        // a re-pull that brings the same image brings nothing new: it must not be marked as the driver's
        existedBefore = yield* client.imageInspect(source.ref).pipe(
          Effect.map((i) => i.id),
          Effect.catch(() => Effect.succeed(undefined))
        )
      }
      const auth = yield* resolveAuth(source.ref, source.registry, config, plugin).pipe(Effect.provideContext(authServices))
      yield* event(`Pulling image ${source.ref}`)
      // one event per PROGRESS_EVERY at most, the last one always
      let lastEvent: number | undefined
      const reportProgress = (p: PullProgress) =>
        Effect.gen(function*() {
          const now = (yield* DateTime.nowAsDate).getTime()
          const due = lastEvent === undefined || now - lastEvent >= Duration.toMillis(PROGRESS_EVERY) || p.imageId !== undefined
          if (due && (p.layers !== undefined || p.bytes !== undefined || p.message.trim() !== "")) {
            lastEvent = now
            const annotations: Record<string, string> = { image: source.ref }
            if (p.layers !== undefined) Object.assign(annotations, { layers_done: String(p.layers.done), layers_total: String(p.layers.total) })
            if (p.bytes !== undefined) Object.assign(annotations, { bytes_done: String(p.bytes.done), bytes_total: String(p.bytes.total) })
            yield* event(p.imageId !== undefined ? `Pulled image ${source.ref}` : describeProgress(source.ref, p), annotations)
          }
          return p
        })
      const key = [source.ref, config.os ?? "", config.arch ?? "", config.variant ?? ""].join("|")
      const activity = plugin.pull_activity_timeout
      const pull = client.imagePull(source.ref, {
        ...(config.auth?.tls_verify !== undefined ? { tlsVerify: config.auth.tls_verify } : {}),
        timeoutMillis,
        ...(auth ? { auth } : {}),
        ...(config.os !== undefined ? { os: config.os } : {}),
        ...(config.arch !== undefined ? { arch: config.arch } : {}),
        ...(config.variant !== undefined ? { variant: config.variant } : {})
      }).pipe(
        Stream.changesWith(sameProgress),
        // no new report for that long: the pull is stalled (closing it makes Podman abandon it)
        Stream.timeoutOrElse({
          duration: activity,
          orElse: () =>
            Stream.fail(new ImagePullError({
              image: source.ref,
              reason: "timeout",
              detail: `no progress for ${formatGoDuration(activity)} (pull_activity_timeout)`
            }))
        }),
        Stream.mapEffect((p) => reportProgress(p)),
        Stream.runFold(() => "" as string, (id, p) => p.imageId ?? id),
        Effect.flatMap((id) =>
          id === ""
            ? Effect.fail(new ImagePullError({ image: source.ref, reason: "other", detail: "pull ended without an image id" }))
            : Effect.succeed(id)
        ),
        Effect.timeoutOrElse({
          duration: config.image_pull_timeout,
          orElse: () =>
            Effect.fail(new ImagePullError({ image: source.ref, reason: "timeout", detail: `no image after ${formatGoDuration(config.image_pull_timeout)} (image_pull_timeout)` }))
        }),
        Effect.tap((id) => gc.brought(client, id, existedBefore))
      )
      return yield* pullOnce(client, key, pull)
    })

  return { ensure }
})


export type ImageResolver = Effect.Success<ReturnType<typeof makeImageResolver>>
