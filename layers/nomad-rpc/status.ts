/**
 * The one table from the driver's typed errors (src/domain/errors.ts) to the gRPC status the
 * Nomad client expects. A `PodmanError` is mapped by its reason, never by transport details.
 *
 * Rules the table follows:
 * - UNAVAILABLE and CANCELLED are never used for ordinary errors: the client reads them as "the
 *   plugin died" and starts a recovery dance. An unreachable Podman is FAILED_PRECONDITION.
 * - "task not found" carries Go's exact text, `task not found for given id`.
 * - Retryable start failures carry a RecoverableError{recoverable:true} detail in
 *   `grpc-status-details-bin` (a google.rpc.Status whose code equals the call's status code;
 *   grpc-go drops the details otherwise). Without that detail Nomad does not restart the task.
 */
import { Metadata, status as Code, type StatusObject } from "@grpc/grpc-js"
import { Cause, Data } from "effect"
import type { DriverFailure, PodmanError } from "../../src/domain/errors.ts"
import { Status as RpcStatus } from "../../proto/gen/google/rpc/status.ts"
import { RecoverableError } from "../../proto/gen/plugins/shared/structs/proto/recoverable_error.ts"
import { boundedText } from "../../src/domain/values/text.ts"
import type { CtyDecodeError } from "./cty.ts"

/** Go's drivers.ErrTaskNotFound text. */
export const TASK_NOT_FOUND = "task not found for given id"

export const RECOVERABLE_ERROR_TYPE_URL = "type.googleapis.com/hashicorp.nomad.plugins.shared.structs.RecoverableError"

/** Errors the RPC layer itself raises (bad requests). */
export class RpcRequestError extends Data.TaggedError("RpcRequestError")<{ readonly code: Code; readonly detail: string }> {
  constructor(code: Code, detail: string) {
    super({ code, detail })
  }
  override get message() {
    return this.detail
  }
}

/** Every error a handler can fail with. */
export type HandlerFailure = DriverFailure | CtyDecodeError | RpcRequestError

/** Where an error goes: its gRPC code, message, and whether Nomad may retry (RecoverableError detail). */
export interface StatusMapping {
  readonly code: Code
  readonly message: string
  readonly recoverable?: boolean
}

/**
 * PodmanError by reason. An unreachable Podman and a call past its deadline may go away by
 * themselves (recoverable: Nomad retries the start); a missing container is NotFound; what the
 * container's state forbids (not running, a name or port taken) is a failed precondition; an option
 * the transport cannot express is unimplemented; Podman's own errors and answers we cannot decode
 * are internal, unless Podman refused the container spec as wrong (`Api` with `invalidInput`),
 * which is the task's mistake: INVALID_ARGUMENT with Podman's reason.
 */
const podmanStatus = (e: PodmanError): StatusMapping => {
  switch (e.reason._tag) {
    case "Unavailable":
      return { code: Code.FAILED_PRECONDITION, message: e.message, recoverable: true }
    case "Timeout":
      return { code: Code.DEADLINE_EXCEEDED, message: e.message, recoverable: true }
    case "NotFound":
      return { code: Code.NOT_FOUND, message: e.message }
    case "NotRunning":
    case "Conflict":
      return { code: Code.FAILED_PRECONDITION, message: e.message }
    case "Unsupported":
      return { code: Code.UNIMPLEMENTED, message: e.message }
    case "Api":
      return e.reason.invalidInput === true
        ? { code: Code.INVALID_ARGUMENT, message: `podman refused the task: ${e.message}` }
        : { code: Code.INTERNAL, message: e.message }
    case "Decode":
      return { code: Code.INTERNAL, message: e.message }
  }
}

/** The table. */
export const toStatusMapping = (e: HandlerFailure): StatusMapping => {
  switch (e._tag) {
    case "TaskNotFound":
      return { code: Code.NOT_FOUND, message: TASK_NOT_FOUND }
    case "InvalidTaskConfig":
    case "InvalidPluginConfig":
    case "CtyDecodeError":
      return { code: Code.INVALID_ARGUMENT, message: e.message }
    case "ImagePullError":
      return e.isRetryable
        ? { code: Code.FAILED_PRECONDITION, message: e.message, recoverable: true }
        : e.reason === "not-found"
        ? { code: Code.NOT_FOUND, message: e.message }
        : e.reason === "auth"
        ? { code: Code.PERMISSION_DENIED, message: e.message }
        : { code: Code.UNKNOWN, message: e.message }
    case "PodmanError":
      return podmanStatus(e)
    case "OomKilled":
      return { code: Code.RESOURCE_EXHAUSTED, message: e.message }
    case "TaskAlreadyExists":
      return { code: Code.ALREADY_EXISTS, message: e.message }
    case "TaskStateError":
      return { code: Code.FAILED_PRECONDITION, message: e.message }
    case "RpcRequestError":
      return { code: e.code, message: e.message }
  }
}

/** `google.rpc.Status` bytes with one RecoverableError detail, for `grpc-status-details-bin`. */
export const recoverableDetails = (code: Code, message: string, recoverable: boolean): Buffer =>
  Buffer.from(RpcStatus.encode(RpcStatus.fromPartial({
    code,
    message,
    details: [{ typeUrl: RECOVERABLE_ERROR_TYPE_URL, value: RecoverableError.encode({ recoverable }).finish() }]
  })).finish())

/**
 * The longest status message: each value an error repeats is already cut to 200 characters
 * (src/domain/values/text.ts); this bounds the whole, so no request can make the agent log megabytes.
 */
export const MAX_STATUS_MESSAGE = 4096

/** A grpc-js status object (what a unary callback or `call.emit("error")` takes). */
export const toStatusObject = (m: StatusMapping): Partial<StatusObject> & { code: Code; details: string; metadata: Metadata } => {
  const metadata = new Metadata()
  const message = boundedText(m.message, MAX_STATUS_MESSAGE)
  if (m.recoverable !== undefined) {
    metadata.set("grpc-status-details-bin", recoverableDetails(m.code, message, m.recoverable))
  }
  return { code: m.code, details: message, metadata }
}

/** The status for a failed handler fiber: typed failure → table; defect → INTERNAL; interrupt → CANCELLED. */
export const causeToStatus = (cause: Cause.Cause<HandlerFailure>) => {
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure) return toStatusObject(toStatusMapping(failure.error))
  const defect = cause.reasons.find(Cause.isDieReason)
  if (defect) {
    const d = defect.defect
    return toStatusObject({ code: Code.INTERNAL, message: `internal error: ${d instanceof Error ? d.message : String(d)}` })
  }
  // Only an interrupted handler gets here (client cancelled or plugin shutting down).
  return toStatusObject({ code: Code.CANCELLED, message: "call interrupted" })
}
