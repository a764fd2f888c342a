/**
 * Fingerprinting: health and `driver.podman.*` node attributes for every configured socket.
 * The default socket's attributes go under `driver.podman.`, the others under
 * `driver.podman.<sanitised name>.` (the Go driver's naming, so constraints keep working).
 */
import { Clock, Duration, Effect, Schedule, Stream } from "effect"
import type { Fingerprint } from "../domain/results.ts"
import type { PodmanError } from "../domain/errors.ts"
import { Podman, type PodmanClient, type PodmanInfo } from "../services/Podman.ts"
import type { PodmanFacts } from "./podmanFacts.ts"

/** The longest time between two fingerprints. */
export const FINGERPRINT_PERIOD = Duration.seconds(30)
/** How often socket health is checked (a change is reported at once). */
export const FINGERPRINT_CHECK = Duration.seconds(5)
/** A ping that takes longer than this counts as a dead socket. */
const PING_TIMEOUT = Duration.seconds(5)

const sanitise = (name: string) => name.replace(/[^A-Za-z0-9]/g, "_")

/**
 * One fingerprint of all clients (the first is the default). Never fails: errors become health.
 * `info` gives a client's host facts (the driver's shared, cached ones; by default asked anew).
 */
export const fingerprintOnce = (
  clients: ReadonlyArray<PodmanClient>,
  infoOf: (client: PodmanClient) => Effect.Effect<PodmanInfo, PodmanError> = (client) => client.info
): Effect.Effect<Fingerprint> =>
  Effect.gen(function*() {
    const attributes: Record<string, string | number | boolean> = {}
    const failed: Array<string> = []
    let ok = 0
    for (const [i, client] of clients.entries()) {
      const prefix = i === 0 ? "driver.podman." : `driver.podman.${sanitise(client.socketName)}.`
      const result = yield* Effect.all([client.ping, infoOf(client)]).pipe(Effect.timeout(10_000), Effect.result)
      attributes[`${prefix}socketName`] = client.socketName
      attributes[`${prefix}defaultPodman`] = i === 0
      attributes[`${prefix}transport`] = client.capabilities.transport
      if (result._tag === "Failure") {
        failed.push(client.socketName)
        attributes[`${prefix}health`] = "unhealthy"
        yield* Effect.logWarning(`podman socket ${client.socketName} (${client.address}) is not responding`)
        continue
      }
      ok++
      const [, info] = result.success
      attributes[`${prefix}health`] = "healthy"
      attributes[`${prefix}version`] = info.version
      attributes[`${prefix}apiVersion`] = info.apiVersion
      attributes[`${prefix}rootless`] = info.rootless
      attributes[`${prefix}cgroupVersion`] = info.cgroupVersion
      attributes[`${prefix}cgroupManager`] = info.cgroupManager
      attributes[`${prefix}appArmor`] = info.appArmorEnabled
      attributes[`${prefix}selinuxEnabled`] = info.selinuxEnabled
      attributes[`${prefix}seccompEnabled`] = info.seccompEnabled
      attributes[`${prefix}capabilities`] = info.capabilities
      attributes[`${prefix}ociRuntime`] = info.ociRuntimePath || info.ociRuntime
      attributes[`${prefix}socket`] = info.socketPath || client.address
    }
    if (ok > 0) attributes["driver.podman"] = true
    if (clients.length > 0 && ok === clients.length) {
      return { health: "healthy", healthDescription: "All Podman sockets are responding.", attributes }
    }
    if (ok === 0) {
      return { health: "undetected", healthDescription: "Cannot connect to any Podman socket.", attributes }
    }
    return {
      health: "unhealthy",
      healthDescription: `Podman sockets not responding: ${failed.sort().join(", ")}`,
      attributes
    }
  })

/**
 * The Fingerprint stream: one fingerprint at once; then every FINGERPRINT_CHECK a cheap check (a
 * ping of every socket, and the socket list): a full fingerprint when that changes, and at least
 * every FINGERPRINT_PERIOD. Never ends. With `facts`, host facts come from the driver's shared
 * cache (podmanFacts.ts), forgotten when a socket's health changes (a restarted Podman may differ).
 */
export const fingerprintStreamWith = (facts?: PodmanFacts): Effect.Effect<Stream.Stream<Fingerprint>, never, Podman> => Effect.gen(function*() {
  const podman = yield* Podman
  return Stream.suspend(() => {
    let lastKey = ""
    let lastAt = Number.NEGATIVE_INFINITY
    const check = Effect.gen(function*() {
      const clients = yield* podman.clients
      const alive = yield* Effect.forEach(clients, (c) =>
        c.ping.pipe(Effect.timeout(PING_TIMEOUT), Effect.as(true), Effect.orElseSucceed(() => false)), { concurrency: "unbounded" })
      const key = clients.map((c, i) => `${c.socketName}=${c.address}:${alive[i]}`).join(",")
      const now = yield* Clock.currentTimeMillis
      if (key === lastKey && now - lastAt < Duration.toMillis(FINGERPRINT_PERIOD)) return undefined
      if (key !== lastKey && facts !== undefined) yield* facts.invalidate
      lastKey = key
      lastAt = now
      return yield* fingerprintOnce(clients, facts?.get)
    })
    return Stream.concat(Stream.succeed(undefined), Stream.fromSchedule(Schedule.spaced(FINGERPRINT_CHECK))).pipe(
      Stream.mapEffect(() => check),
      Stream.filter((fp): fp is Fingerprint => fp !== undefined)
    )
  })
})

/** The Fingerprint stream asking every socket's facts anew (see fingerprintStreamWith). */
export const fingerprintStream = fingerprintStreamWith()
