/**
 * Requests that do not decode. grpc-js answers a request whose bytes its deserializer rejects with
 * INTERNAL "Error deserializing request", which Nomad shows as a driver fault. Here every
 * service's request deserializer is wrapped: bytes that do not decode become an {@link Undecodable}
 * marker, and the handler adapters (adapters.ts) answer it with INVALID_ARGUMENT and the reason.
 *
 * With int64 fields decoded as bigints (scripts/proto-gen.sh: `forceLong=bigint`) a well-formed
 * message always decodes; what is left is malformed bytes (a truncated field, a wrong wire type).
 */
import type * as grpc from "@grpc/grpc-js"
import { boundedText } from "../../src/domain/values/text.ts"

const UNDECODABLE = Symbol.for("nomad-driver-podman/nomad-rpc/Undecodable")

/** A request whose bytes did not decode, and why. */
export interface Undecodable {
  readonly [UNDECODABLE]: string
}

/** The reason a request did not decode, or `undefined` when it is a decoded message. */
export const undecodableReason = (request: unknown): string | undefined =>
  typeof request === "object" && request !== null && UNDECODABLE in request
    ? (request as Undecodable)[UNDECODABLE]
    : undefined

/** `definition` with request deserializers that never throw. */
export const tolerantService = <S extends grpc.ServiceDefinition>(definition: S): S =>
  Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer): unknown => {
          try {
            return method.requestDeserialize(bytes)
          } catch (e) {
            const reason = boundedText(e instanceof Error ? e.message : String(e))
            const rpc = method.path.slice(method.path.lastIndexOf("/") + 1) || name
            return { [UNDECODABLE]: `the ${rpc} request does not decode (${bytes.length} bytes): ${reason}` }
          }
        }
      }
    ])
  ) as unknown as S
