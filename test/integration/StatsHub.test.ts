/** One batched Podman stats stream serves the stats of many tasks. */
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Stream } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { driverLayer } from "../../layers/stacks.ts"
import { makeStatsHub } from "../../src/driver/statsHub.ts"
import { Driver } from "../../src/services/Driver.ts"
import { Podman } from "../../src/services/Podman.ts"

const testLayer = driverLayer.pipe(
  Layer.provideMerge(Layer.mergeAll(ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: process.env.PODMAN_SOCKET! }), LogSinks.layerMemory))
)

// real Podman, real time
layer(testLayer, { excludeTestServices: true })("stats hub", (it) => {
  it.effect("two subscribers share one batched stream; it closes when the last one leaves", () =>
    Effect.gen(function*() {
      const driver = yield* Driver
      const client = yield* (yield* Podman).client()
      const hub = yield* makeStatsHub
      const a = makeNomadTask({ name: "hub-a" })
      const b = makeNomadTask({ name: "hub-b" })
      const spec = yield* decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true })
      const sa = yield* driver.startTask(a, spec)
      yield* Effect.addFinalizer(() => Effect.ignore(driver.destroyTask(a.id, true)))
      const sb = yield* driver.startTask(b, spec)
      yield* Effect.addFinalizer(() => Effect.ignore(driver.destroyTask(b.id, true)))
      // Each subscriber signals its first sample; both are then subscribed (each waits for a second
      // sample, an interval later), so the hub must serve them from one stream.
      const subscribe = (containerId: string) =>
        Effect.gen(function*() {
          const first = yield* Deferred.make<void>()
          const fiber = yield* hub.subscribe(client, containerId, 1).pipe(
            Stream.tap(() => Deferred.succeed(first, undefined)),
            Stream.take(2),
            Stream.runCollect,
            Effect.forkChild
          )
          return { first, fiber }
        })
      const subA = yield* subscribe(sa.state.containerId)
      const subB = yield* subscribe(sb.state.containerId)
      yield* Deferred.await(subA.first)
      yield* Deferred.await(subB.first)
      expect(yield* hub.openStreams).toBe(1)
      const [ra, rb] = [yield* Fiber.join(subA.fiber), yield* Fiber.join(subB.fiber)]
      expect(ra.every((s) => sa.state.containerId.startsWith(s.containerId))).toBe(true)
      expect(rb.every((s) => sb.state.containerId.startsWith(s.containerId))).toBe(true)
      expect(ra[1]!.memUsage).toBeGreaterThan(0)
      expect(yield* hub.openStreams).toBe(0)
    }), 60_000)
})
