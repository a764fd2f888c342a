/**
 * What Podman's error texts say, in a few kinds both transports understand. libpod's errors carry
 * a fixed "cause" (`no such container`, `container state improper`, `that name is already in use`,
 * ...) that the REST API returns as the body's `cause` and at the end of its `message`, and that
 * io.podman puts in an ErrorOccurred's `reason`. The transports combine the kind with their own
 * signal (HTTP status, varlink error name) and the operation in their classification tables; the
 * texts are listed in docs/podman.md, "Errors".
 */
import { ErrorBodyJson } from "./schemas.ts"
import { parseJsonOrUndefined } from "./decode.ts"
import { Schema } from "effect"

export type LibpodErrorKind =
  | "no-such-container"
  | "no-such-image"
  | "no-such-exec-session"
  /** The container is not in the state the operation needs (for most operations: not running). */
  | "state-improper"
  /** A name or a host port is taken; an image is used by a container or named more than once. */
  | "in-use"
  | "no-such-network"

/** First match wins: a text may name several causes (`... no such container` after a state error is not seen in practice). */
const table: ReadonlyArray<readonly [LibpodErrorKind, RegExp]> = [
  ["no-such-exec-session", /no such exec session|no exec session with id/i],
  ["no-such-container", /no such container|no container with name or id/i],
  ["no-such-image", /image not known|no such image|failed to find image/i],
  ["in-use", /already in use|image is in use|more than one tag/i],
  ["no-such-network", /network not found|unable to find network/i],
  ["state-improper", /container state improper|can only kill running containers|can only create exec sessions on running containers|is not running|container is stopped|not running/i]
]

/** The kind of a libpod error text, or `undefined` when it is none of the known ones. */
export const libpodErrorKind = (text: string): LibpodErrorKind | undefined => table.find(([, re]) => re.test(text))?.[0]

/**
 * Podman's words for "the container spec is wrong" on create and start (docs/podman.md, "Errors"):
 * libpod's invalid-argument cause, the runtime's exec failures, a missing mount source, device,
 * seccomp profile or init binary, an unknown user, capability, network, mount option or container
 * to share a namespace with. Podman answers all of them with HTTP 500.
 */
const inputRejections: ReadonlyArray<RegExp> = [
  /invalid argument/i,
  /unknown capability/i,
  /cannot be empty/i,
  /must be (?:an )?absolute/i,
  /no matching entries in (?:passwd|group) file|unable to find (?:user|group)/i,
  /OCI runtime attempted to invoke a command that was not found|executable file not found/i,
  /OCI permission denied/i,
  /no such file or directory/i,
  /not in a separate kernel namespace/i,
  /does not exist on container/i,
  /invalid reference format/i,
  /(?:unknown|invalid) mount option|invalid option/i,
  /network not found/i,
  /incorrect format/i,
  /apparmor profile .* specified/i,
  /no container with name or id|no such container/i
]

/** True when a create or start error says the spec itself is wrong (see {@link inputRejections}). */
export const isInputRejection = (text: string): boolean =>
  !/nil pointer|panic/i.test(text) && inputRejections.some((re) => re.test(text))

const decodeErrorBody = Schema.decodeUnknownOption(ErrorBodyJson)

/** Podman's error text from an error body (`{"cause","message","response"}`): the message, else the cause, else the raw text. */
export const errorBodyText = (body: string): string => {
  const parsed = decodeErrorBody(parseJsonOrUndefined(body))
  if (parsed._tag === "Some") {
    const text = parsed.value.message || parsed.value.cause
    if (text) return text
  }
  return body.trim()
}
