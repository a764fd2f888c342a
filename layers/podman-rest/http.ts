/**
 * The HTTP core of the REST transport: building libpod requests, running them with a timeout and
 * turning every failure into a `PodmanError` through the one classification table (classify.ts):
 * no connection, a call past its deadline, an error status with Podman's text. Request headers are
 * never copied into an error, so `X-Registry-Auth` cannot leak.
 */
import * as NodeHttp from "node:http"
import { Effect, Stream } from "effect"
import type { HttpBody, HttpClient, HttpClientError } from "effect/http"
import { HttpClientRequest } from "effect/http"
import type { HttpClientResponse } from "effect/http/HttpClientResponse"
import { type Decode, PodmanError } from "../../src/domain/PodmanError.ts"
import { cheapDeadline } from "../libpod/deadlines.ts"
import { parseJsonOrUndefined, parseJsonText } from "../libpod/decode.ts"
import { classifyRest, type RestFailure } from "./classify.ts"

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
  /** The container, image or exec session the call is about: a NotFound names it. */
  readonly id?: string
  /** Added to the call's timeout (e.g. a stop's grace period). */
  readonly extraMillis?: number
  /** A call that only reads Podman's state: its deadline is at most CHEAP_CALL_MILLIS (layers/libpod/deadlines.ts). */
  readonly cheap?: boolean
}

export interface CallResult {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly text: string
}

const is2xx = (s: number) => s >= 200 && s < 300

/** The text of a failed HTTP exchange without request details (no headers, no URL params). */
export const describeHttpError = (e: HttpClientError.HttpClientError): string => {
  const reason = e.reason as { readonly _tag: string; readonly cause?: unknown; readonly description?: string }
  const cause = reason.cause
  const causeText = cause instanceof Error
    ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
    : cause !== undefined
    ? String(cause)
    : undefined
  return [reason._tag, reason.description, causeText].filter((x) => x !== undefined && x !== "").join(": ")
}

/** A transport failure's text: the error code and message (a request's headers never go into it). */
const nodeErrorText = (e: unknown): string =>
  e instanceof Error ? `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}` : String(e)

export class Http {
  /**
   * `direct`: the keep-alive agent of a unix socket. One-shot calls on it go straight through
   * node:http (see `exchange`); streams and calls to a URL go through Effect's HttpClient.
   */
  constructor(
    readonly client: HttpClient.HttpClient,
    readonly baseUrl: string,
    readonly address: string,
    readonly timeoutMillis: number,
    readonly direct?: NodeHttp.Agent
  ) {}

  request(spec: RequestSpec): HttpClientRequest.HttpClientRequest {
    return HttpClientRequest.make(spec.method)(`${this.baseUrl}${spec.raw === true ? "" : API}${spec.path}`, {
      ...(spec.query !== undefined ? { urlParams: spec.query } : {}),
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      ...(spec.headers !== undefined ? { headers: spec.headers } : {})
    })
  }

  /** The PodmanError of a failed call, classified by the table. */
  error(operation: string, failure: RestFailure, id?: string, cause?: unknown): PodmanError {
    return new PodmanError({
      operation,
      socket: this.address,
      reason: classifyRest(operation, failure, id),
      ...(cause !== undefined ? { cause } : {})
    })
  }

  unavailable(operation: string, detail: string): PodmanError {
    return this.error(operation, { _tag: "Transport", detail })
  }

  /** Only the description is kept: the HttpClientError holds the request, headers included. */
  readonly transportError = (operation: string) => (e: HttpClientError.HttpClientError): PodmanError =>
    this.error(operation, { _tag: "Transport", detail: describeHttpError(e) })

  statusError(operation: string, status: number, body: string, id: string | undefined): PodmanError {
    return this.error(operation, { _tag: "Status", status, body }, id)
  }

  /** A Decode reason of one operation as its PodmanError. */
  readonly decodeError = (operation: string) => (reason: Decode): PodmanError =>
    new PodmanError({ operation, socket: this.address, reason })

  /** Parses a JSON body and decodes it with `decode`; a mismatch is a Decode PodmanError of `operation`. */
  decode<A>(operation: string, text: string, decode: (json: unknown) => Effect.Effect<A, Decode>): Effect.Effect<A, PodmanError> {
    return parseJsonText(text, `${operation} answer`).pipe(Effect.flatMap(decode), Effect.mapError(this.decodeError(operation)))
  }

  withTimeout<A, E, R>(operation: string, millis: number) {
    return (self: Effect.Effect<A, E, R>): Effect.Effect<A, E | PodmanError, R> =>
      Effect.timeoutOrElse(self, {
        duration: millis,
        orElse: () => Effect.fail(this.error(operation, { _tag: "Timeout", millis }))
      })
  }

  /**
   * One request and its whole answer. On a unix socket straight through node:http with the socket's
   * keep-alive agent: through Effect's client (its request and response objects, its body stream)
   * a call costs about 0.16 ms more CPU (an inspect 0.87 against 0.71 ms, plain node:http 0.59 ms;
   * `npx tsx bench/http.ts`), and a StartTask makes three or four such calls. Interrupting the
   * effect destroys the request.
   */
  exchange(operation: string, spec: RequestSpec): Effect.Effect<CallResult, PodmanError> {
    const agent = this.direct
    const body = spec.body
    if (agent === undefined || (body !== undefined && body._tag !== "Uint8Array")) {
      return this.client.execute(this.request(spec)).pipe(
        Effect.flatMap((res) => Effect.map(res.text, (text): CallResult => ({ status: res.status, headers: res.headers, text }))),
        Effect.mapError(this.transportError(operation))
      )
    }
    const query = spec.query !== undefined && spec.query.length > 0 ? `?${new URLSearchParams(spec.query as Array<[string, string]>).toString()}` : ""
    const headers: Record<string, string> = { ...spec.headers }
    if (body !== undefined) {
      headers["content-type"] = body.contentType
      headers["content-length"] = String(body.body.length)
    }
    return Effect.callback<CallResult, PodmanError>((resume, signal) => {
      const fail = (e: unknown) => resume(Effect.fail(this.error(operation, { _tag: "Transport", detail: nodeErrorText(e) })))
      const req = NodeHttp.request({ agent, host: "d", method: spec.method, path: `${spec.raw === true ? "" : API}${spec.path}${query}`, headers, signal }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("error", fail)
        res.on("end", () => {
          const answer: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) answer[k] = Array.isArray(v) ? v.join(", ") : v
          resume(Effect.succeed({ status: res.statusCode ?? 0, headers: answer, text: Buffer.concat(chunks).toString("utf8") }))
        })
      })
      req.on("error", fail)
      req.end(body?.body)
    })
  }

  /** A non-streaming call: sends, reads the whole body, checks the status; bounded by the timeout. */
  call(operation: string, spec: RequestSpec, options: CallOptions = {}): Effect.Effect<CallResult, PodmanError> {
    const accept = options.accept ?? is2xx
    return this.exchange(operation, spec).pipe(
      this.withTimeout(operation, (options.cheap === true ? cheapDeadline(this.timeoutMillis) : this.timeoutMillis) + (options.extraMillis ?? 0)),
      Effect.flatMap((r) =>
        accept(r.status) ? Effect.succeed(r) : Effect.fail(this.statusError(operation, r.status, r.text, options.id))
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
    options: { readonly id?: string; readonly headerTimeout: boolean }
  ): Effect.Effect<HttpClientResponse, PodmanError> {
    const sent = this.client.execute(this.request(spec)).pipe(Effect.mapError(this.transportError(operation)))
    return (options.headerTimeout ? sent.pipe(this.withTimeout(operation, this.timeoutMillis)) : sent).pipe(
      Effect.flatMap((res) =>
        is2xx(res.status)
          ? Effect.succeed(res)
          : res.text.pipe(
            Effect.mapError(this.transportError(operation)),
            this.withTimeout(operation, this.timeoutMillis),
            Effect.flatMap((text) => Effect.fail(this.statusError(operation, res.status, text, options.id)))
          )
      )
    )
  }

  /** The body of an open response as bytes; a connection lost mid-body is Unavailable. */
  body(operation: string, res: HttpClientResponse): Stream.Stream<Uint8Array, PodmanError> {
    return res.stream.pipe(Stream.mapError(this.transportError(operation)))
  }

  /** The body of an open response as parsed JSON lines (blank and non-JSON lines are skipped). */
  jsonLines(operation: string, res: HttpClientResponse): Stream.Stream<unknown, PodmanError> {
    return this.body(operation, res).pipe(
      Stream.decodeText,
      Stream.splitLines,
      Stream.filter((l) => l.trim() !== ""),
      Stream.map(parseJsonOrUndefined),
      Stream.filter((j) => j !== undefined)
    )
  }
}
