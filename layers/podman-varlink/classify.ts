/**
 * The io.podman transport's one classification table: how a failed varlink call becomes a
 * `PodmanError` reason. Pure; every io.podman error name and every Podman error text the driver
 * reacts to over varlink is read here and nowhere else (docs/podman.md, "Errors").
 *
 * - connection refused / lost → Unavailable; no reply in time → Timeout; a reply that is not
 *   varlink → Decode;
 * - `io.podman.ContainerNotFound` / `ImageNotFound` → NotFound;
 * - `io.podman.InvalidState`, `NoContainerRunning`, `ErrCtrStopped` → NotRunning (on remove,
 *   InvalidState means "still running" → Conflict);
 * - `io.podman.ErrorOccurred` / `RuntimeError` carry libpod's text in `reason`: "already in use"
 *   → Conflict, "image not known" on create → NotFound (image), a state error → as above,
 *   else Api with the text;
 * - `org.varlink.service.MethodNotFound` / `MethodNotImplemented` / `InterfaceNotFound` (an older
 *   or trimmed io.podman) → Unsupported;
 * - anything else → Api naming the error.
 */
import {
  Api,
  boundedDetail,
  Conflict,
  Decode,
  NotFound,
  NotRunning,
  type PodmanErrorReason,
  Timeout,
  Unavailable,
  Unsupported
} from "../../src/domain/PodmanError.ts"
import { isInputRejection, libpodErrorKind } from "../libpod/errorText.ts"
import type { VarlinkFailure } from "../varlink/VarlinkErrors.ts"

const IFACE = "io.podman"

const rec = (u: unknown): Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Record<string, unknown>) : {}
const text = (u: unknown): string => (typeof u === "string" ? u : "")

/**
 * The table. `id` is the object the call was about (container, image; for `containerCreate` the
 * image), `timeoutMillis` the deadline the call had.
 */
export const classifyVarlink = (operation: string, e: VarlinkFailure, id: string, timeoutMillis: number): PodmanErrorReason => {
  if (e._tag === "VarlinkTransportError") {
    switch (e.kind) {
      case "connect":
      case "closed":
        return new Unavailable({ detail: e.detail })
      case "timeout":
        return new Timeout({ millis: timeoutMillis })
      case "malformed":
      case "protocol":
        return new Decode({ detail: e.detail })
    }
  }
  const p = rec(e.parameters)
  const reason = text(p.reason)
  const notRunning = () =>
    operation === "containerRemove"
      ? new Conflict({ detail: boundedDetail(reason || `container ${id} is running`) })
      : new NotRunning({ id, ...(reason !== "" ? { detail: boundedDetail(reason) } : {}) })
  switch (e.error) {
    case `${IFACE}.ContainerNotFound`:
      return new NotFound({ what: "container", id: id || text(p.id) })
    case `${IFACE}.ImageNotFound`:
      return new NotFound({ what: "image", id: id || text(p.id) })
    case `${IFACE}.InvalidState`:
    case `${IFACE}.NoContainerRunning`:
    case `${IFACE}.ErrCtrStopped`:
      return notRunning()
    case `${IFACE}.ErrorOccurred`:
    case `${IFACE}.RuntimeError`: {
      switch (libpodErrorKind(reason)) {
        case "in-use":
          return new Conflict({ detail: boundedDetail(reason) })
        case "no-such-container":
          return new NotFound({ what: "container", id })
        case "no-such-image":
          return new NotFound({ what: "image", id })
        case "state-improper":
          return notRunning()
        default: {
          const invalidInput = (operation === "containerCreate" || operation === "containerStart") && isInputRejection(reason)
          return new Api({ detail: boundedDetail(reason || e.error), ...(invalidInput ? { invalidInput } : {}) })
        }
      }
    }
    case "org.varlink.service.MethodNotFound":
    case "org.varlink.service.MethodNotImplemented":
    case "org.varlink.service.InterfaceNotFound":
      return new Unsupported({ transport: "varlink", what: `${e.method} (${e.error})` })
    default:
      return new Api({ detail: boundedDetail(e.message) })
  }
}
