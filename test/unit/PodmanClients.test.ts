/**
 * The per-socket client cache of layers/podman (an RcMap) with FAKE transports that count what
 * they build: concurrent first calls build one client, a changed socket builds a new one, every
 * client is closed with the layer, and a socket whose transport is missing answers with reason
 * Unsupported instead of killing the plugin.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import { Podman, type PodmanClient } from "../../src/services/Podman.ts"

/** A FAKE transport: builds a stub client (slowly, so concurrent first calls overlap) and counts builds and closes. */
const fakeTransport = (gate: Deferred.Deferred<void>) => {
  const built: Array<string> = []
  const closed: Array<string> = []
  const factory: PodmanLayers.ClientFactory = ({ socketName, address }) =>
    Effect.gen(function*() {
      built.push(`${socketName}=${address}`)
      yield* Deferred.await(gate)
      yield* Effect.addFinalizer(() => Effect.sync(() => closed.push(`${socketName}=${address}`)))
      return { ...PodmanLayers.unsupportedClient({ socketName, address }, "fake"), socketName, address } satisfies PodmanClient
    })
  return { factory, built, closed }
}

const config = (sockets: ReadonlyArray<{ name: string; socket_path: string }>) =>
  ConfigLayers.layerStatic({ ...defaultPluginConfig, socket: sockets })

describe("Podman layer: one client per socket (RcMap)", () => {
  it.live("two concurrent first calls build ONE client; clients close with the layer", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const fake = fakeTransport(gate)
      const scope = yield* Scope.make()
      const ctx = yield* Layer.buildWithScope(
        PodmanLayers.layer({ rest: fake.factory }).pipe(Layer.provide(config([{ name: "a", socket_path: "unix:///a.sock" }]))),
        scope
      )
      const podman = Context.get(ctx, Podman)
      const both = yield* Effect.forkChild(Effect.all([podman.client("a"), podman.client(), podman.clients], { concurrency: "unbounded" }))
      // the first build is under way (held at the gate); let the other two calls run into it
      yield* Effect.yieldNow.pipe(Effect.repeat({ until: () => fake.built.length > 0 }))
      yield* Effect.yieldNow.pipe(Effect.repeat({ times: 20 }))
      yield* Deferred.succeed(gate, undefined)
      const [x, y, [z]] = yield* Fiber.join(both)
      expect(x).toBe(y)
      expect(x).toBe(z)
      expect(fake.built).toEqual(["a=unix:///a.sock"])
      expect(fake.closed).toEqual([])
      yield* Scope.close(scope, Exit.void)
      expect(fake.closed).toEqual(["a=unix:///a.sock"])
    }))

  it.live("a changed socket address builds a new client (SetConfig)", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      const fake = fakeTransport(gate)
      const layer = PodmanLayers.layer({ rest: fake.factory }).pipe(Layer.provideMerge(config([{ name: "a", socket_path: "unix:///a.sock" }])))
      yield* Effect.gen(function*() {
        const podman = yield* Podman
        const first = yield* podman.client("a")
        expect(yield* podman.client("a")).toBe(first)
        const cfg = yield* DriverConfig
        yield* cfg.set({ ...defaultPluginConfig, socket: [{ name: "a", socket_path: "unix:///b.sock" }] })
        const second = yield* podman.client("a")
        expect(second).not.toBe(first)
        expect(second.address).toBe("unix:///b.sock")
        expect(fake.built).toEqual(["a=unix:///a.sock", "a=unix:///b.sock"])
        expect((yield* Effect.flip(podman.client("nope")))._tag).toBe("InvalidTaskConfig")
      }).pipe(Effect.provide(layer))
    }))

  it.live("a socket whose transport is missing gets a client that fails every call with reason Unsupported", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      const fake = fakeTransport(gate)
      const layer = PodmanLayers.layer({ rest: fake.factory }).pipe(
        Layer.provide(config([{ name: "default", socket_path: "unix:///a.sock" }, { name: "old", socket_path: "varlink:unix:/run/io.podman" }]))
      )
      yield* Effect.gen(function*() {
        const podman = yield* Podman
        const old = yield* podman.client("old")
        expect(old.local).toBe(false)
        const ping = yield* Effect.flip(old.ping)
        expect(ping).toMatchObject({ _tag: "PodmanError", operation: "ping", socket: "varlink:unix:/run/io.podman", reason: { _tag: "Unsupported", transport: "varlink" } })
        expect(ping.message).toContain("no varlink transport")
        expect((yield* Effect.flip(old.containerStart("x"))).reason._tag).toBe("Unsupported")
        expect((yield* Effect.flip(Stream.runDrain(old.containerLogs("x", { follow: true, stdout: true, stderr: true })))).reason._tag).toBe("Unsupported")
        expect((yield* podman.clients).map((c) => c.socketName)).toEqual(["default", "old"])
        expect(fake.built).toEqual(["default=unix:///a.sock"])
      }).pipe(Effect.provide(layer))
    }))
})
