/**
 * The `Podman` service over the configured sockets: one client per socket, built lazily by the
 * transport its address names (`varlink:…` → io.podman over varlink, anything else → libpod REST),
 * and a new one when SetConfig changes a socket's address or timeout. Clients are kept in an
 * `RcMap` keyed by (name, address, timeout): concurrent first calls build ONE client, and every
 * client lives until this layer's scope closes.
 *
 * A socket whose transport this build does not include (an embedding that provides REST only)
 * still gets a client: every call on it fails with reason Unsupported, so StartTask reports it and
 * the fingerprint shows the socket unhealthy, instead of the plugin dying.
 */
import { Duration, Effect, Layer, RcMap, Scope, Stream } from "effect"
import { InvalidTaskConfig, PodmanError, Unsupported } from "../../src/domain/errors.ts"
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

/** The client of a socket whose transport is missing from this build: every call fails with Unsupported. */
export const unsupportedClient = (options: { readonly socketName: string; readonly address: string }, transport: string): PodmanClient => {
  const fail = (operation: string) =>
    new PodmanError({
      operation,
      socket: options.address,
      reason: new Unsupported({ transport, what: `socket ${options.socketName}: this build has no ${transport} transport` })
    })
  const effect = (operation: string) => () => Effect.fail(fail(operation))
  const stream = (operation: string) => () => Stream.fail(fail(operation))
  return {
    socketName: options.socketName,
    address: options.address,
    local: false,
    capabilities: { transport: transport === "varlink" ? "varlink" : "rest", exec: false, execStreaming: false, stats: false, logs: false, archiveLoad: false },
    ping: Effect.fail(fail("ping")),
    info: Effect.fail(fail("info")),
    imageExists: effect("imageExists"),
    imageInspect: effect("imageInspect"),
    imagePull: stream("imagePull"),
    imageLoad: effect("imageLoad"),
    imageRemove: effect("imageRemove"),
    imageTag: effect("imageTag"),
    imageList: effect("imageList"),
    containerCreate: effect("containerCreate"),
    containerStart: effect("containerStart"),
    containerWait: effect("containerWait"),
    containerInspect: effect("containerInspect"),
    containerExists: effect("containerExists"),
    containerList: effect("containerList"),
    containerHealthcheck: effect("containerHealthcheck"),
    containerStop: effect("containerStop"),
    containerKill: effect("containerKill"),
    containerRemove: effect("containerRemove"),
    containerLogs: stream("containerLogs"),
    containerStats: stream("containerStats"),
    exec: effect("exec"),
    events: stream("events")
  }
}

/** A `Podman` layer over the sockets of the current DriverConfig. */
export const layer = (transports: Transports): Layer.Layer<Podman, never, DriverConfig> =>
  Layer.effect(
    Podman,
    Effect.gen(function*() {
      const config = yield* DriverConfig

      // The key is the JSON of [name, address, timeout]: a string, so the RcMap compares it by value.
      const clients = yield* RcMap.make({
        lookup: (key: string) => {
          const [socketName, address, timeoutMillis] = JSON.parse(key) as [string, string, number]
          const isVarlink = address.startsWith("varlink:")
          const factory = isVarlink ? transports.varlink : transports.rest
          return factory === undefined
            ? Effect.succeed(unsupportedClient({ socketName, address }, isVarlink ? "varlink" : "rest"))
            : factory({ socketName, address, timeoutMillis })
        },
        // Clients stay until the layer closes (a SetConfig that changes a socket builds a new one).
        idleTimeToLive: Duration.infinity
      })

      const build = (s: SocketConfig, timeoutMillis: number): Effect.Effect<PodmanClient> =>
        // The reference taken here is released at once; with an infinite idle time the client stays.
        Effect.scoped(RcMap.get(clients, JSON.stringify([s.name, s.address, timeoutMillis])))

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

      const all = Effect.gen(function*() {
        const { sockets, timeoutMillis } = yield* current
        return yield* Effect.forEach(sockets, (s) => build(s, timeoutMillis))
      })

      return Podman.of({ client, clients: all })
    })
  )

/** A `Podman` layer over one fixed client (embedding, tests). */
export const layerClient = (client: PodmanClient): Layer.Layer<Podman> =>
  Layer.succeed(Podman, Podman.of({ client: () => Effect.succeed(client), clients: Effect.succeed([client]) }))
