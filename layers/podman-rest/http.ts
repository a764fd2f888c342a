/**
 * The HTTP core of the REST transport: building libpod requests, running them with a timeout and
 * mapping every failure to the driver's typed errors.
 *
 * Error policy (one place, so every endpoint behaves the same):
 * - no connection (ENOENT, ECONNREFUSED, reset, a body cut mid-read) → `PodmanUnavailable`;
 * - a non-streaming call that exceeds `timeoutMillis` → `OperationTimeout` (the request is aborted);
 * - 404 on a container endpoint → `ContainerNotFound`;
 * - any other unexpected status → `PodmanApiError` with Podman's own `message` (or `cause`) text.
 * Request headers are never copied into an error, so `X-Registry-Auth` cannot leak.
 */
import { Effect, Stream } from "effect"
import type { HttpBody, HttpClient, HttpClientError } from "effect/http"
import { HttpClientRequest } from "effect/http"
import type { HttpClientResponse } from "effect/http/HttpClientResponse"
import { ContainerNotFound, OperationTimeout, PodmanApiError, PodmanUnavailable } from "../../src/domain/errors.ts"
import { at, parseJson, str } from "./lenient.ts"

/**
 * libpod API prefix. Podman accepts any version here and answers with its own behaviour; v4.0.0
 * selects the 4.x request/response shapes this layer was written and tested against (4.3.1).
 */
export const API = "/v4.0.0/libpod"

export type Query = ReadonlyArray<readonly [string, string]>

export interface RequestSpec {
  readonly method: "GET" | "POST" | "DELETE"
  /** Path below {@link API} (or absolute when `raw`), already URL-encoded. */
  readonly path: string
  readonly query?: Query
  readonly body?: HttpBody.HttpBody
  readonly headers?: Readonly<Record<string, string>>
  /** Path is not below the libpod prefix (e.g. `/_ping`). */
  readonly raw?: boolean
}

export interface CallOptions {
  /** Statuses that count as success (default: 2xx). */
  readonly accept?: (status: number) => boolean
  /** Set on container endpoints: a 404 then means ContainerNotFound for this id. */
  readonly container?: string
  /** Added to the call's timeout (e.g. a stop's grace period). */
  readonly extraMillis?: number
}

export interface CallResult {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly text: string
}

const is2xx = (s: number) => s >= 200 && s < 300

/** The text of a failed HTTP exchange without request details (no headers, no URL params). */
const describeHttpError = (e: HttpClientError.HttpClientError): string => {
  const reason = e.reason as { readonly _tag: string; readonly cause?: unknown; readonly description?: string }
  const cause = reason.cause
  const causeText = cause instanceof Error
    ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
    : cause !== undefined
    ? String(cause)
    : undefined
  return [reason._tag, reason.description, causeText].filter((x) => x !== undefined && x !== "").join(": ")
}

/** Podman's error text from an error body (`{"cause","message","response"}`), or the raw text. */
export const podmanErrorText = (status: number, text: string): string => {
  const j = parseJson(text)
  const msg = str(at(j, "message")) || str(at(j, "cause"))
  if (msg !== "") return msg
  const t = text.trim()
  return t === "" ? `HTTP ${status}` : t.slice(0, 1000)
}

export class Http {
  constructor(
    readonly client: HttpClient.HttpClient,
    readonly baseUrl: string,
    readonly address: string,
    readonly timeoutMillis: number
  ) {}

  request(spec: RequestSpec): HttpClientRequest.HttpClientRequest {
    return HttpClientRequest.make(spec.method)(`${this.baseUrl}${spec.raw === true ? "" : API}${spec.path}`, {
      ...(spec.query !== undefined ? { urlParams: spec.query } : {}),
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      ...(spec.headers !== undefined ? { headers: spec.headers } : {})
    })
  }

  unavailable(operation: string, detail: string): PodmanUnavailable {
    return new PodmanUnavailable({ socket: this.address, operation, detail })
  }

  readonly transportError = (operation: string) => (e: HttpClientError.HttpClientError): PodmanUnavailable =>
    this.unavailable(operation, describeHttpError(e))

  statusError(operation: string, status: number, text: string, container: string | undefined): ContainerNotFound | PodmanApiError {
    if (status === 404 && container !== undefined) return new ContainerNotFound({ container })
    return new PodmanApiError({ operation, status, detail: podmanErrorText(status, text) })
  }

  withTimeout<A, E, R>(operation: string, millis: number) {
    return (self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OperationTimeout, R> =>
      Effect.timeoutOrElse(self, {
        duration: millis,
        orElse: () => Effect.fail(new OperationTimeout({ operation, timeoutMillis: millis }))
      })
  }

  /** A non-streaming call: sends, reads the whole body, checks the status; bounded by the timeout. */
  call(
    operation: string,
    spec: RequestSpec,
    options: CallOptions = {}
  ): Effect.Effect<CallResult, PodmanUnavailable | PodmanApiError | ContainerNotFound | OperationTimeout> {
    const accept = options.accept ?? is2xx
    return this.client.execute(this.request(spec)).pipe(
      Effect.flatMap((res) =>
        Effect.map(res.text, (text): CallResult => ({ status: res.status, headers: res.headers, text }))
      ),
      Effect.mapError(this.transportError(operation)),
      this.withTimeout(operation, this.timeoutMillis + (options.extraMillis ?? 0)),
      Effect.flatMap((r) =>
        accept(r.status) ? Effect.succeed(r) : Effect.fail(this.statusError(operation, r.status, r.text, options.container))
      )
    )
  }

  /**
   * Opens a streaming response. `headerTimeout` bounds the wait for the status line; only use it
   * where Podman writes the body at once (a non-follow log read): Go's net/http sends the headers
   * with the first body write, so a followed stream may have no status line for a long time. A
   * non-2xx answer is read and turned into an error.
   */
  open(
    operation: string,
    spec: RequestSpec,
    options: { readonly container?: string; readonly headerTimeout: boolean }
  ): Effect.Effect<HttpClientResponse, PodmanUnavailable | PodmanApiError | ContainerNotFound | OperationTimeout> {
    const sent = this.client.execute(this.request(spec)).pipe(Effect.mapError(this.transportError(operation)))
    return (options.headerTimeout ? sent.pipe(this.withTimeout(operation, this.timeoutMillis)) : sent).pipe(
      Effect.flatMap((res) =>
        is2xx(res.status)
          ? Effect.succeed(res)
          : res.text.pipe(
            Effect.mapError(this.transportError(operation)),
            this.withTimeout(operation, this.timeoutMillis),
            Effect.flatMap((text) => Effect.fail(this.statusError(operation, res.status, text, options.container)))
          )
      )
    )
  }

  /** The body of an open response as bytes; a connection lost mid-body is PodmanUnavailable. */
  body(operation: string, res: HttpClientResponse): Stream.Stream<Uint8Array, PodmanUnavailable> {
    return res.stream.pipe(Stream.mapError(this.transportError(operation)))
  }

  /** The body of an open response as parsed JSON lines (blank and non-JSON lines are skipped). */
  jsonLines(operation: string, res: HttpClientResponse): Stream.Stream<unknown, PodmanUnavailable> {
    return this.body(operation, res).pipe(
      Stream.decodeText,
      Stream.splitLines,
      Stream.filter((l) => l.trim() !== ""),
      Stream.map(parseJson),
      Stream.filter((j) => j !== undefined)
    )
  }
}
