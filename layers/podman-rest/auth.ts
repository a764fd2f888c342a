/**
 * `X-Registry-Auth` for libpod pulls.
 *
 * libpod decodes the header with Go's `base64.URLEncoding`: the URL-safe alphabet (`-`, `_`) WITH
 * `=` padding (docs/podman.md, "Pulls"). Node's `"base64url"` drops the padding, which Podman rejects
 * with `400 ... unexpected EOF`; the standard alphabet gives `illegal base64 data`. So: standard
 * base64, then swap the two characters.
 */
import type { RegistryAuth } from "../../src/services/Podman.ts"

/** Encodes registry credentials as Podman's `X-Registry-Auth` header value. */
export const encodeRegistryAuth = (auth: RegistryAuth): string => {
  // Field names are containers/image's DockerAuthConfig JSON names; empty fields are left out.
  const body: Record<string, string> = {}
  if (auth.username !== undefined && auth.username !== "") body.username = auth.username
  if (auth.password !== undefined && auth.password !== "") body.password = auth.password
  if (auth.identityToken !== undefined && auth.identityToken !== "") body.identitytoken = auth.identityToken
  if (auth.serverAddress !== undefined && auth.serverAddress !== "") body.serveraddress = auth.serverAddress
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
}

/** True when the credentials carry anything worth sending. */
export const hasAuth = (auth: RegistryAuth | undefined): auth is RegistryAuth =>
  auth !== undefined && [auth.username, auth.password, auth.identityToken].some((v) => v !== undefined && v !== "")
