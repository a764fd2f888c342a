/**
 * Image garbage collection (`gc { image, image_delay }`, the docker driver's semantics): an image
 * the driver pulled or loaded is removed `image_delay` after the last task using it is destroyed.
 *
 * - "Brought by the driver" is recorded ON the image, so it survives a plugin restart: the driver
 *   adds the name `localhost/nomad-driver-podman-gc:<image id>` (the marker) to an image it pulled
 *   or loaded that had no other name. An image without the marker is never removed: one that was
 *   there before (under any other name), one the operator tagged, one pulled by hand.
 * - Tasks are counted per socket and image id: StartTask and RecoverTask acquire, DestroyTask
 *   releases. When a count drops to zero a timer starts; a task of the image starting again stops it.
 * - After a restart the counts are rebuilt by RecoverTask; every marked image found at start-up gets
 *   a timer too, which a recovered task of it stops. So an image whose last task went away shortly
 *   before the restart is still removed.
 * - The removal: drop the marker name, then remove the image by id without force. Podman refuses
 *   when a container (anyone's) uses the image or another name points at it: that is "in use
 *   elsewhere", not an error; the marker is put back so a later attempt may succeed.
 *
 * Timers run in the driver layer's scope and read the time from `Clock` (tested with TestClock).
 */
import { Duration, Effect, FiberMap, Schedule, Stream } from "effect"
import { DriverConfig } from "../services/DriverConfig.ts"
import { Podman, type PodmanClient } from "../services/Podman.ts"

/** The repository of the marker names. */
export const GC_MARKER_REPO = "localhost/nomad-driver-podman-gc"

/** The marker name of an image id (`sha256:` stripped: a tag cannot hold a colon). */
export const markerTag = (imageId: string): string => imageId.replace(/^sha256:/, "")
export const markerName = (imageId: string): string => `${GC_MARKER_REPO}:${markerTag(imageId)}`

/** A snapshot that could not be taken: whatever a load brings is treated as having been there. */
const UNKNOWN = "*"

/** How long a failed start-up scan (Podman not answering yet) waits before it looks again. */
const SCAN_RETRY = Duration.seconds(10)

export interface ImageGc {
  /**
   * The driver has just pulled or loaded `image` (a name or id): marks it as the driver's when no
   * other name points at it and it was not there before (`existedBefore`: the id the reference had,
   * or the ids of every image before a load). Never fails (a failure only means the image is kept).
   */
  readonly brought: (client: PodmanClient, image: string, existedBefore: string | ReadonlySet<string> | undefined) => Effect.Effect<void>
  /** The ids of every image now (before a load); empty when GC is off or Podman cannot say. */
  readonly snapshot: (client: PodmanClient) => Effect.Effect<ReadonlySet<string>>
  /** A task of `imageId` started or was recovered. */
  readonly acquire: (taskId: string, client: PodmanClient, imageId: string) => Effect.Effect<void>
  /** The task was destroyed: the image's count drops, and at zero its removal is scheduled. */
  readonly release: (taskId: string) => Effect.Effect<void>
}

/** Needs the driver layer's Scope (the timers and the start-up scan live in it). */
export const makeImageGc = Effect.gen(function*() {
  const podman = yield* Podman
  const driverConfig = yield* DriverConfig
  const timers = yield* FiberMap.make<string, void>()
  const counts = new Map<string, number>()
  const tasks = new Map<string, { readonly key: string; readonly client: PodmanClient; readonly imageId: string }>()
  const keyOf = (client: PodmanClient, imageId: string) => `${client.socketName}|${imageId}`

  /** Removes a marked image; "in use elsewhere" keeps it (and its marker). */
  const removeImage = (client: PodmanClient, imageId: string) =>
    Effect.gen(function*() {
      if (!(yield* driverConfig.get).gc.image) return
      if ((counts.get(keyOf(client, imageId)) ?? 0) > 0) return
      const info = yield* client.imageInspect(imageId)
      const marker = markerName(imageId)
      if (!info.repoTags.includes(marker)) return
      yield* client.imageRemove(marker)
      if (info.repoTags.length === 1) {
        yield* Effect.logInfo(`removed image ${imageId.slice(0, 12)} (pulled by the driver, unused for ${Duration.format((yield* driverConfig.get).gc.image_delay)})`)
        return
      }
      yield* client.imageRemove(imageId).pipe(
        Effect.tap(() => Effect.logInfo(`removed image ${imageId.slice(0, 12)} (${info.repoTags.filter((n) => n !== marker).join(", ")}), pulled by the driver and unused`)),
        Effect.catchReason("PodmanError", "Conflict", () =>
          Effect.logDebug(`image ${imageId.slice(0, 12)} is in use or named elsewhere; kept`).pipe(
            Effect.andThen(client.imageTag(imageId, GC_MARKER_REPO, markerTag(imageId)))
          ))
      )
    }).pipe(
      // the image, or the marker alone, is gone already: nothing left to do
      Effect.catchReason("PodmanError", "NotFound", () => Effect.void),
      Effect.catchReason("PodmanError", "Conflict", () => Effect.logDebug(`image ${imageId.slice(0, 12)} is in use elsewhere; kept`)),
      Effect.catch((e) => Effect.logWarning(`removing unused image ${imageId.slice(0, 12)} failed: ${e.message}`))
    )

  const schedule = (client: PodmanClient, imageId: string) =>
    Effect.gen(function*() {
      const delay = (yield* driverConfig.get).gc.image_delay
      yield* FiberMap.run(timers, keyOf(client, imageId), Effect.sleep(delay).pipe(Effect.andThen(removeImage(client, imageId))))
    })

  const brought = (client: PodmanClient, image: string, existedBefore: string | ReadonlySet<string> | undefined): Effect.Effect<void> =>
    Effect.gen(function*() {
      if (!(yield* driverConfig.get).gc.image) return
      const info = yield* client.imageInspect(image)
      // it was there before the pull or load (force_pull of the same image, an archive of a present one): not the driver's
      const before = typeof existedBefore === "string" ? new Set([existedBefore]) : existedBefore ?? new Set<string>()
      if (before.has(info.id) || before.has(UNKNOWN)) return
      const others = info.repoTags.filter((n) => !n.startsWith(`${GC_MARKER_REPO}:`))
      // another name points at it: it existed before under that name, or someone else wants it
      if (others.length > 1 || info.repoTags.includes(markerName(info.id))) return
      yield* client.imageTag(info.id, GC_MARKER_REPO, markerTag(info.id))
    }).pipe(Effect.catch((e) => Effect.logWarning(`marking image ${image} for garbage collection failed (it will be kept): ${e.message}`)))

  const snapshot = (client: PodmanClient): Effect.Effect<ReadonlySet<string>> =>
    Effect.gen(function*() {
      if (!(yield* driverConfig.get).gc.image) return new Set<string>()
      const all = yield* client.imageList()
      return new Set(all.map((i) => i.id))
    }).pipe(
      // unknown: the load is treated as bringing nothing (kept rather than removed wrongly)
      Effect.catch(() => Effect.succeed(new Set<string>([UNKNOWN])))
    )

  const acquire = (taskId: string, client: PodmanClient, imageId: string) =>
    Effect.suspend(() => {
      if (imageId === "" || tasks.has(taskId)) return Effect.void
      const key = keyOf(client, imageId)
      tasks.set(taskId, { key, client, imageId })
      counts.set(key, (counts.get(key) ?? 0) + 1)
      return FiberMap.remove(timers, key)
    })

  const release = (taskId: string) =>
    Effect.suspend(() => {
      const t = tasks.get(taskId)
      if (t === undefined) return Effect.void
      tasks.delete(taskId)
      const left = (counts.get(t.key) ?? 1) - 1
      if (left > 0) {
        counts.set(t.key, left)
        return Effect.void
      }
      counts.delete(t.key)
      return schedule(t.client, t.imageId)
    })

  // Start-up (and every plugin config, which may name other sockets): every marked image gets a
  // timer; a recovered task of it stops the timer again.
  const scan = Effect.gen(function*() {
    for (const client of yield* podman.clients) {
      const marked = yield* client.imageList(GC_MARKER_REPO).pipe(
        // a transport without image listing (varlink) has nothing the driver could remove either
        Effect.catchReason("PodmanError", "Unsupported", () => Effect.succeed([]))
      )
      for (const image of marked) {
        if ((counts.get(keyOf(client, image.id)) ?? 0) === 0) yield* schedule(client, image.id)
      }
    }
  }).pipe(
    Effect.retry({ schedule: Schedule.spaced(SCAN_RETRY), while: (e) => e.reason.isRetryable }),
    Effect.catch((e) => Effect.logWarning(`looking for images to garbage-collect failed: ${e.message}`))
  )
  yield* Effect.forkScoped(driverConfig.changes.pipe(
    Stream.filter((c) => c.gc.image),
    Stream.switchMap(() => Stream.fromEffect(scan)),
    Stream.runDrain
  ))

  return { brought, snapshot, acquire, release } satisfies ImageGc
})
