/**
 * The gRPC server Nomad's go-plugin client talks to: a unix socket, plaintext HTTP/2, the six
 * services of handlers.ts, and the handshake line on stdout once it listens (docs/protocol.md#handshake).
 *
 * Lifecycle (scope of the layer): bind → announce → serve. Releasing the layer interrupts every
 * running handler (stats, events and exec forwarding), stops the server (graceful, then forced
 * after a grace period) and removes the socket. Task containers are not touched: the Driver
 * layer owns them and Nomad re-attaches with RecoverTask.
 */
import * as grpc from "@grpc/grpc-js"
import { randomInt } from "node:crypto"
import { existsSync, unlinkSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Data, Effect, Layer } from "effect"
import { HealthService } from "../../proto/gen/grpc/health/v1/health.ts"
import { GRPCBrokerService } from "../../proto/gen/plugin/grpc_broker.ts"
import { GRPCControllerService } from "../../proto/gen/plugin/grpc_controller.ts"
import { GRPCStdioService } from "../../proto/gen/plugin/grpc_stdio.ts"
import { BasePluginService } from "../../proto/gen/plugins/base/proto/base.ts"
import { DriverService } from "../../proto/gen/plugins/drivers/proto/driver.ts"
import type { Driver } from "../../src/services/Driver.ts"
import type { DriverConfig } from "../../src/services/DriverConfig.ts"
import { CallTracker } from "./adapters.ts"
import { basePluginServer, brokerServer, controllerServer, driverServer, healthServer, stdioServer } from "./handlers.ts"
import { tolerantService } from "./undecodable.ts"

/** go-plugin core protocol version | Nomad's app protocol version. */
export const CORE_PROTOCOL_VERSION = 1
export const APP_PROTOCOL_VERSION = 2

/** Unix socket paths longer than this are silently truncated by the kernel API. */
const MAX_SOCKET_PATH = 107

/** What to do when GRPCController.Shutdown arrives. runPlugin provides one that ends the process gracefully. */
export const ShutdownRequest = Context.Reference<() => void>("nomad-driver-podman/nomad-rpc/ShutdownRequest", {
  defaultValue: () => () => {
    process.kill(process.pid, "SIGTERM")
  }
})

export class NomadRpcServerError extends Data.TaggedError("NomadRpcServerError")<{ readonly detail: string }> {
  override get message() {
    return this.detail
  }
}

export interface ServerOptions {
  /** Full socket path; default: `plugin<random>` in $PLUGIN_UNIX_SOCKET_DIR or the OS temp dir. */
  readonly socketPath?: string
  /** Receives the handshake line (with its newline); default: written to stdout. */
  readonly announce?: (line: string) => void
  /** How long a graceful server stop may take before open streams are cut. */
  readonly stopGraceMillis?: number
}

/** `1|2|unix|<path>|grpc|`: go-plugin's 6-field form with an empty certificate field. */
export const handshakeLine = (socketPath: string) =>
  `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc|\n`

export const defaultSocketPath = (): string => {
  const dir = process.env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir()
  return path.resolve(dir, `plugin${randomInt(100_000_000, 999_999_999)}`)
}

const bind = (server: grpc.Server, socketPath: string) =>
  Effect.callback<void, NomadRpcServerError>((resume) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
      resume(err ? Effect.fail(new NomadRpcServerError({ detail: `cannot listen on ${socketPath}: ${err.message}` })) : Effect.void)
    })
  })

const stop = (server: grpc.Server, graceMillis: number) =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => {
      server.forceShutdown()
      resume(Effect.void)
    }, graceMillis)
    server.tryShutdown(() => {
      clearTimeout(timer)
      resume(Effect.void)
    })
  })

/** The server as a scoped Effect (used by the layers below). Returns the socket path. */
export const serve = (options: ServerOptions = {}) =>
  Effect.gen(function*() {
    const socketPath = options.socketPath ?? defaultSocketPath()
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      return yield* new NomadRpcServerError({
        detail: `socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; set PLUGIN_UNIX_SOCKET_DIR to a shorter directory`
      })
    }
    const context = yield* Effect.context<Driver | DriverConfig>()
    const requestShutdown = yield* ShutdownRequest
    const tracker = new CallTracker<Driver | DriverConfig>(Effect.runCallbackWith(context))

    const server = new grpc.Server({
      // The Go client allows 2^31-1 bytes both ways.
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1
    })
    server.addService(tolerantService(HealthService), healthServer(tracker))
    server.addService(tolerantService(GRPCControllerService), controllerServer(tracker, requestShutdown))
    server.addService(tolerantService(GRPCStdioService), stdioServer(tracker))
    server.addService(tolerantService(GRPCBrokerService), brokerServer(tracker))
    server.addService(tolerantService(BasePluginService), basePluginServer(tracker))
    server.addService(tolerantService(DriverService), driverServer(tracker))

    yield* Effect.acquireRelease(
      Effect.gen(function*() {
        // A stale socket from an earlier run would make bind fail.
        if (existsSync(socketPath)) yield* Effect.sync(() => unlinkSync(socketPath))
        yield* bind(server, socketPath)
      }),
      () =>
        Effect.gen(function*() {
          tracker.interruptAll()
          yield* stop(server, options.stopGraceMillis ?? 1000)
          yield* Effect.sync(() => {
            try {
              unlinkSync(socketPath)
            } catch {
              // already gone
            }
          })
          yield* Effect.logDebug("plugin server stopped")
        })
    )
    const announce = options.announce ?? ((line: string) => process.stdout.write(line))
    announce(handshakeLine(socketPath))
    yield* Effect.logInfo("plugin server listening").pipe(Effect.annotateLogs({ address: socketPath, network: "unix" }))
    return socketPath
  })

/** The plugin's gRPC server as a layer, with options (tests use a fixed socket and no stdout). */
export const makeNomadRpcServer = (options: ServerOptions = {}): Layer.Layer<never, NomadRpcServerError, Driver | DriverConfig> =>
  Layer.effectDiscard(serve(options))
