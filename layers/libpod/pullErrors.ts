/**
 * Classifies Podman's pull/load error text into an `ImagePullError` reason.
 *
 * Podman 4.3 reports registry failures as an `{"error": "..."}` line inside an HTTP 200 pull body
 * (docs/podman.md, "Pulls"), newer versions may use an error status; either way the only signal is the
 * containers/image error text. One table, checked in order (first match wins), because texts nest:
 * a TLS failure also says `pinging container registry`, and a dial timeout also says `dial tcp`.
 * Shared by both transports (io.podman's PullImage reports the same texts).
 */
import { ImagePullError, type ImagePullReason } from "../../src/domain/errors.ts"

const table: ReadonlyArray<readonly [ImagePullReason, RegExp]> = [
  ["timeout", /timed? ?out|timeout|deadline exceeded/i],
  ["tls", /x509:|certificate|tls:|server gave HTTP response to HTTPS client|handshake failure/i],
  ["auth", /unauthorized|authentication required|incorrect username or password|invalid username\/password|access to the resource is denied|denied:|\b401\b|\b403\b|forbidden/i],
  ["not-found", /manifest unknown|name unknown|not found|no such image|image not known|does not exist|\b404\b|unknown: repository/i],
  ["unreachable", /connection refused|no such host|network is unreachable|no route to host|connection reset|pinging container registry|dial tcp|server misbehaving|EOF$/i]
]

/** Strips anything that looks like credentials in a URL (`scheme://user:pass@host`). */
const scrub = (text: string): string => text.replace(/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1***@")

/** Builds the ImagePullError for `image` from Podman's error text. */
export const classifyPullError = (image: string, text: string): ImagePullError => {
  const detail = scrub(text.trim()).slice(0, 2000)
  const hit = table.find(([, re]) => re.test(detail))
  return new ImagePullError({ image, reason: hit?.[0] ?? "other", detail: detail === "" ? "unknown error" : detail })
}
