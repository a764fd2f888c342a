/**
 * The driver's typed errors. Every failure that crosses a service boundary is one of these; the
 * NomadRpc layer maps each tag to a gRPC status in one table (layers/nomad-rpc/status.ts).
 *
 * Messages name the field, image or container and the cause. They never contain a secret:
 * registry passwords and auth headers are never put into an error.
 */
import { Schema } from "effect"

/** One problem found in a task or plugin config: the HCL path of the field and why it is wrong. */
export const ConfigIssue = Schema.Struct({
  /** HCL path of the offending option, e.g. `config.ports[1]` or `auth.username`. */
  field: Schema.String,
  /** Human-readable reason. */
  reason: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

const formatIssues = (issues: ReadonlyArray<ConfigIssue>): string =>
  issues.map((i) => `${i.field}: ${i.reason}`).join("; ")

/** The task's `config {}` block (or what Nomad passed for it) is invalid. Maps to InvalidArgument. */
export class InvalidTaskConfig extends Schema.TaggedError<InvalidTaskConfig>()("InvalidTaskConfig", {
  issues: Schema.Array(ConfigIssue)
}) {
  override get message() {
    return `invalid task config: ${formatIssues(this.issues)}`
  }
}

/** The plugin's `config {}` block is invalid. Maps to InvalidArgument. */
export class InvalidPluginConfig extends Schema.TaggedError<InvalidPluginConfig>()("InvalidPluginConfig", {
  issues: Schema.Array(ConfigIssue)
}) {
  override get message() {
    return `invalid plugin config: ${formatIssues(this.issues)}`
  }
}

/** Why an image could not be pulled or loaded. */
export const ImagePullReason = Schema.Literals(["auth", "not-found", "timeout", "unreachable", "tls", "other"])
export type ImagePullReason = typeof ImagePullReason.Type

/** An image could not be pulled (or an archive loaded). `detail` is Podman's own text, secret-free. */
export class ImagePullError extends Schema.TaggedError<ImagePullError>()("ImagePullError", {
  image: Schema.String,
  reason: ImagePullReason,
  detail: Schema.String
}) {
  override get message() {
    return `failed to pull image ${this.image} (${this.reason}): ${this.detail}`
  }
  /** A pull that failed for reasons that may go away (registry down, timeout) is worth retrying. */
  get isRetryable() {
    return this.reason === "timeout" || this.reason === "unreachable"
  }
}

/** The container was killed by the kernel OOM killer. Reported on the exit result, and as an error where one is needed. */
export class OomKilled extends Schema.TaggedError<OomKilled>()("OomKilled", {
  containerId: Schema.String,
  memoryLimitBytes: Schema.optional(Schema.Number)
}) {
  override get message() {
    return `container ${this.containerId} was killed by the OOM killer` +
      (this.memoryLimitBytes !== undefined ? ` (memory limit ${this.memoryLimitBytes} bytes)` : "")
  }
}

/** A varlink method call got an error reply (`io.podman.*` or `org.varlink.service.*`). */
export class VarlinkError extends Schema.TaggedError<VarlinkError>()("VarlinkError", {
  /** Fully qualified error name, e.g. `io.podman.ContainerNotFound`. */
  error: Schema.String,
  /** Fully qualified method, e.g. `io.podman.GetContainer`. */
  method: Schema.String,
  parameters: Schema.optional(Schema.Unknown)
}) {
  override get message() {
    return `varlink ${this.method} failed: ${this.error}` +
      (this.parameters !== undefined ? ` ${JSON.stringify(this.parameters)}` : "")
  }
}

/** The varlink connection itself failed: refused, closed mid-reply, malformed message, timeout. */
export class VarlinkTransportError extends Schema.TaggedError<VarlinkTransportError>()("VarlinkTransportError", {
  kind: Schema.Literals(["connect", "closed", "malformed", "timeout", "protocol"]),
  address: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `varlink transport error (${this.kind}) on ${this.address}: ${this.detail}`
  }
}

/** Podman could not be reached at all (socket missing, connection refused, timeout). Retryable. */
export class PodmanUnavailable extends Schema.TaggedError<PodmanUnavailable>()("PodmanUnavailable", {
  socket: Schema.String,
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `podman is unavailable at ${this.socket} (${this.operation}): ${this.detail}`
  }
}

/** Podman answered, but with an error status. `status` is the HTTP status (0 for varlink). */
export class PodmanApiError extends Schema.TaggedError<PodmanApiError>()("PodmanApiError", {
  operation: Schema.String,
  status: Schema.Number,
  detail: Schema.String
}) {
  override get message() {
    return `podman ${this.operation} failed (${this.status}): ${this.detail}`
  }
}

/** The transport in use cannot do this (e.g. an option that io.podman's Create cannot express). */
export class UnsupportedOperation extends Schema.TaggedError<UnsupportedOperation>()("UnsupportedOperation", {
  operation: Schema.String,
  transport: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.operation} is not supported over ${this.transport}: ${this.detail}`
  }
}

/** No task with this id is known to the driver. Maps to NotFound (Nomad's ErrTaskNotFound). */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  taskId: Schema.String
}) {
  override get message() {
    return `task not found: ${this.taskId}`
  }
}

/** A task with this id is already running in this driver. */
export class TaskAlreadyExists extends Schema.TaggedError<TaskAlreadyExists>()("TaskAlreadyExists", {
  taskId: Schema.String
}) {
  override get message() {
    return `task already exists: ${this.taskId}`
  }
}

/** The task is in a state that does not allow the operation (e.g. destroy without force while running). */
export class TaskStateError extends Schema.TaggedError<TaskStateError>()("TaskStateError", {
  taskId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `task ${this.taskId}: ${this.detail}`
  }
}

/** Podman does not know the container (404). */
export class ContainerNotFound extends Schema.TaggedError<ContainerNotFound>()("ContainerNotFound", {
  container: Schema.String
}) {
  override get message() {
    return `no such container: ${this.container}`
  }
}

/** A call did not finish within its timeout. */
export class OperationTimeout extends Schema.TaggedError<OperationTimeout>()("OperationTimeout", {
  operation: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message() {
    return `${this.operation} timed out after ${this.timeoutMillis} ms`
  }
}

/** Every error a `Podman` service call can fail with. */
export type PodmanFailure =
  | PodmanUnavailable
  | PodmanApiError
  | ContainerNotFound
  | VarlinkError
  | VarlinkTransportError
  | UnsupportedOperation
  | OperationTimeout

/** Every error a `Driver` operation can fail with. */
export type DriverFailure =
  | PodmanFailure
  | InvalidTaskConfig
  | InvalidPluginConfig
  | ImagePullError
  | OomKilled
  | TaskNotFound
  | TaskAlreadyExists
  | TaskStateError
