/**
 * Making sure a task's image is present: archives are loaded, registry images are looked up locally
 * and pulled when missing (or when `force_pull` / a platform override asks for it). Concurrent
 * pulls of the same reference share one pull. Progress is published as task events.
 */
import { Deferred, Duration, Effect, Stream } from "effect"
import { ImagePullError, type PodmanError } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { PodmanClient } from "../services/Podman.ts"
import { formatGoDuration } from "../domain/values/durations.ts"
import { resolveAuth } from "./auth.ts"

export type ImageEvent = (message: string, annotations?: Record<string, string>) => Effect.Effect<void>

/** A de-duplicating image resolver for one driver instance. */
export const makeImageResolver = Effect.sync(() => {
  const inflight = new Map<string, Deferred.Deferred<string, ImagePullError | PodmanError>>()

  const pullOnce = (
    client: PodmanClient,
    key: string,
    pull: Effect.Effect<string, ImagePullError | PodmanError>
  ): Effect.Effect<string, ImagePullError | PodmanError> =>
    Effect.suspend(() => {
      const existing = inflight.get(key)
      if (existing) return Deferred.await(existing)
      return Effect.gen(function*() {
        const d = yield* Deferred.make<string, ImagePullError | PodmanError>()
        inflight.set(key, d)
        const exit = yield* Effect.exit(pull)
        inflight.delete(key)
        yield* Deferred.done(d, exit)
        return yield* exit
      }).pipe(Effect.uninterruptible)
    }).pipe(Effect.annotateLogs({ socket: client.socketName }))

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
      const auth = yield* resolveAuth(source.ref, source.registry, config, plugin)
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

