/**
 * The one error of the Podman boundary. Every `PodmanClient` call fails with a `PodmanError`: which
 * operation, on which socket, and a `reason` saying what went wrong in domain terms. The core
 * branches on `reason._tag` only; HTTP statuses, varlink error names and Podman's error texts are
 * classified into a reason by one table per transport (layers/podman-rest/classify.ts,
 * layers/podman-varlink/classify.ts) and never leave the transports.
 *
 * Modelled on effect's own `SqlError`/`HttpClientError`: one public error class, a tagged union of
 * reasons, `isRetryable` on the reason, `message` delegated to it. Handle one reason with
 * `Effect.catchReason("PodmanError", "NotFound", ...)`.
 */
import { Predicate, Schema } from "effect"

const ReasonTypeId = "~nomad-driver-podman/PodmanError/Reason"

/** What a `NotFound` is about. */
export const PodmanObject = Schema.Literals(["container", "image", "exec session", "network"])
export type PodmanObject = typeof PodmanObject.Type

/** Podman does not know the container, image or exec session. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  what: PodmanObject,
  id: Schema.String
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return `no such ${this.what}: ${this.id}`
  }
}

/** The container is stopped, exited or was never started, and the operation needs it running. */
export class NotRunning extends Schema.TaggedError<NotRunning>()("NotRunning", {
  id: Schema.String,
  /** Podman's own words, when it gave any. */
  detail: Schema.optional(Schema.String)
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return `container ${this.id} is stopped or was never started` + (this.detail !== undefined && this.detail !== "" ? `: ${this.detail}` : "")
  }
}

/** The request conflicts with what exists (a container name or a host port already in use, a running container that cannot be removed). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  detail: Schema.String
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return `conflict: ${this.detail}`
  }
}

/** Podman cannot be reached, or the connection was lost mid-call. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  detail: Schema.String
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return true
  }
  override get message() {
    return `podman is unavailable: ${this.detail}`
  }
}

/** The call did not finish within its deadline. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  millis: Schema.Number
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return true
  }
  override get message() {
    return `timed out after ${this.millis} ms`
  }
}

/** The transport in use cannot do this (e.g. an option io.podman's Create cannot express). */
export class Unsupported extends Schema.TaggedError<Unsupported>()("Unsupported", {
  transport: Schema.String,
  what: Schema.String
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return `not supported over ${this.transport}: ${this.what}`
  }
}

/**
 * Podman answered with an error that is none of the above; `detail` is its own text (bounded).
 * `invalidInput`: Podman refused the container spec as wrong (an unknown capability, a missing
 * mount source, a command that is not found, a user the image does not have): the task's
 * mistake, not a fault of the driver or of Podman.
 */
export class Api extends Schema.TaggedError<Api>()("Api", {
  detail: Schema.String,
  invalidInput: Schema.optional(Schema.Boolean)
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return this.detail
  }
}

/** Podman's answer did not have the expected shape (a field missing or of the wrong type). */
export class Decode extends Schema.TaggedError<Decode>()("Decode", {
  detail: Schema.String
}) {
  readonly [ReasonTypeId] = ReasonTypeId
  get isRetryable() {
    return false
  }
  override get message() {
    return `unexpected answer from podman: ${this.detail}`
  }
}

export const PodmanErrorReason = Schema.Union([NotFound, NotRunning, Conflict, Unavailable, Timeout, Unsupported, Api, Decode])
export type PodmanErrorReason = typeof PodmanErrorReason.Type

export const isPodmanErrorReason = (u: unknown): u is PodmanErrorReason => Predicate.hasProperty(u, ReasonTypeId)

/** A Podman call failed. `operation` is the client method (`containerStart`...), `socket` the configured address. */
export class PodmanError extends Schema.TaggedError<PodmanError>()("PodmanError", {
  operation: Schema.String,
  socket: Schema.String,
  reason: PodmanErrorReason,
  /** The transport's own error (e.g. a varlink protocol error), kept for debugging. */
  cause: Schema.optional(Schema.Defect())
}) {
  override get message() {
    return `podman ${this.operation} (${this.socket}): ${this.reason.message}`
  }
  /** Unavailable and Timeout may go away by themselves; nothing else will. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/** Podman texts and varlink parameters can be long (they may echo a whole spec): keep errors bounded. */
export const MAX_DETAIL_CHARS = 1000

/** `text` cut to {@link MAX_DETAIL_CHARS}, saying how long it was. */
export const boundedDetail = (text: string): string =>
  text.length <= MAX_DETAIL_CHARS ? text : `${text.slice(0, MAX_DETAIL_CHARS)}… (${text.length} characters)`
