/**
 * One Podman stats stream for many tasks. Nomad opens a TaskStats stream per task (at the client's
 * collection interval); instead of one libpod stream per task, the hub keeps one batched
 * `containerStats([all subscribed ids])` stream per socket and interval, and fans the samples out.
 *
 * When the set of subscribed containers changes, the batched stream is restarted with the new set.
 * A stream that fails or ends (a container removed mid-stream, Podman restarted) is reopened after a
 * second. The hub's fibers live in the driver layer's scope.
 */
import { Cause, Effect, Fiber, PubSub, Semaphore, Stream } from "effect"
import type { ContainerStats, PodmanClient } from "../services/Podman.ts"

interface Group {
  readonly key: string
  readonly client: PodmanClient
  readonly intervalSeconds: number
  /** container id → number of subscribers */
  readonly ids: Map<string, number>
  readonly pubsub: PubSub.PubSub<ReadonlyArray<ContainerStats>>
  fiber: Fiber.Fiber<unknown> | undefined
}

const REOPEN_DELAY_MILLIS = 1_000
const COALESCE_MILLIS = 100

export const makeStatsHub = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const lock = yield* Semaphore.make(1)
  const groups = new Map<string, Group>()
  const keys = new WeakMap<PodmanClient, number>()
  let nextKey = 0
  const clientKey = (c: PodmanClient) => {
    let k = keys.get(c)
    if (k === undefined) keys.set(c, (k = nextKey++))
    return k
  }

  /** Replaces the group's batched stream by one over its current container set (or ends the group). */
  const restart = (g: Group) =>
    Effect.gen(function*() {
      if (g.fiber) {
        yield* Fiber.interrupt(g.fiber)
        g.fiber = undefined
      }
      if (g.ids.size === 0) {
        groups.delete(g.key)
        yield* PubSub.shutdown(g.pubsub)
        return
      }
      // Opened a moment later with the set as it is then: when many tasks subscribe at once (an
      // agent restart recovers them all), their restarts coalesce into one Podman stream.
      g.fiber = yield* Effect.sleep(COALESCE_MILLIS).pipe(
        Effect.andThen(Stream.runForEach(
          Stream.suspend(() => g.client.containerStats([...g.ids.keys()], { intervalSeconds: g.intervalSeconds })),
          (batch) => PubSub.publish(g.pubsub, batch)
        )),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logDebug("stats stream ended; reopening", Cause.pretty(cause))
        ),
        Effect.andThen(Effect.sleep(REOPEN_DELAY_MILLIS)),
        Effect.forever,
        Effect.forkIn(scope)
      )
    })

  /** Samples of one container, from the shared stream of its socket and interval. */
  const subscribe = (client: PodmanClient, containerId: string, intervalSeconds: number): Stream.Stream<ContainerStats> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const key = `${clientKey(client)}|${intervalSeconds}`
        const { group, subscription } = yield* lock.withPermits(1)(
          Effect.gen(function*() {
            let g = groups.get(key)
            if (!g) {
              g = { key, client, intervalSeconds, ids: new Map(), pubsub: yield* PubSub.sliding<ReadonlyArray<ContainerStats>>(16), fiber: undefined }
              groups.set(key, g)
            }
            const subscription = yield* PubSub.subscribe(g.pubsub)
            const before = g.ids.get(containerId) ?? 0
            g.ids.set(containerId, before + 1)
            if (before === 0) yield* restart(g)
            return { group: g, subscription }
          })
        )
        yield* Effect.addFinalizer(() =>
          lock.withPermits(1)(
            Effect.suspend(() => {
              const n = (group.ids.get(containerId) ?? 1) - 1
              if (n > 0) {
                group.ids.set(containerId, n)
                return Effect.void
              }
              group.ids.delete(containerId)
              return restart(group)
            })
          )
        )
        return Stream.fromSubscription(subscription).pipe(
          Stream.map((batch) => batch.find((s) => s.containerId === containerId || containerId.startsWith(s.containerId))),
          Stream.filter((s): s is ContainerStats => s !== undefined)
        )
      })
    )

  /** How many batched Podman streams are open (for tests and `doctor`). */
  const openStreams = Effect.sync(() => [...groups.values()].filter((g) => g.fiber !== undefined).length)

  return { subscribe, openStreams }
})

export type StatsHub = Effect.Success<typeof makeStatsHub>
