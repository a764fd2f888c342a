/**
 * The driver's typed errors. Every failure that crosses a service boundary is one of these; the
 * NomadRpc layer maps each tag (and each PodmanError reason) to a gRPC status in one table
 * (layers/nomad-rpc/status.ts). The Podman boundary's error is in PodmanError.ts.
 *
 * Messages name the field, image or container and the cause. They never contain a secret:
 * registry passwords and auth headers are never put into an error.
 */
import { Effect, Schema } from "effect"
import type { PodmanError } from "./PodmanError.ts"
import type { ExitResult } from "./results.ts"

export * from "./PodmanError.ts"

/** One problem found in a task or plugin config: the HCL path of the field and why it is wrong. */
export const ConfigIssue = Schema.Struct({
  /** HCL path of the offending option, e.g. `config.ports[1]` or `auth.username`. */
  field: Schema.String,
  /** Human-readable reason. */
  reason: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

/** Issues shown in an error message; the rest are counted (a hostile config may have thousands). */
const MAX_ISSUES_SHOWN = 20

const formatIssues = (issues: ReadonlyArray<ConfigIssue>): string => {
  const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((i) => `${i.field}: ${i.reason}`).join("; ")
  return issues.length > MAX_ISSUES_SHOWN ? `${shown}; … and ${issues.length - MAX_ISSUES_SHOWN} more` : shown
}

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

/**
 * The task was killed by the kernel OOM killer. The driver reports an OOM kill on the exit result
 * (as Nomad expects); `failOnOom` turns it into this error for callers that treat it as a failure.
 */
export class OomKilled extends Schema.TaggedError<OomKilled>()("OomKilled", {
  taskId: Schema.String,
  exitCode: Schema.Number
}) {
  override get message() {
    return `task ${this.taskId} was killed by the OOM killer (exit code ${this.exitCode})`
  }
}

/**
 * The exit result as it is, or an `OomKilled` failure when the OOM killer ended the task:
 * `driver.waitTask(id).pipe(Effect.flatMap(failOnOom(id)))`.
 */
export const failOnOom = (taskId: string) => (result: ExitResult): Effect.Effect<ExitResult, OomKilled> =>
  result.oomKilled ? Effect.fail(new OomKilled({ taskId, exitCode: result.exitCode })) : Effect.succeed(result)

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

/** A file on the Podman host (a k8s-file log, a cgroup file) could not be read. Never reaches Nomad: the driver falls back to the API. */
export class HostFileError extends Schema.TaggedError<HostFileError>()("HostFileError", {
  operation: Schema.String,
  path: Schema.String,
  /** `NotFound`, `PermissionDenied`... (effect's PlatformError tag), or `Unknown`. */
  kind: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.operation} ${this.path} failed (${this.kind}): ${this.detail}`
  }
}

/** Every error a `Driver` operation can fail with. */
export type DriverFailure =
  | PodmanError
  | InvalidTaskConfig
  | InvalidPluginConfig
  | ImagePullError
  | OomKilled
  | TaskNotFound
  | TaskAlreadyExists
  | TaskStateError
