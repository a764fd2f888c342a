/**
 * The REST transport's one classification table: how a failed libpod call becomes a `PodmanError`
 * reason. Pure; every HTTP status and every Podman error text the driver reacts to is read here and
 * nowhere else (the statuses and texts per operation are listed in docs/podman.md, "Errors").
 *
 * - the connection failed (refused, reset, cut mid-body) → Unavailable;
 * - the call exceeded its deadline → Timeout;
 * - 404 on an endpoint about one container, image or exec session → NotFound of that object;
 * - 304 / 409 / "container state improper" on an operation that needs a running container
 *   (kill, stop, exec) → NotRunning; on remove the same text means "still running" → Conflict;
 * - "image not known" on create → NotFound (image); "network not found" on create → NotFound (network);
 * - an image removal refused because a container uses it or several names point at it → Conflict;
 * - "already in use" (a name, a host port) or any other 409 → Conflict;
 * - anything else → Api with Podman's own text, bounded; flagged `invalidInput` when Podman said
 *   400, or refused a create or start for what the spec says (libpod/errorText.ts).
 */
import {
  Api,
  boundedDetail,
  Conflict,
  NotFound,
  NotRunning,
  type PodmanErrorReason,
  type PodmanObject,
  Timeout,
  Unavailable
} from "../../src/domain/PodmanError.ts"
import { errorBodyText, isInputRejection, libpodErrorKind } from "../libpod/errorText.ts"

/** How a REST call failed, before classification. */
export type RestFailure =
  | { readonly _tag: "Status"; readonly status: number; readonly body: string }
  | { readonly _tag: "Transport"; readonly detail: string }
  | { readonly _tag: "Timeout"; readonly millis: number }

/** The object an operation's path names (what its 404 is about). */
const subjectOf = (operation: string): PodmanObject | undefined => {
  switch (operation) {
    case "imageExists":
    case "imageInspect":
    case "imageRemove":
    case "imageTag":
      return "image"
    case "containerStart":
    case "containerWait":
    case "containerInspect":
    case "containerExists":
    case "containerStop":
    case "containerKill":
    case "containerRemove":
    case "containerLogs":
    case "containerHealthcheck":
    case "containerAttach":
    case "execCreate":
      return "container"
    case "execStart":
    case "execResize":
    case "execInspect":
      return "exec session"
    default:
      return undefined
  }
}

/** Operations that need a running container: their "state improper", 304 and 409 mean "not running". */
const needsRunning = new Set(["containerKill", "containerStop", "containerAttach", "containerHealthcheck", "execCreate", "execStart", "execResize"])

/** The operations that take the container spec (their refusals may be the spec's fault). */
const specOperations = new Set(["containerCreate", "containerStart"])

const missingKind = { container: "no-such-container", image: "no-such-image", "exec session": "no-such-exec-session", network: "no-such-network" } as const

/**
 * The table. `id` is the object the call was about (the container, image or exec session; for
 * `containerCreate` the image it was asked to use).
 */
export const classifyRest = (operation: string, failure: RestFailure, id = ""): PodmanErrorReason => {
  switch (failure._tag) {
    case "Transport":
      return new Unavailable({ detail: failure.detail })
    case "Timeout":
      return new Timeout({ millis: failure.millis })
    case "Status":
      break
  }
  const { status, body } = failure
  const text = errorBodyText(body) || `HTTP ${status}`
  const kind = libpodErrorKind(text)
  const subject = subjectOf(operation)
  if (subject !== undefined && (status === 404 || kind === missingKind[subject])) return new NotFound({ what: subject, id })
  if (needsRunning.has(operation) && (status === 304 || status === 409 || kind === "state-improper")) {
    return new NotRunning({ id, detail: boundedDetail(text) })
  }
  if (operation === "containerCreate" && kind === "no-such-image") return new NotFound({ what: "image", id })
  if (operation === "containerCreate" && kind === "no-such-network") return new NotFound({ what: "network", id: "" })
  if (kind === "in-use" || status === 409 || (operation === "containerRemove" && kind === "state-improper")) {
    return new Conflict({ detail: boundedDetail(text) })
  }
  // HTTP 400, or a create/start refused for what the spec says: the task's mistake
  const invalidInput = status === 400 || (specOperations.has(operation) && isInputRejection(text))
  return new Api({ detail: boundedDetail(text), ...(invalidInput ? { invalidInput } : {}) })
}
