/**
 * Errors of the varlink protocol client: an error reply (`VarlinkError`, any interface) and a
 * failure of the connection itself (`VarlinkTransportError`). They belong to the protocol, not to
 * Podman: the io.podman transport (layers/podman-varlink) classifies them into `PodmanError`
 * reasons and keeps the original as the `cause`. Exported for embedders that speak varlink to
 * other services with this client.
 */
import { Schema } from "effect"

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

export type VarlinkFailure = VarlinkError | VarlinkTransportError
