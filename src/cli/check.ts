/**
 * Everything StartTask checks short of Podman itself, on the task as the Nomad client would hand
 * it over, for `validate`, `plan` and `run` alike: the job evaluated (variables, locals,
 * functions), the plugin config decoded (`--plugin-config`), the NomadTask built (ports, networks,
 * DNS, environment), the config interpolated as the client does, decoded by the plugin's decoder,
 * its socket looked up among the plugin's, and translated to the container spec by the driver's
 * own function (src/driver/spec.ts). Every problem comes back at once, each at its position.
 */
import { Duration, Effect, type FileSystem } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import type { ConfigIssue } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import { defaultPluginConfig, type PluginConfig, resolveSockets } from "../domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, type TaskConfig } from "../domain/TaskConfig.ts"
import { parseGoDuration } from "../domain/values/durations.ts"
import { parseSignal, type Signal } from "../domain/values/signals.ts"
import { containerSpec } from "../driver/spec.ts"
import type { ParsedArgs } from "./args.ts"
import { type Diagnostic, diagnostic, Diagnostics } from "./diagnostics.ts"
import type { TaskSource } from "./extract.ts"
import { interpolateConfig, taskScope } from "./interpolate.ts"
import { loadTask } from "./jobfile.ts"
import { loadPluginConfig } from "./pluginfile.ts"
import { allocatePorts, localFacts, type PortChoice, toNomadTask } from "./task.ts"

/** Nomad's default `kill_timeout`. */
export const DEFAULT_KILL_TIMEOUT = Duration.seconds(5)

/** A task ready to be planned or run. */
export interface Prepared {
  readonly src: TaskSource
  readonly task: NomadTask
  readonly config: TaskConfig
  readonly plugin: PluginConfig
  readonly spec: ContainerSpec
  /** The task's `kill_signal` (undefined: the driver's choice) and `kill_timeout`. */
  readonly killSignal: Signal | undefined
  readonly killTimeout: Duration.Duration
}

/**
 * The plugin config: `--plugin-config` decoded, else the defaults. The socket given with
 * `--socket-path` (else $PODMAN_SOCKET when the file sets none) is the default socket's address.
 */
export const pluginConfigOf = (args: ParsedArgs, env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const plugin = args.pluginConfig !== undefined ? yield* loadPluginConfig(args.pluginConfig) : defaultPluginConfig
    const fromEnv = env["PODMAN_SOCKET"] || undefined
    const override = args.socketPath ?? (args.pluginConfig === undefined || (plugin.socket_path === undefined && plugin.socket.length === 0) ? fromEnv : undefined)
    if (override === undefined) return plugin
    if (plugin.socket.length === 0) return { ...plugin, socket_path: override }
    const def = resolveSockets(plugin)[0]!.name
    return { ...plugin, socket: plugin.socket.map((s) => ((s.name || "default") === def ? { ...s, socket_path: override } : s)) }
  })

const issuesToDiagnostics = (src: TaskSource, issues: ReadonlyArray<ConfigIssue>): ReadonlyArray<Diagnostic> =>
  issues.map((i) => {
    const pos = src.locate(i.field)
    return { file: src.file, ...(pos ? { pos } : {}), field: i.field, reason: i.reason }
  })

/** What the task needs from the host: ports chosen how, which alloc id and alloc dir. */
export interface Placement {
  readonly ports: PortChoice
  readonly allocId: string
  readonly allocDir: string
}

/** Loads the job's podman task and checks it as StartTask would; the plan of what it becomes. */
export const prepare = (
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
  placement: Placement
): Effect.Effect<Prepared, Diagnostics, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const file = args.file!
    // both files are read and checked before either is reported, so one run shows every problem
    const [pluginResult, srcResult] = yield* Effect.all([
      Effect.result(pluginConfigOf(args, env)),
      Effect.result(loadTask(file, {
        ...(args.task !== undefined ? { task: args.task } : {}),
        vars: args.vars ?? [],
        varFiles: args.varFiles ?? [],
        env
      }))
    ])
    if (pluginResult._tag === "Failure" || srcResult._tag === "Failure") {
      return yield* new Diagnostics({
        diagnostics: [
          ...(srcResult._tag === "Failure" ? srcResult.failure.diagnostics : []),
          ...(pluginResult._tag === "Failure" ? pluginResult.failure.diagnostics : [])
        ]
      })
    }
    const plugin = pluginResult.success
    const src = srcResult.success
    if (src.driver !== undefined && src.driver !== "podman") {
      return yield* diagnostic({ file, reason: `task "${src.taskName}" uses driver "${src.driver}", not "podman"` })
    }
    if (src.configFailures !== undefined && src.configFailures.length > 0) return yield* new Diagnostics({ diagnostics: src.configFailures })

    const problems: Array<Diagnostic> = []
    const taskField = (name: string, reason: string) => {
      const pos = src.locate(`task.${name}`)
      problems.push({ file, ...(pos ? { pos } : {}), field: name, reason })
    }
    const killSignal = src.killSignal !== undefined && src.killSignal !== "" ? parseSignal(src.killSignal) : undefined
    if (src.killSignal !== undefined && src.killSignal !== "" && killSignal === undefined) taskField("kill_signal", `unknown signal ${JSON.stringify(src.killSignal)}`)
    const killTimeout = typeof src.killTimeout === "number"
      ? Duration.nanos(BigInt(Math.trunc(src.killTimeout)))
      : src.killTimeout !== undefined ? parseGoDuration(src.killTimeout) : DEFAULT_KILL_TIMEOUT
    if (killTimeout === undefined) taskField("kill_timeout", `invalid duration ${JSON.stringify(src.killTimeout)} (e.g. "30s", "1m")`)

    const { ports, networks } = yield* allocatePorts(src, placement.ports)
    const task = toNomadTask(src, { allocId: placement.allocId, allocDir: placement.allocDir, ports, networks })
    const interpolated = interpolateConfig(src.rawConfig, taskScope(task.env))
    const decoded = yield* Effect.result(decodeUnknownTaskConfig(interpolated.config))
    const issues: Array<ConfigIssue> = [...interpolated.issues, ...(decoded._tag === "Failure" ? decoded.failure.issues : [])]
    if (decoded._tag === "Success") {
      const config = decoded.success
      const sockets = resolveSockets(plugin)
      if (!sockets.some((s) => s.name === config.socket)) {
        issues.push({
          field: "socket",
          reason: `no Podman socket named "${config.socket}" in the plugin config (sockets: ${sockets.map((s) => s.name).join(", ")})` +
            (args.pluginConfig === undefined ? "; give the agent config with --plugin-config" : "")
        })
      }
      const spec = yield* Effect.result(containerSpec(task, config, plugin, { facts: localFacts() }))
      if (spec._tag === "Failure") issues.push(...spec.failure.issues)
      if (issues.length === 0 && problems.length === 0 && spec._tag === "Success") {
        return { src, task, config, plugin, spec: spec.success, killSignal, killTimeout: killTimeout! }
      }
    }
    return yield* new Diagnostics({ diagnostics: [...problems, ...issuesToDiagnostics(src, issues)] })
  })

