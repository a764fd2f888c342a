/**
 * A pooled varlink client. Varlink serves one call per connection at a time, so concurrent calls use
 * a small pool of connections (effect's `Pool`, default 4). A connection that is left out of sync
 * (timeout, interrupt, a transport error) is invalidated instead of being returned. Every call runs
 * in a span (`Varlink.call`, `Varlink.callMore`, ...) named after the method.
 *
 * Long-lived calls must not starve the pool (a driver follows the log of every task and waits for
 * every container): `more` streams, `upgrade`s and calls made with `dedicated: true` (e.g. a wait
 * that blocks until a container exits) run on a connection of their own, opened for the call and
 * closed when it ends.
 *
 * Calls to an interface whose description the client knows (`interfaces` option, or `describe`
 * results when `validateWithService` is set) are checked before they are sent: an unknown method or
 * a wrong parameter fails locally with the `org.varlink.service.MethodNotFound` /
 * `InvalidParameter` error the service would have sent.
 */
import { Effect, Option, Pool, Scope, Stream } from "effect"
import { VarlinkError, type VarlinkFailure, VarlinkTransportError } from "./VarlinkErrors.ts"
import {
  VarlinkConnection,
  type VarlinkCallOptions,
  type VarlinkMoreOptions,
  type VarlinkParameters,
  type VarlinkUpgraded
} from "./VarlinkConnection.ts"
import { checkValue, parseVarlinkInterface, VarlinkIdlParseError, type VarlinkInterface } from "./VarlinkIdl.ts"

export interface VarlinkClientOptions {
  readonly address: string
  /** Default deadline of every call (connect, and the (first) reply). */
  readonly timeoutMillis: number
  /** Connections kept open at most (default 4). */
  readonly poolSize?: number
  /** Known interface descriptions; calls into them are validated before sending. */
  readonly interfaces?: ReadonlyArray<VarlinkInterface>
}

/** `org.varlink.service.GetInfo`. */
export interface VarlinkServiceInfo {
  readonly vendor: string
  readonly product: string
  readonly version: string
  readonly url: string
  readonly interfaces: ReadonlyArray<string>
}

export type { VarlinkFailure }

export interface VarlinkClientCallOptions extends VarlinkCallOptions {
  /** Run the call on a connection of its own instead of a pooled one (for calls that block long). */
  readonly dedicated?: boolean
}

export interface VarlinkClient {
  readonly address: string
  readonly call: (method: string, parameters?: VarlinkParameters, options?: VarlinkClientCallOptions) => Effect.Effect<VarlinkParameters, VarlinkFailure>
  /** A `more` call, on a connection of its own that is closed when the stream ends. */
  readonly callMore: (method: string, parameters?: VarlinkParameters, options?: VarlinkMoreOptions) => Stream.Stream<VarlinkParameters, VarlinkFailure>
  readonly oneway: (method: string, parameters?: VarlinkParameters) => Effect.Effect<void, VarlinkFailure>
  /** Opens a dedicated connection and upgrades it; it is closed with the Scope. */
  readonly upgrade: (method: string, parameters?: VarlinkParameters, options?: VarlinkCallOptions) => Effect.Effect<VarlinkUpgraded, VarlinkFailure, Scope.Scope>
  readonly getInfo: Effect.Effect<VarlinkServiceInfo, VarlinkFailure>
  readonly getInterfaceDescription: (name: string) => Effect.Effect<string, VarlinkFailure>
  /** Fetches and parses an interface description. A description that does not parse is a `protocol` transport error. */
  readonly describe: (name: string) => Effect.Effect<VarlinkInterface, VarlinkFailure>
  /** Adds descriptions to validate calls against. */
  readonly addInterfaces: (interfaces: ReadonlyArray<VarlinkInterface>) => Effect.Effect<void>
}

const str = (u: unknown) => (typeof u === "string" ? u : "")

/** Splits `a.b.c.Method` into interface and method name. */
export const splitMethod = (method: string): readonly [string, string] | undefined => {
  const dot = method.lastIndexOf(".")
  return dot <= 0 || dot === method.length - 1 ? undefined : [method.slice(0, dot), method.slice(dot + 1)]
}

/**
 * Validates a call against a known interface description. Returns the error the service would have
 * replied with, or undefined when the call is well-formed (or the interface is unknown).
 */
export const validateCall = (
  interfaces: ReadonlyMap<string, VarlinkInterface>,
  method: string,
  parameters: VarlinkParameters
): VarlinkError | undefined => {
  const parts = splitMethod(method)
  if (parts === undefined) return new VarlinkError({ error: "org.varlink.service.InvalidParameter", method, parameters: { parameter: "method" } })
  const iface = interfaces.get(parts[0])
  if (iface === undefined) return undefined
  const m = iface.methods.get(parts[1])
  if (m === undefined) return new VarlinkError({ error: "org.varlink.service.MethodNotFound", method, parameters: { method: parts[1] } })
  const issues = checkValue(iface, m.input, parameters, "")
  if (issues.length === 0) return undefined
  const first = issues[0]!
  const parameter = first.path.replace(/^\./, "").split(/[.[]/)[0]!
  return new VarlinkError({
    error: "org.varlink.service.InvalidParameter",
    method,
    parameters: { parameter, detail: issues.map((i) => `${i.path.replace(/^\./, "")}: ${i.detail}`).join("; ") }
  })
}

/** How long an idle pooled connection is kept before it is closed. */
const IDLE_MILLIS = 60_000

/** A pooled client; every connection is closed when the Scope closes. */
export const makeVarlinkClient = (options: VarlinkClientOptions): Effect.Effect<VarlinkClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const poolSize = Math.max(1, options.poolSize ?? 4)
    const known = new Map<string, VarlinkInterface>((options.interfaces ?? []).map((i) => [i.name, i]))
    const connOptions = { timeoutMillis: options.timeoutMillis }
    const closedError = () => new VarlinkTransportError({ kind: "closed", address: options.address, detail: "client is closed" })

    // Dedicated connections (long-lived calls) are not pooled; the ones still open when the client
    // closes are closed with it.
    const dedicatedOpen = new Set<VarlinkConnection>()
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
      }).pipe(Effect.andThen(Effect.forEach([...dedicatedOpen], (c) => c.close, { discard: true })))
    )

    // Connections are opened on demand, at most poolSize at once, and closed after a minute idle.
    const pool = yield* Pool.makeWithTTL({
      acquire: VarlinkConnection.connect(options.address, connOptions),
      min: 0,
      max: poolSize,
      timeToLive: IDLE_MILLIS
    })

    /**
     * Runs `f` on a pooled connection. A connection left out of sync by the call (timeout,
     * interrupt, transport error) is invalidated, so the pool closes it and opens a fresh one; one
     * found unusable on the way in (the peer closed it while idle) is invalidated and another taken.
     */
    const pooled = <A, E>(f: (c: VarlinkConnection) => Effect.Effect<A, E>): Effect.Effect<A, E | VarlinkTransportError> => {
      const attempt = (left: number): Effect.Effect<A, E | VarlinkTransportError> =>
        Effect.suspend(() => {
          if (closed) return Effect.fail(closedError())
          return Pool.use(pool, (c) =>
            c.isReusable
              ? f(c).pipe(
                Effect.map(Option.some),
                Effect.ensuring(Effect.suspend(() => (c.isReusable ? Effect.void : Pool.invalidate(pool, c))))
              )
              : Pool.invalidate(pool, c).pipe(Effect.as(Option.none<A>()))).pipe(
              Effect.flatMap((o) =>
                Option.isSome(o)
                  ? Effect.succeed(o.value)
                  : left > 0
                  ? attempt(left - 1)
                  : Effect.fail(new VarlinkTransportError({ kind: "closed", address: options.address, detail: "every pooled connection was closed by the peer" }))
              )
            )
        })
      return attempt(poolSize)
    }

    /** A connection of its own for one long-lived call, closed with the Scope. */
    const dedicated = Effect.acquireRelease(
      Effect.suspend(() =>
        closed
          ? Effect.fail(closedError())
          : VarlinkConnection.open(options.address, connOptions).pipe(Effect.tap((c) => Effect.sync(() => dedicatedOpen.add(c))))
      ),
      (c) =>
        Effect.suspend(() => {
          dedicatedOpen.delete(c)
          return c.close
        })
    )

    const validated = <A, E, R>(method: string, parameters: VarlinkParameters, then: Effect.Effect<A, E, R>): Effect.Effect<A, E | VarlinkError, R> =>
      Effect.suspend((): Effect.Effect<A, E | VarlinkError, R> => {
        const err = validateCall(known, method, parameters)
        return err ? Effect.fail(err) : then
      })

    const call = (method: string, parameters: VarlinkParameters = {}, callOptions: VarlinkClientCallOptions = {}) =>
      validated(
        method,
        parameters,
        callOptions.dedicated
          ? Effect.scoped(Effect.flatMap(dedicated, (c) => c.call(method, parameters, callOptions)))
          : pooled((c) => c.call(method, parameters, callOptions))
      ).pipe(Effect.withSpan("Varlink.call", { attributes: { method, address: options.address } }))

    const callMore = (method: string, parameters: VarlinkParameters = {}, moreOptions: VarlinkMoreOptions = {}) =>
      Stream.unwrap(
        validated(method, parameters, Effect.map(dedicated, (c) => c.callMore(method, parameters, moreOptions)))
      ).pipe(Stream.withSpan("Varlink.callMore", { attributes: { method, address: options.address } }))

    const oneway = (method: string, parameters: VarlinkParameters = {}) =>
      validated(method, parameters, pooled((c) => c.oneway(method, parameters))).pipe(
        Effect.withSpan("Varlink.oneway", { attributes: { method, address: options.address } })
      )

    const upgrade = (method: string, parameters: VarlinkParameters = {}, callOptions: VarlinkCallOptions = {}) =>
      validated(
        method,
        parameters,
        Effect.flatMap(dedicated, (c) => c.upgrade(method, parameters, callOptions))
      ).pipe(Effect.withSpan("Varlink.upgrade", { attributes: { method, address: options.address } }))

    const getInfo = call("org.varlink.service.GetInfo").pipe(
      Effect.map((p): VarlinkServiceInfo => ({
        vendor: str(p.vendor),
        product: str(p.product),
        version: str(p.version),
        url: str(p.url),
        interfaces: Array.isArray(p.interfaces) ? p.interfaces.filter((i): i is string => typeof i === "string") : []
      }))
    )

    const getInterfaceDescription = (name: string) =>
      call("org.varlink.service.GetInterfaceDescription", { interface: name }).pipe(
        Effect.flatMap((p) =>
          typeof p.description === "string"
            ? Effect.succeed(p.description)
            : Effect.fail(new VarlinkTransportError({ kind: "protocol", address: options.address, detail: `GetInterfaceDescription(${name}) returned no description` }))
        )
      )

    const describe = (name: string) =>
      getInterfaceDescription(name).pipe(
        Effect.flatMap((text) =>
          Effect.try({
            try: () => parseVarlinkInterface(text),
            catch: (e) =>
              new VarlinkTransportError({
                kind: "protocol",
                address: options.address,
                detail: `description of ${name} does not parse: ${e instanceof VarlinkIdlParseError ? e.message : String(e)}`
              })
          })
        )
      )

    const addInterfaces = (interfaces: ReadonlyArray<VarlinkInterface>) =>
      Effect.sync(() => interfaces.forEach((i) => known.set(i.name, i)))

    return {
      address: options.address,
      call,
      callMore,
      oneway,
      upgrade,
      getInfo,
      getInterfaceDescription,
      describe,
      addInterfaces
    } satisfies VarlinkClient
  })
