/**
 * layers/nomad-rpc: the `Driver` service exposed to an unmodified Nomad client over go-plugin's
 * gRPC protocol (see README.md next to this file and docs/protocol.md).
 *
 * - `NomadRpcServer`: the server as a layer (socket in $PLUGIN_UNIX_SOCKET_DIR or the temp dir,
 *   handshake on stdout).
 * - `runPlugin(appLayer)`: the whole plugin process: cookie check, hclog logging on stderr,
 *   SIGINT ignored, SIGTERM / GRPCController.Shutdown → graceful exit 0 (tasks keep running).
 */
import { Effect, Exit, Layer, References } from "effect"
import type { Driver } from "../../src/services/Driver.ts"
import type { DriverConfig } from "../../src/services/DriverConfig.ts"
import { guardStdio, HclogLayer } from "./hclog.ts"
import { makeNomadRpcServer, ShutdownRequest } from "./server.ts"

export { CtyDecodeError, CtyUnknown, decodeCty, decodeCtyMsgpack } from "./cty.ts"
export { causeToStatus, RECOVERABLE_ERROR_TYPE_URL, TASK_NOT_FOUND, toStatusMapping } from "./status.ts"
export { DRIVER_API_VERSION, DRIVER_NAME, PLUGIN_VERSION } from "./handlers.ts"
export { handshakeLine, makeNomadRpcServer, NomadRpcServerError, type ServerOptions, ShutdownRequest } from "./server.ts"
export { formatHclog, hclogTimestamp, HclogLayer } from "./hclog.ts"

/** go-plugin handshake cookie Nomad sets for its plugins. */
export const MAGIC_COOKIE_KEY = "NOMAD_PLUGIN_MAGIC_COOKIE"
export const MAGIC_COOKIE_VALUE = "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"

/** True when this process was started by Nomad as a plugin. */
export const isLaunchedByNomad = (env: NodeJS.ProcessEnv = process.env): boolean => env[MAGIC_COOKIE_KEY] === MAGIC_COOKIE_VALUE

/**
 * The plugin server as a layer: a socket in $PLUGIN_UNIX_SOCKET_DIR (or the OS temp dir) and the
 * handshake line on stdout. A failure to listen is a defect (the process cannot be a plugin).
 */
export const NomadRpcServer: Layer.Layer<never, never, Driver | DriverConfig> = makeNomadRpcServer().pipe(Layer.orDie)

/** How long the process waits for finalizers after a shutdown request before it exits anyway. */
const EXIT_DEADLINE_MILLIS = 1500

/**
 * Runs the plugin process until Nomad stops it. Refuses to run (exit 1, message on stderr)
 * without Nomad's magic cookie. Never resolves: the process exits 0 after GRPCController.Shutdown
 * or SIGTERM, 1 if the server cannot start.
 */
export const runPlugin = (appLayer: Layer.Layer<Driver | DriverConfig>): Promise<never> =>
  new Promise<never>(() => {
    if (!isLaunchedByNomad()) {
      process.stderr.write(
        "This binary is a plugin for Nomad. It is started by the Nomad agent (plugin_dir) and cannot be run directly.\n" +
          "For the command line tool, run it without NOMAD_PLUGIN_MAGIC_COOKIE set, e.g. `nomad-driver-podman --help`.\n"
      )
      process.exit(1)
    }
    guardStdio()
    // A Ctrl-C sent to the agent's process group reaches us too; Go plugins ignore it.
    process.on("SIGINT", () => {})

    let requestShutdown: () => void = () => {}
    const shutdownRequested = new Promise<void>((resolve) => {
      requestShutdown = () => {
        resolve()
        setTimeout(() => process.exit(0), EXIT_DEADLINE_MILLIS).unref()
      }
    })
    process.on("SIGTERM", () => requestShutdown())

    const program = Effect.gen(function*() {
      yield* Layer.build(makeNomadRpcServer().pipe(Layer.provide(appLayer)))
      yield* Effect.promise(() => shutdownRequested)
      yield* Effect.logInfo("shutting down: stopping the server, tasks keep running")
    }).pipe(
      Effect.scoped,
      Effect.provideService(ShutdownRequest, () => requestShutdown()),
      Effect.tapCause((cause) => Effect.logError("plugin failed", cause)),
      Effect.provide(HclogLayer()),
      // No tracer in the plugin process: spans would only be kept in memory (a few per running task)
      Effect.provideService(References.TracerEnabled, false)
    )
    Effect.runCallback(program, {
      onExit: (exit) => {
        process.exitCode = Exit.isSuccess(exit) ? 0 : 1
        // Give stderr a moment to flush.
        setTimeout(() => process.exit(process.exitCode), 20)
      }
    })
  })
