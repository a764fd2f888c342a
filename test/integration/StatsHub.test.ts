/** One batched Podman stats stream serves the stats of many tasks. */
import { Effect, Fiber, Layer, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { driverLayer } from "../../src/driver/layers.ts"
import { makeStatsHub } from "../../src/driver/statsHub.ts"
import { Driver } from "../../src/services/Driver.ts"
import { Podman } from "../../src/services/Podman.ts"

const layer = driverLayer.pipe(
  Layer.provideMerge(Layer.mergeAll(ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: process.env.PODMAN_SOCKET! }), LogSinks.layerMemory))
)

describe("stats hub", () => {
  it("two subscribers share one batched stream; it closes when the last one leaves", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const driver = yield* Driver
          const client = yield* (yield* Podman).client()
          const hub = yield* makeStatsHub
          const a = makeNomadTask({ name: "hub-a" })
          const b = makeNomadTask({ name: "hub-b" })
          const spec = yield* decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true })
          const sa = yield* driver.startTask(a, spec)
          const sb = yield* driver.startTask(b, spec)
          try {
            const fa = yield* hub.subscribe(client, sa.state.containerId, 1).pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
            const fb = yield* hub.subscribe(client, sb.state.containerId, 1).pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
            yield* Effect.sleep(300)
            expect(yield* hub.openStreams).toBe(1)
            const [ra, rb] = [yield* Fiber.join(fa), yield* Fiber.join(fb)]
            expect(ra.every((s) => sa.state.containerId.startsWith(s.containerId))).toBe(true)
            expect(rb.every((s) => sb.state.containerId.startsWith(s.containerId))).toBe(true)
            expect(ra[1]!.memUsage).toBeGreaterThan(0)
            expect(yield* hub.openStreams).toBe(0)
          } finally {
            yield* driver.destroyTask(a.id, true)
            yield* driver.destroyTask(b.id, true)
          }
        })
      ).pipe(Effect.provide(layer))
    )
  }, 60_000)
})
