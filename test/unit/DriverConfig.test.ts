/**
 * DriverConfig layers (layers/config): defaults, SetConfig replacement, the `changes` stream,
 * the static layer for embedding and decoding untrusted input.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Stream } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"

const withGc = (base: PluginConfig, container: boolean): PluginConfig => ({ ...base, gc: { ...base.gc, container } })

describe("DriverConfig.layer", () => {
  it.effect("starts from defaultPluginConfig", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      expect(yield* cfg.get).toEqual(defaultPluginConfig)
    }).pipe(Effect.provide(ConfigLayers.layer)))

  it.effect("set replaces the value seen by get", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      const next = withGc(defaultPluginConfig, false)
      yield* cfg.set(next)
      expect(yield* cfg.get).toEqual(next)
      expect((yield* cfg.get).gc.container).toBe(false)
    }).pipe(Effect.provide(ConfigLayers.layer)))

  it.effect("changes emits the current value, then every set, in order", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      const first = withGc(defaultPluginConfig, false)
      yield* cfg.set(first) // before subscribing: the subscriber must still see it as "current"
      const subscribed = yield* Deferred.make<void>()
      const fiber = yield* cfg.changes.pipe(
        Stream.tap(() => Deferred.succeed(subscribed, undefined)),
        Stream.take(3),
        Stream.runCollect,
        Effect.forkChild
      )
      yield* Deferred.await(subscribed)
      const second = { ...first, recover_stopped: true }
      const third = { ...second, extra_labels: ["job_name"] }
      yield* cfg.set(second)
      yield* cfg.set(third)
      const seen = yield* Fiber.join(fiber)
      expect(seen).toEqual([first, second, third])
    }).pipe(Effect.provide(ConfigLayers.layer)))

  it.effect("two subscribers each get the whole sequence", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      const ready = yield* Deferred.make<void>()
      const ready2 = yield* Deferred.make<void>()
      const a = yield* cfg.changes.pipe(Stream.tap(() => Deferred.succeed(ready, undefined)), Stream.take(2), Stream.runCollect, Effect.forkChild)
      const b = yield* cfg.changes.pipe(Stream.tap(() => Deferred.succeed(ready2, undefined)), Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* Deferred.await(ready)
      yield* Deferred.await(ready2)
      const next = withGc(defaultPluginConfig, false)
      yield* cfg.set(next)
      expect(yield* Fiber.join(a)).toEqual([defaultPluginConfig, next])
      expect(yield* Fiber.join(b)).toEqual([defaultPluginConfig, next])
    }).pipe(Effect.provide(ConfigLayers.layer)))

  it.effect("each layer build has its own state", () =>
    Effect.gen(function*() {
      const changed = withGc(defaultPluginConfig, false)
      yield* DriverConfig.use((c) => c.set(changed)).pipe(Effect.provide(ConfigLayers.layer))
      const fresh = yield* DriverConfig.use((c) => c.get).pipe(Effect.provide(ConfigLayers.layer))
      expect(fresh).toEqual(defaultPluginConfig)
    }))
})

describe("DriverConfig.layerStatic", () => {
  it.effect("serves the given config and set still works in memory", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      expect((yield* cfg.get).socket_path).toBe("unix:///tmp/embedded.sock")
      const next = { ...(yield* cfg.get), recover_stopped: true }
      yield* cfg.set(next)
      expect(yield* cfg.get).toEqual(next)
      const now = yield* cfg.changes.pipe(Stream.take(1), Stream.runCollect)
      expect(now).toEqual([next])
    }).pipe(Effect.provide(ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: "unix:///tmp/embedded.sock" }))))
})

describe("DriverConfig.layerFromInput", () => {
  it.effect("decodes input and applies defaults", () =>
    Effect.gen(function*() {
      const cfg = yield* DriverConfig
      const value = yield* cfg.get
      expect(value.socket_path).toBe("unix:///run/podman/podman.sock")
      expect(value.gc.container).toBe(defaultPluginConfig.gc.container)
    }).pipe(Effect.provide(ConfigLayers.layerFromInput({ socket_path: "unix:///run/podman/podman.sock" }))))

  it.effect("fails with InvalidPluginConfig on input that does not decode", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(ConfigLayers.layerFromInput({ gc: { container: "maybe" } })).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const err = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(err && "error" in err ? (err.error as { _tag: string })._tag : undefined).toBe("InvalidPluginConfig")
      }
    }))
})
