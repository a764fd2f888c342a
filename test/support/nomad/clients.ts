/**
 * gRPC clients for a plugin socket, built from the generated code (as Nomad's go-plugin client
 * would speak to us), plus promise forms of unary calls. Stream collectors: grpcStreams.ts.
 */
import * as grpc from "@grpc/grpc-js"
import { HealthClient } from "../../../proto/gen/grpc/health/v1/health.ts"
import { GRPCBrokerClient } from "../../../proto/gen/plugin/grpc_broker.ts"
import { GRPCControllerClient } from "../../../proto/gen/plugin/grpc_controller.ts"
import { GRPCStdioClient } from "../../../proto/gen/plugin/grpc_stdio.ts"
import { BasePluginClient } from "../../../proto/gen/plugins/base/proto/base.ts"
import { DriverClient } from "../../../proto/gen/plugins/drivers/proto/driver.ts"
import { Status as RpcStatus } from "../../../proto/gen/google/rpc/status.ts"
import { RecoverableError } from "../../../proto/gen/plugins/shared/structs/proto/recoverable_error.ts"

export interface PluginClients {
  readonly base: BasePluginClient
  readonly driver: DriverClient
  readonly controller: GRPCControllerClient
  readonly health: HealthClient
  readonly stdio: GRPCStdioClient
  readonly broker: GRPCBrokerClient
  readonly close: () => void
}

export const connect = (socketPath: string): PluginClients => {
  const address = `unix://${socketPath}`
  const creds = grpc.credentials.createInsecure()
  // One channel for every service, as go-plugin does (all RPCs on one connection).
  const options = { "grpc.default_authority": "unused" }
  const base = new BasePluginClient(address, creds, options)
  const channelOverride = base.getChannel()
  const shared = { ...options, channelOverride } as grpc.ClientOptions
  const driver = new DriverClient(address, creds, shared)
  const controller = new GRPCControllerClient(address, creds, shared)
  const health = new HealthClient(address, creds, shared)
  const stdio = new GRPCStdioClient(address, creds, shared)
  const broker = new GRPCBrokerClient(address, creds, shared)
  return { base, driver, controller, health, stdio, broker, close: () => base.close() }
}

/** A generated client method (its last overload: request, metadata, options, callback). */
export type UnaryFn<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void
) => unknown

/** Promise form of a unary call: `call(client.method.bind(client), req)`. */
export const call = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => {
    fn(req, new grpc.Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res)))
  })

/** The call's error (fails the test if it succeeds). */
export const callError = async <Req, Res>(fn: UnaryFn<Req, Res>, req: Req): Promise<grpc.ServiceError> => {
  try {
    await call(fn, req)
  } catch (e) {
    return e as grpc.ServiceError
  }
  throw new Error("expected the call to fail")
}

/** The RecoverableError carried in `grpc-status-details-bin`, with the Status code, if any. */
export const recoverableDetail = (err: grpc.ServiceError): { code: number; recoverable: boolean; message: string } | undefined => {
  const bin = err.metadata?.get("grpc-status-details-bin")[0]
  if (bin === undefined) return undefined
  const st = RpcStatus.decode(typeof bin === "string" ? Buffer.from(bin, "base64") : bin)
  const any = st.details[0]
  if (any === undefined) return undefined
  if (any.typeUrl !== "type.googleapis.com/hashicorp.nomad.plugins.shared.structs.RecoverableError") return undefined
  return { code: st.code, recoverable: RecoverableError.decode(any.value).recoverable, message: st.message }
}
