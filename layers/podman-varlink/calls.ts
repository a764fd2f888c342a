/**
 * How the io.podman transport calls the varlink protocol client: each call gets the client's
 * timeout, a span (`PodmanVarlink.<operation>`), its failures classified into a `PodmanError`
 * (classify.ts, the varlink error kept as the `cause`) and its reply decoded with a Schema
 * (replies.ts): a reply without the field the driver needs is a Decode reason, never a default.
 */
import { Effect, type Schema, Stream } from "effect"
import { type Decode, PodmanError, type PodmanErrorReason, Timeout } from "../../src/domain/PodmanError.ts"
import { cheapDeadline } from "../libpod/deadlines.ts"
import { decodeWith } from "../libpod/decode.ts"
import type { VarlinkClient } from "../varlink/VarlinkClient.ts"
import type { VarlinkMoreOptions, VarlinkParameters } from "../varlink/VarlinkConnection.ts"
import type { VarlinkFailure } from "../varlink/VarlinkErrors.ts"
import { classifyVarlink } from "./classify.ts"

export const IFACE = "io.podman"

/** Beyond a call's own deadline, how long it may wait for a pooled connection before it is a Timeout. */
const POOL_WAIT_MARGIN_MILLIS = 1_000

export interface CallOptions {
  /** The container or image the call is about: a NotFound names it. */
  readonly id?: string
  /** Deadline of the reply, when not the client's. */
  readonly timeoutMillis?: number
  /** On a connection of its own (calls that may block long: a wedged one must not hold a pooled connection). */
  readonly dedicated?: boolean
  /** A call that only reads Podman's state: its deadline is at most CHEAP_CALL_MILLIS (layers/libpod/deadlines.ts). */
  readonly cheap?: boolean
}

export interface Calls {
  readonly address: string
  readonly timeoutMillis: number
  readonly client: VarlinkClient
  /** A PodmanError of `operation` with this reason. */
  readonly error: (operation: string, reason: PodmanErrorReason, cause?: unknown) => PodmanError
  /** Classifies a protocol failure of `operation`. */
  readonly failure: (operation: string, options?: CallOptions) => (e: VarlinkFailure) => PodmanError
  /** Decodes a reply (or a value inside one) with `schema`; a mismatch is a Decode PodmanError. */
  readonly decode: <S extends Schema.Decoder<unknown>>(operation: string, schema: S) => (value: unknown) => Effect.Effect<S["Type"], PodmanError>
  /** A plain call of `io.podman.<method>`, its reply decoded with `schema`. */
  readonly call: <S extends Schema.Decoder<unknown>>(
    operation: string,
    method: string,
    parameters: VarlinkParameters,
    schema: S,
    options?: CallOptions
  ) => Effect.Effect<S["Type"], PodmanError>
  /** A `more` call of `io.podman.<method>`, every reply decoded with `schema`. */
  readonly callMore: <S extends Schema.Decoder<unknown>>(
    operation: string,
    method: string,
    parameters: VarlinkParameters,
    schema: S,
    options?: VarlinkMoreOptions & { readonly id?: string }
  ) => Stream.Stream<S["Type"], PodmanError>
}

export const makeCalls = (client: VarlinkClient, address: string, timeoutMillis: number): Calls => {
  const error = (operation: string, reason: PodmanErrorReason, cause?: unknown) =>
    new PodmanError({ operation, socket: address, reason, ...(cause !== undefined ? { cause } : {}) })

  const failure = (operation: string, options: CallOptions = {}) => (e: VarlinkFailure): PodmanError =>
    error(operation, classifyVarlink(operation, e, options.id ?? "", options.timeoutMillis ?? timeoutMillis), e)

  // one decoder per (operation, schema), built on first use
  const decoders = new Map<string, Map<unknown, (value: unknown) => Effect.Effect<unknown, Decode>>>()
  const decode = <S extends Schema.Decoder<unknown>>(operation: string, schema: S) => {
    let byOperation = decoders.get(operation)
    if (byOperation === undefined) decoders.set(operation, byOperation = new Map())
    let decoder = byOperation.get(schema)
    if (decoder === undefined) byOperation.set(schema, decoder = decodeWith(schema, `${operation} reply`))
    const d = decoder as (value: unknown) => Effect.Effect<S["Type"], Decode>
    return (value: unknown) => d(value).pipe(Effect.mapError((reason: Decode) => error(operation, reason)))
  }

  const call = <S extends Schema.Decoder<unknown>>(
    operation: string,
    method: string,
    parameters: VarlinkParameters,
    schema: S,
    options: CallOptions = {}
  ): Effect.Effect<S["Type"], PodmanError> => {
    const deadline = options.timeoutMillis ?? (options.cheap === true ? cheapDeadline(timeoutMillis) : timeoutMillis)
    return client.call(`${IFACE}.${method}`, parameters, {
      timeoutMillis: deadline,
      ...(options.dedicated === true ? { dedicated: true } : {})
    }).pipe(
      Effect.mapError(failure(operation, { ...options, timeoutMillis: deadline })),
      // The connection's deadline starts when it has one; waiting for a pooled connection counts too.
      Effect.timeoutOrElse({
        duration: deadline + POOL_WAIT_MARGIN_MILLIS,
        orElse: () => Effect.fail(error(operation, new Timeout({ millis: deadline })))
      }),
      Effect.flatMap(decode(operation, schema)),
      Effect.withSpan(`PodmanVarlink.${operation}`, { attributes: { socket: address } })
    )
  }

  const callMore = <S extends Schema.Decoder<unknown>>(
    operation: string,
    method: string,
    parameters: VarlinkParameters,
    schema: S,
    options: VarlinkMoreOptions & { readonly id?: string } = {}
  ): Stream.Stream<S["Type"], PodmanError> => {
    const { id, ...more } = options
    return client.callMore(`${IFACE}.${method}`, parameters, more).pipe(
      Stream.mapError(failure(operation, { ...(id !== undefined ? { id } : {}), ...(more.timeoutMillis !== undefined ? { timeoutMillis: more.timeoutMillis } : {}) })),
      Stream.mapEffect(decode(operation, schema)),
      Stream.withSpan(`PodmanVarlink.${operation}`, { attributes: { socket: address } })
    )
  }

  return { address, timeoutMillis, client, error, failure, decode, call, callMore }
}
