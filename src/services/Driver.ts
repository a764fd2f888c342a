/**
 * The `Driver` service: every task-driver operation Nomad (or an embedder) calls, as Effect programs
 * over domain values. Implemented in src/driver; exposed over gRPC by layers/nomad-rpc.
 */
import type { Duration, Effect, Stream } from "effect"
import { Context } from "effect"
import type { DriverState } from "../domain/DriverState.ts"
import type {
  ImagePullError,
  InvalidTaskConfig,
  PodmanError,
  TaskAlreadyExists,
  TaskNotFound,
  TaskStateError
} from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { Signal } from "../domain/values/signals.ts"
import type { DriverNetwork, ExecResult, ExitResult, Fingerprint, TaskEvent, TaskStatsSample, TaskStatus } from "../domain/results.ts"

/** What StartTask returns: the state to persist in Nomad's TaskHandle, and the task's network. */
export interface StartedTask {
  readonly state: DriverState
  readonly network?: DriverNetwork
}

/** Input of an interactive exec (`nomad alloc exec`). */
export type ExecInput =
  | { readonly _tag: "Stdin"; readonly data: Uint8Array }
  | { readonly _tag: "StdinClose" }
  | { readonly _tag: "Resize"; readonly height: number; readonly width: number }

/** Output of an interactive exec; the last element is `Exited`. */
export type ExecOutput =
  | { readonly _tag: "Stdout"; readonly data: Uint8Array }
  | { readonly _tag: "Stderr"; readonly data: Uint8Array }
  | { readonly _tag: "Exited"; readonly exitCode: number }

/** Capabilities the driver declares (derived from the config and the transports in use). */
export interface DriverCapabilitiesInfo {
  readonly sendSignals: boolean
  readonly exec: boolean
  readonly fsIsolation: "none" | "chroot" | "image"
  readonly networkIsolationModes: ReadonlyArray<"host" | "group" | "task" | "none">
  readonly mustCreateNetwork: boolean
  readonly mountConfigs: "any" | "none"
  readonly disableLogCollection: boolean
}

/** Why StartTask failed. */
export type StartTaskError = InvalidTaskConfig | ImagePullError | PodmanError | TaskAlreadyExists | TaskStateError
/** Why RecoverTask failed (TaskNotFound: the container is gone). */
export type RecoverTaskError = InvalidTaskConfig | PodmanError | TaskNotFound

export class Driver extends Context.Service<Driver, {
  /**
   * Start a task. `config` is the task's decoded `config {}` block: decoding happens at the edges
   * (`decodeTaskConfig` for code, `decodeUnknownTaskConfig` for untrusted input). The whole task is
   * checked before the image is pulled; a start that fails after create leaves nothing behind.
   */
  readonly startTask: (task: NomadTask, config: TaskConfig) => Effect.Effect<StartedTask, StartTaskError>
  /** Waits for the task to exit. May be called many times, concurrently, and after recovery. */
  readonly waitTask: (taskId: string) => Effect.Effect<ExitResult, TaskNotFound>
  /**
   * Sends `signal` (default: the task's `kill_signal`, else the image's stop signal, else SIGTERM),
   * waits up to `timeout` for the exit, then SIGKILL. Returns once the task has exited.
   */
  readonly stopTask: (taskId: string, timeout: Duration.Input, signal?: Signal) => Effect.Effect<void, TaskNotFound | PodmanError>
  /** Forgets the task and, with `gc.container`, removes its container. `force` kills a running task first. */
  readonly destroyTask: (taskId: string, force: boolean) => Effect.Effect<void, TaskNotFound | TaskStateError>
  readonly inspectTask: (taskId: string) => Effect.Effect<TaskStatus, TaskNotFound>
  /** A sample immediately, then one every `interval`, until the task exits or the stream is interrupted. */
  readonly taskStats: (taskId: string, interval: Duration.Input) => Stream.Stream<TaskStatsSample, TaskNotFound>
  /** Task events of every task (image pull progress and the like). Never ends. */
  readonly taskEvents: Stream.Stream<TaskEvent>
  /** A task that has exited: TaskStateError (FailedPrecondition), never a Podman fault. */
  readonly signalTask: (taskId: string, signal: Signal) => Effect.Effect<void, TaskNotFound | TaskStateError | PodmanError>
  /** Runs a command in the task; stdout/stderr captured. No `timeout` (or zero): no limit. */
  readonly execTask: (
    taskId: string,
    command: ReadonlyArray<string>,
    timeout?: Duration.Input
  ) => Effect.Effect<ExecResult, TaskNotFound | PodmanError>
  /** Interactive exec: feeds `input` to the process and streams its output, ending with `Exited`. */
  readonly execStreaming: (
    taskId: string,
    options: { readonly command: ReadonlyArray<string>; readonly tty: boolean },
    input: Stream.Stream<ExecInput>
  ) => Stream.Stream<ExecOutput, TaskNotFound | PodmanError>
  /** Re-attaches to a task from its DriverState. Idempotent. */
  readonly recoverTask: (state: DriverState) => Effect.Effect<void, RecoverTaskError>
  /** Health and `driver.podman.*` attributes: one now, then on every change (and at least every period). */
  readonly fingerprint: Stream.Stream<Fingerprint>
  readonly capabilities: Effect.Effect<DriverCapabilitiesInfo>
  /** The ids of the tasks the driver knows. */
  readonly tasks: Effect.Effect<ReadonlyArray<string>>
  /** Looks a task up without touching Podman. */
  readonly hasTask: (taskId: string) => Effect.Effect<boolean>
}>()("nomad-driver-podman/services/Driver") {}
