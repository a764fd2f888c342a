/**
 * The `Podman` service: the driver's only way to talk to Podman. It speaks domain values; the
 * transports (libpod REST in layers/podman-rest, io.podman varlink in layers/podman-varlink) are
 * interchangeable implementations of `PodmanClient`.
 *
 * Every call fails with one error, `PodmanError`, whose `reason` says what happened in domain
 * terms (NotFound, NotRunning, Conflict, Unavailable, Timeout, Unsupported, Api, Decode); the
 * transports classify HTTP statuses, varlink error names and Podman's texts, the core never does.
 * Podman's answers are decoded with Schemas (layers/libpod): a missing exit code is a Decode
 * reason, never 0.
 *
 * One node may run several Podman endpoints (plugin `socket {}` blocks); `Podman.client(name)`
 * returns the client of one of them.
 */
import type { Effect, Option, Scope, Stream } from "effect"
import { Context } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import type { ImagePullError, InvalidTaskConfig, PodmanError } from "../domain/errors.ts"
import type { TransportCapabilities } from "../domain/results.ts"

/** `GET /_ping` (or varlink GetVersion). */
export interface PodmanPing {
  /** Libpod API version, e.g. `4.3.1`. */
  readonly apiVersion: string
}

/** The subset of `GET /libpod/info` the driver uses. */
export interface PodmanInfo {
  readonly version: string
  readonly apiVersion: string
  readonly rootless: boolean
  /** `v1` or `v2`. */
  readonly cgroupVersion: string
  /** `cgroupfs` or `systemd`. */
  readonly cgroupManager: string
  readonly ociRuntime: string
  readonly ociRuntimePath: string
  readonly appArmorEnabled: boolean
  readonly selinuxEnabled: boolean
  readonly seccompEnabled: boolean
  /** Default capabilities, comma separated. */
  readonly capabilities: string
  readonly os: string
  readonly arch: string
  readonly hostname: string
  readonly kernel: string
  readonly memTotal: number
  readonly cpus: number
  /** The remote socket path Podman reports. */
  readonly socketPath: string
}

export interface ImageInfo {
  readonly id: string
  readonly repoTags: ReadonlyArray<string>
  readonly repoDigests: ReadonlyArray<string>
  readonly size: number
  readonly os: string
  readonly architecture: string
  readonly stopSignal?: string
}

/** Registry credentials for one pull. Never logged. */
export interface RegistryAuth {
  readonly username?: string
  readonly password?: string
  readonly identityToken?: string
  readonly serverAddress?: string
}

export interface PullOptions {
  readonly auth?: RegistryAuth
  /** Sent to Podman only when set: unset lets Podman's registries.conf decide (as `podman pull`). */
  readonly tlsVerify?: boolean
  readonly os?: string
  readonly arch?: string
  readonly variant?: string
  /** Whole-pull deadline. */
  readonly timeoutMillis: number
}

/**
 * One progress report of a pull. The stream's last element has `imageId`. A transport emits a
 * report when something changed (a line of text, a layer started or finished, bytes arrived), so
 * the time between reports measures the pull's inactivity.
 */
export interface PullProgress {
  /** Podman's own line, when the report is one ("" for byte counts). */
  readonly message: string
  readonly imageId?: string
  /** Layers announced so far and how many of them are complete (where Podman reports layers). */
  readonly layers?: { readonly done: number; readonly total: number }
  /** Bytes downloaded and to download over the layers announced so far (where Podman reports them). */
  readonly bytes?: { readonly done: number; readonly total: number }
}

/** One entry of an image listing. */
export interface ImageSummary {
  readonly id: string
  /** Every name of the image (`repo:tag`). */
  readonly names: ReadonlyArray<string>
}

/** A container's health: the status and when its last checks ended (newest last). */
export interface ContainerHealth {
  /** `starting`, `healthy`, `unhealthy` (`""` when Podman has not set one). */
  readonly status: string
  readonly checkEnds: ReadonlyArray<Date>
}

/** A container's health check as configured (from the image or the spec). */
export interface HealthcheckConfig {
  readonly intervalMillis: number
  readonly timeoutMillis: number
  readonly startPeriodMillis: number
}

/** Where an image archive comes from. */
export type ArchiveSource =
  | { readonly _tag: "path"; readonly path: string }
  | { readonly _tag: "url"; readonly url: string }

export interface ContainerState {
  /** `created`, `running`, `paused`, `stopped`, `exited`, `configured`... */
  readonly status: string
  readonly running: boolean
  readonly pid: number
  /** The pid of the container's conmon while it runs, else 0. */
  readonly conmonPid: number
  readonly exitCode: number
  readonly oomKilled: boolean
  readonly error: string
  readonly startedAt: Date | undefined
  readonly finishedAt: Date | undefined
}

/**
 * How a container ended: Podman's record of it, or conmon's exit file read on this host (the same
 * code Podman records, docs/podman.md, "Exits").
 */
export interface ContainerExit {
  readonly exitCode: number
  readonly oomKilled: boolean
  /** When the process ended; undefined when nobody recorded it. */
  readonly finishedAt: Date | undefined
  /** Podman's error text for the container (e.g. the OCI runtime's), "" when none. */
  readonly error: string
}

/** How a container ended as its inspected state records it. */
export const exitOfState = (state: ContainerState): ContainerExit => ({
  exitCode: state.exitCode,
  oomKilled: state.oomKilled,
  finishedAt: state.finishedAt,
  error: state.error
})

/** The subset of `GET /containers/{id}/json` the driver uses. */
export interface ContainerInspect {
  readonly id: string
  readonly name: string
  readonly image: string
  /** The image's id (`""` when Podman did not say). */
  readonly imageId: string
  readonly state: ContainerState
  readonly labels: Readonly<Record<string, string>>
  readonly env: ReadonlyArray<string>
  readonly user: string
  readonly workingDir: string
  readonly hostname: string
  readonly stopSignal: number | undefined
  /** Container IPv4 (first network that has one), "" when none. */
  readonly ipAddress: string
  /** Published ports, `8080/tcp` → host bindings. */
  readonly ports: Readonly<Record<string, ReadonlyArray<{ readonly hostIp: string; readonly hostPort: number }>>>
  readonly memoryLimit: number
  readonly memoryReservation: number
  readonly memorySwap: number
  readonly cpuShares: number
  readonly cpuQuota: number
  readonly cpuPeriod: number
  readonly cpusetCpus: string
  readonly pidsLimit: number
  readonly mounts: ReadonlyArray<{ readonly type: string; readonly source: string; readonly destination: string; readonly rw: boolean }>
  /** The container's log file on the Podman host when its log driver is `k8s-file`, else undefined. */
  readonly logPath: string | undefined
  /** The container's cgroup (e.g. `/libpod_parent/libpod-<id>`); Podman reports it only while the container runs. */
  readonly cgroupPath: string | undefined
  /** The health check, undefined when the container has none (or it is disabled). */
  readonly healthcheck?: HealthcheckConfig
  /** The health state, when the container has a health check. */
  readonly health?: ContainerHealth
}

export interface ContainerSummary {
  readonly id: string
  readonly names: ReadonlyArray<string>
  /** `running`, `exited`, ...; `storage` for a container only the storage layer knows (listed with `external`). */
  readonly state: string
  readonly labels: Readonly<Record<string, string>>
  readonly created: Date | undefined
}

export interface ContainerListFilters {
  readonly label?: ReadonlyArray<string>
  readonly all: boolean
  /** Also containers only the storage layer knows (left by an interrupted create, or other tools'). */
  readonly external?: boolean
}

export type OutputStream = "stdout" | "stderr"

/** One demultiplexed chunk of container output. */
export interface OutputChunk {
  readonly stream: OutputStream
  readonly data: Uint8Array
  /**
   * A log record's time, nanoseconds since the epoch at the precision Podman gives (the REST logs
   * API: whole seconds; io.podman: nanoseconds); only on `containerLogs` with `timestamps`.
   */
  readonly time?: bigint
}

export interface LogsOptions {
  readonly follow: boolean
  /** Only output after this instant. */
  readonly since?: Date
  /** Only output after this time, nanoseconds since the epoch (exclusive; wins over `since`). */
  readonly after?: bigint
  readonly stdout: boolean
  readonly stderr: boolean
  readonly tail?: number
  /** Each chunk is one log record and carries its `time`. */
  readonly timestamps?: boolean
}

/** One stats sample of one container (libpod `/containers/stats`), raw cumulative counters. */
export interface ContainerStats {
  readonly containerId: string
  /** When the sample was read (client clock). */
  readonly readAt: Date
  /** Cumulative CPU time in ns. */
  readonly cpuNano: number
  readonly cpuSystemNano: number
  /** Host system CPU time in ns (for percent-of-host). */
  readonly systemNano: number
  readonly memUsage: number
  readonly memLimit: number
  readonly pids: number
  readonly netInput: number
  readonly netOutput: number
  readonly blockInput: number
  readonly blockOutput: number
}

export interface ExecOptions {
  readonly command: ReadonlyArray<string>
  readonly tty: boolean
  readonly stdin: boolean
  readonly env?: Readonly<Record<string, string>>
  readonly user?: string
  readonly workingDir?: string
}

/**
 * A running exec session. It lives in the Scope it was created in: closing the Scope closes the
 * connection (the process inside may keep running until it reads EOF).
 */
export interface ExecSession {
  readonly id: string
  /** Demultiplexed output (raw stdout when tty). Ends when the process exits. */
  readonly output: Stream.Stream<OutputChunk, PodmanError>
  /** Write to the process's stdin. */
  readonly write: (data: Uint8Array) => Effect.Effect<void, PodmanError>
  /** Half-close stdin (the process sees EOF). */
  readonly closeStdin: Effect.Effect<void, PodmanError>
  readonly resize: (size: { readonly height: number; readonly width: number }) => Effect.Effect<void, PodmanError>
  /** The exit code; waits until the output has ended. */
  readonly exitCode: Effect.Effect<number, PodmanError>
}

/** A libpod event (`/events`). */
export interface PodmanEvent {
  readonly type: string
  readonly action: string
  readonly id: string
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly time: Date
}

export interface EventFilters {
  readonly container?: ReadonlyArray<string>
  readonly type?: ReadonlyArray<string>
  readonly event?: ReadonlyArray<string>
  readonly label?: ReadonlyArray<string>
}

/** One Podman endpoint. Every call has a timeout and fails with a `PodmanError`. */
export interface PodmanClient {
  /** Configured socket name (`default` unless the plugin config names it). */
  readonly socketName: string
  /** The address as configured, e.g. `unix:///run/podman/podman.sock`. */
  readonly address: string
  /**
   * Podman runs on this host (a unix socket, a varlink unix address): the files it reports
   * (k8s-file logs, cgroups) can be read here. The transport decides; the core never parses addresses.
   */
  readonly local: boolean
  readonly capabilities: TransportCapabilities

  readonly ping: Effect.Effect<PodmanPing, PodmanError>
  readonly info: Effect.Effect<PodmanInfo, PodmanError>

  readonly imageExists: (ref: string) => Effect.Effect<boolean, PodmanError>
  /** Fails with reason NotFound (image) when missing; use imageExists to probe. */
  readonly imageInspect: (ref: string) => Effect.Effect<ImageInfo, PodmanError>
  readonly imagePull: (ref: string, options: PullOptions) => Stream.Stream<PullProgress, ImagePullError | PodmanError>
  /** Loads an oci-archive or docker-archive; returns the loaded image name. */
  readonly imageLoad: (source: ArchiveSource, options: { readonly timeoutMillis: number }) => Effect.Effect<string, ImagePullError | PodmanError>
  /**
   * Removes an image name or id, never forcibly. By a name of an image that has other names, only
   * that name goes. Reason Conflict when a container uses the image or (by id) several names point
   * at it; NotFound when it is gone.
   */
  readonly imageRemove: (ref: string) => Effect.Effect<void, PodmanError>
  /** Adds the name `repo:tag` to an image. */
  readonly imageTag: (ref: string, repo: string, tag: string) => Effect.Effect<void, PodmanError>
  /** The images with a name in `repo` (any tag); every image without `repo`. */
  readonly imageList: (repo?: string) => Effect.Effect<ReadonlyArray<ImageSummary>, PodmanError>

  readonly containerCreate: (spec: ContainerSpec) => Effect.Effect<{ readonly id: string; readonly warnings: ReadonlyArray<string> }, PodmanError>
  readonly containerStart: (id: string) => Effect.Effect<void, PodmanError>
  /**
   * Podman's `wait`: blocks until the container is no longer running (Podman polls its state at its
   * default interval) and returns the exit code. A created, never started container answers 0 at once.
   */
  readonly containerWait: (id: string) => Effect.Effect<number, PodmanError>
  /**
   * Waits until a started container has exited and says how it ended, by the cheapest means the
   * transport has (docs/podman.md, "Exits"): conmon's exit file when Podman runs on this host (no
   * Podman call while the container runs), else Podman's `wait` at its default interval. Call it
   * after the start (or at recovery): an exit that happened before is read from Podman's record.
   * Fails with NotFound when the container is gone; with a retryable reason when Podman is needed
   * and cannot be reached, and calling again is always safe (the exit is kept by conmon's file or
   * by Podman until the container is removed).
   *
   * `seen`: the container's state from an inspect the caller makes after the start anyway (None
   * when it could not); conmon's files are then found from it instead of from an inspect of their
   * own. It may be older than this call: the exit file is watched before conmon is checked, and
   * conmon outlives its exit file.
   */
  readonly awaitExit: (id: string, seen?: Effect.Effect<Option.Option<ContainerState>>) => Effect.Effect<ContainerExit, PodmanError>
  readonly containerInspect: (id: string) => Effect.Effect<ContainerInspect, PodmanError>
  readonly containerExists: (id: string) => Effect.Effect<boolean, PodmanError>
  readonly containerList: (filters: ContainerListFilters) => Effect.Effect<ReadonlyArray<ContainerSummary>, PodmanError>
  /** Runs the container's health check once now (Podman's `healthcheck run`); the resulting status. */
  readonly containerHealthcheck: (id: string) => Effect.Effect<string, PodmanError>
  /** Podman's stop: the container's stop signal, then SIGKILL after `timeoutSeconds`. Already stopped is success. */
  readonly containerStop: (id: string, timeoutSeconds: number) => Effect.Effect<void, PodmanError>
  /** Send a signal (name like `SIGTERM` or number). A stopped container fails with reason NotRunning. */
  readonly containerKill: (id: string, signal: string) => Effect.Effect<void, PodmanError>
  readonly containerRemove: (id: string, options: { readonly force: boolean; readonly volumes: boolean; readonly timeoutSeconds?: number }) => Effect.Effect<void, PodmanError>
  /**
   * Demultiplexed logs. With `follow` the stream ends only once the container has exited and every
   * record is delivered (what Podman's follow cut short or dropped is read again, docs/podman.md,
   * "Logs"); it fails with reason Unavailable when the connection drops or the follow ends while the
   * container still runs (the caller reconnects from where it got).
   */
  readonly containerLogs: (id: string, options: LogsOptions) => Stream.Stream<OutputChunk, PodmanError>
  /** One batched stats stream for several containers, one array per interval. */
  readonly containerStats: (ids: ReadonlyArray<string>, options: { readonly intervalSeconds: number }) => Stream.Stream<ReadonlyArray<ContainerStats>, PodmanError>
  readonly exec: (id: string, options: ExecOptions) => Effect.Effect<ExecSession, PodmanError, Scope.Scope>
  readonly events: (filters: EventFilters) => Stream.Stream<PodmanEvent, PodmanError>
}

/** The Podman endpoints of this node. */
export class Podman extends Context.Service<Podman, {
  /**
   * The client for a socket name; `undefined` or `"default"` selects the default socket. Unknown
   * name → InvalidTaskConfig on `socket`. A socket whose transport this build lacks gets a client
   * whose every call fails with reason Unsupported.
   */
  readonly client: (socketName?: string) => Effect.Effect<PodmanClient, InvalidTaskConfig>
  /** Every configured client, default first. */
  readonly clients: Effect.Effect<ReadonlyArray<PodmanClient>>
}>()("nomad-driver-podman/services/Podman") {}
