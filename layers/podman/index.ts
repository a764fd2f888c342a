/**
 * The `Podman` service over the configured sockets: one client per socket, built lazily by the
 * transport its address names (`varlink:…` → io.podman over varlink, anything else → libpod REST),
 * and rebuilt when SetConfig changes the socket list. Clients live in this layer's scope.
 */
import { Duration, Effect, Layer, Scope } from "effect"
import { InvalidTaskConfig } from "../../src/domain/errors.ts"
import { resolveSockets, type SocketConfig } from "../../src/domain/PluginConfig.ts"
import { DriverConfig } from "../../src/services/DriverConfig.ts"
import { Podman, type PodmanClient } from "../../src/services/Podman.ts"

/** Builds a client for one socket; the client's resources live in the given Scope. */
export type ClientFactory = (options: {
  readonly socketName: string
  readonly address: string
  readonly timeoutMillis: number
}) => Effect.Effect<PodmanClient, never, Scope.Scope>

export interface Transports {
  readonly rest: ClientFactory
  readonly varlink?: ClientFactory
}

/** A `Podman` layer over the sockets of the current DriverConfig. */
export const layer = (transports: Transports): Layer.Layer<Podman, never, DriverConfig> =>
  Layer.effect(
    Podman,
    Effect.gen(function*() {
      const config = yield* DriverConfig
      const scope = yield* Effect.scope
      const cache = new Map<string, PodmanClient>()

      const build = (s: SocketConfig, timeoutMillis: number): Effect.Effect<PodmanClient> => {
        const key = `${s.name}|${s.address}|${timeoutMillis}`
        const hit = cache.get(key)
        if (hit) return Effect.succeed(hit)
        const isVarlink = s.address.startsWith("varlink:")
        const factory = isVarlink ? transports.varlink : transports.rest
        if (!factory) return Effect.die(new Error(`no varlink transport in this build for socket ${s.name}`))
        return factory({ socketName: s.name, address: s.address, timeoutMillis }).pipe(
          Scope.provide(scope),
          Effect.tap((c) => Effect.sync(() => cache.set(key, c)))
        )
      }

      const current = Effect.gen(function*() {
        const plugin = yield* config.get
        const timeoutMillis = Duration.toMillis(plugin.client_http_timeout)
        return { sockets: resolveSockets(plugin), timeoutMillis }
      })

      const client = (socketName?: string) =>
        Effect.gen(function*() {
          const { sockets, timeoutMillis } = yield* current
          const wanted = socketName === undefined || socketName === "" ? "default" : socketName
          const s = wanted === "default" ? sockets[0] : sockets.find((x) => x.name === wanted)
          if (!s) {
            return yield* new InvalidTaskConfig({
              issues: [{
                field: "socket",
                reason: `no Podman socket named ${JSON.stringify(wanted)} is configured (known: ${sockets.map((x) => x.name).join(", ")})`
              }]
            })
          }
          return yield* build(s, timeoutMillis)
        })

      const clients = Effect.gen(function*() {
        const { sockets, timeoutMillis } = yield* current
        return yield* Effect.forEach(sockets, (s) => build(s, timeoutMillis))
      })

      return Podman.of({ client, clients })
    })
  )

/** A `Podman` layer over one fixed client (embedding, tests). */
export const layerClient = (client: PodmanClient): Layer.Layer<Podman> =>
  Layer.succeed(Podman, Podman.of({ client: () => Effect.succeed(client), clients: Effect.succeed([client]) }))
