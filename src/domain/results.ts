/**
 * Values the driver returns: exit results, task status, stats samples, fingerprints, task events,
 * and the network a started task exposes. Plain data; the NomadRpc layer encodes them to protobuf.
 */

/** How a task ended. `signal` is the terminating signal number (0 if it exited by itself). */
export interface ExitResult {
  readonly exitCode: number
  readonly signal: number
  readonly oomKilled: boolean
  /** Podman's `State.Error`, when the runtime reported one. */
  readonly error?: string
  readonly finishedAt: Date
}

export type TaskState = "unknown" | "running" | "exited"

/** What InspectTask returns. */
export interface TaskStatus {
  readonly id: string
  readonly name: string
  readonly state: TaskState
  readonly startedAt: Date
  /** Undefined while running. */
  readonly completedAt?: Date
  /** Undefined while running. */
  readonly exitResult?: ExitResult
  readonly containerId: string
  readonly driverAttributes: Readonly<Record<string, string>>
}

/** The network a task exposes to Nomad (StartTask's NetworkOverride). */
export interface DriverNetwork {
  /** Label → container port. */
  readonly portMap: Readonly<Record<string, number>>
  /** Container IP ("" when it has none, e.g. host networking). */
  readonly ip: string
  readonly autoAdvertise: boolean
}

/** One resource usage sample of a task (Nomad's TaskResourceUsage). */
export interface TaskStatsSample {
  readonly taskId: string
  readonly timestamp: Date
  readonly cpu: {
    /** Percent of one core (100 = one full core), from sample-to-sample deltas. */
    readonly percent: number
    readonly systemMode: number
    readonly userMode: number
    /** MHz-equivalent consumed. */
    readonly totalTicks: number
    readonly throttledPeriods: number
    readonly throttledTime: number
    readonly measured: ReadonlyArray<"System Mode" | "User Mode" | "Percent" | "Total Ticks" | "Throttled Periods" | "Throttled Time">
  }
  readonly memory: {
    readonly usage: number
    readonly rss: number
    readonly cache: number
    readonly swap: number
    readonly maxUsage: number
    readonly measured: ReadonlyArray<"RSS" | "Cache" | "Swap" | "Usage" | "Max Usage">
  }
}

export type HealthState = "undetected" | "unhealthy" | "healthy"

/** A fingerprint: node attributes plus health. Attribute values are strings, numbers or booleans. */
export interface Fingerprint {
  readonly health: HealthState
  readonly healthDescription: string
  readonly attributes: Readonly<Record<string, string | number | boolean>>
}

/** A task event (image pull progress and the like) that Nomad shows in `alloc status`. */
export interface TaskEvent {
  readonly taskId: string
  readonly allocId: string
  readonly taskName: string
  readonly timestamp: Date
  readonly message: string
  readonly annotations: Readonly<Record<string, string>>
}

/** Output of a non-interactive exec (script checks). */
export interface ExecResult {
  readonly stdout: Uint8Array
  readonly stderr: Uint8Array
  readonly exitCode: number
}

/** What the transport can do; Capabilities and Fingerprint report it. */
export interface TransportCapabilities {
  readonly transport: "rest" | "varlink"
  readonly exec: boolean
  readonly execStreaming: boolean
  readonly stats: boolean
  readonly logs: boolean
  readonly archiveLoad: boolean
}
