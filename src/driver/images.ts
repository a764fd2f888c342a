/**
 * Making sure a task's image is present: archives are loaded, registry images are looked up locally
 * and pulled when missing (or when `force_pull` / a platform override asks for it). Concurrent
 * pulls of the same reference share one pull. Progress is published as task events.
 */
import { Duration, Effect, Equal, Fiber, Hash, RcMap, Stream } from "effect"
import { ImagePullError, type PodmanError } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { PodmanClient } from "../services/Podman.ts"
import { formatGoDuration } from "../domain/values/durations.ts"
import { type AuthServices, resolveAuth } from "./auth.ts"

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
export const makeImageResolver = Effect.gen(function*() {
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
        return yield* pullOnce(client, `load|${source.text}`, client.imageLoad(source.source, { timeoutMillis }))
      }
      const platformOverride = config.os !== undefined || config.arch !== undefined || config.variant !== undefined
      if (!config.force_pull && !platformOverride) {
        const present = yield* client.imageExists(source.ref).pipe(
          Effect.catch((e) => Effect.logWarning(`image lookup failed, pulling: ${e.message}`).pipe(Effect.as(false)))
        )
        if (present) return source.ref
      }
      const auth = yield* resolveAuth(source.ref, source.registry, config, plugin).pipe(Effect.provideContext(authServices))
      yield* event(`Pulling image ${source.ref}`)
      const key = [source.ref, config.os ?? "", config.arch ?? "", config.variant ?? ""].join("|")
      const pull = client.imagePull(source.ref, {
        tlsVerify: config.auth?.tls_verify ?? true,
        timeoutMillis,
        ...(auth ? { auth } : {}),
        ...(config.os !== undefined ? { os: config.os } : {}),
        ...(config.arch !== undefined ? { arch: config.arch } : {}),
        ...(config.variant !== undefined ? { variant: config.variant } : {})
      }).pipe(
        Stream.tap((p) => (p.message ? event(p.message.trim(), { image: source.ref }) : Effect.void)),
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
        })
      )
      return yield* pullOnce(client, key, pull)
    })

  return { ensure }
})


export type ImageResolver = Effect.Success<typeof makeImageResolver>
