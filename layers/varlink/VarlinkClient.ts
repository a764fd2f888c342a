/**
 * A pooled varlink client. Varlink serves one call per connection at a time, so concurrent calls use
 * a small pool of connections (default 4). A connection that is left out of sync (timeout, interrupt,
 * a transport error) is destroyed instead of being returned.
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
import { Effect, Scope, Semaphore, Stream } from "effect"
import { VarlinkError, VarlinkTransportError } from "../../src/domain/errors.ts"
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

export type VarlinkFailure = VarlinkError | VarlinkTransportError

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

/** A pooled client; every connection is closed when the Scope closes. */
export const makeVarlinkClient = (options: VarlinkClientOptions): Effect.Effect<VarlinkClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const poolSize = Math.max(1, options.poolSize ?? 4)
    const permits = yield* Semaphore.make(poolSize)
    const idle: Array<VarlinkConnection> = []
    const open = new Set<VarlinkConnection>()
    const known = new Map<string, VarlinkInterface>((options.interfaces ?? []).map((i) => [i.name, i]))
    let closed = false
    const connOptions = { timeoutMillis: options.timeoutMillis }

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        idle.length = 0
      }).pipe(Effect.andThen(Effect.forEach([...open], (c) => c.close, { discard: true })))
    )

    const take: Effect.Effect<VarlinkConnection, VarlinkTransportError> = Effect.suspend(() => {
      while (idle.length > 0) {
        const c = idle.pop()!
        if (c.isReusable) return Effect.succeed(c)
        open.delete(c)
      }
      if (closed) return Effect.fail(new VarlinkTransportError({ kind: "closed", address: options.address, detail: "client is closed" }))
      return VarlinkConnection.open(options.address, connOptions).pipe(Effect.tap((c) => Effect.sync(() => open.add(c))))
    })
    const giveBack = (c: VarlinkConnection) =>
      Effect.suspend(() => {
        if (!closed && c.isReusable) {
          idle.push(c)
          return Effect.void
        }
        open.delete(c)
        return c.close
      })
    /** A pooled connection for the duration of the Scope. */
    const lease = Effect.acquireRelease(permits.take(1), () => permits.release(1)).pipe(
      Effect.andThen(Effect.acquireRelease(take, giveBack))
    )

    /** A connection of its own for one long-lived call, closed with the Scope. */
    const dedicated = Effect.acquireRelease(
      Effect.suspend(() =>
        closed
          ? Effect.fail(new VarlinkTransportError({ kind: "closed", address: options.address, detail: "client is closed" }))
          : VarlinkConnection.open(options.address, connOptions).pipe(Effect.tap((c) => Effect.sync(() => open.add(c))))
      ),
      (c) => Effect.suspend(() => {
        open.delete(c)
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
        Effect.scoped(Effect.flatMap(callOptions.dedicated ? dedicated : lease, (c) => c.call(method, parameters, callOptions)))
      )

    const callMore = (method: string, parameters: VarlinkParameters = {}, moreOptions: VarlinkMoreOptions = {}) =>
      Stream.unwrap(
        validated(method, parameters, Effect.map(dedicated, (c) => c.callMore(method, parameters, moreOptions)))
      )

    const oneway = (method: string, parameters: VarlinkParameters = {}) =>
      validated(method, parameters, Effect.scoped(Effect.flatMap(lease, (c) => c.oneway(method, parameters))))

    const upgrade = (method: string, parameters: VarlinkParameters = {}, callOptions: VarlinkCallOptions = {}) =>
      validated(
        method,
        parameters,
        Effect.flatMap(dedicated, (c) => c.upgrade(method, parameters, callOptions))
      )

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
