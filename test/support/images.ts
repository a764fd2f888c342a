/**
 * Test images made on the fly with Podman's own API: build from a Containerfile (Docker format, so a
 * HEALTHCHECK is kept), push to a sandbox registry, remove. Raw libpod requests over the socket
 * with node:http (the driver's client is what the tests exercise; this one stays trivial).
 */
import { execFileSync } from "node:child_process"
import * as http from "node:http"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { podmanSocketPath } from "./libpod.ts"

export interface RawResponse {
  readonly status: number
  readonly text: string
}

/** One request to a Podman socket with a raw body and headers. */
export const podmanRaw = (
  socket: string,
  method: "GET" | "POST" | "DELETE",
  requestPath: string,
  body?: Buffer,
  headers: Record<string, string> = {}
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: podmanSocketPath(socket), host: "d", method, path: requestPath, headers: { ...headers, ...(body ? { "Content-Length": String(body.length) } : {}) } },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${requestPath} timed out`)))
    if (body) req.write(body)
    req.end()
  })

/** The X-Registry-Auth header value Podman accepts (URL-safe base64 with padding). */
export const registryAuthHeader = (username: string, password: string): string =>
  Buffer.from(JSON.stringify({ username, password })).toString("base64").replace(/\+/g, "-").replace(/\//g, "_")

/** Builds `tag` from a Containerfile (Docker format: HEALTHCHECK is kept); returns the image id. */
export const buildImage = async (socket: string, tag: string, containerfile: string): Promise<string> => {
  const dir = mkdtempSync("/tmp/ndp-build-")
  try {
    writeFileSync(path.join(dir, "Containerfile"), containerfile)
    const tar = execFileSync("tar", ["-cf", "-", "-C", dir, "Containerfile"])
    const format = encodeURIComponent("application/vnd.docker.distribution.manifest.v2+json")
    const r = await podmanRaw(socket, "POST", `/v4.0.0/libpod/build?t=${encodeURIComponent(tag)}&outputformat=${format}`, tar, {
      "Content-Type": "application/x-tar"
    })
    const id = r.text.trim().split("\n").map((l) => /"stream":"([0-9a-f]{64})\\n"/.exec(l)?.[1]).filter((x) => x !== undefined).pop()
    if (r.status !== 200 || id === undefined) throw new Error(`build of ${tag} failed: ${r.status} ${r.text.slice(-500)}`)
    return id
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Pushes a local image to `destination` (a registry reference), with credentials. */
export const pushImage = async (socket: string, name: string, destination: string, auth: { readonly username: string; readonly password: string }) => {
  const r = await podmanRaw(
    socket,
    "POST",
    `/v4.0.0/libpod/images/${encodeURIComponent(name)}/push?destination=${encodeURIComponent(destination)}&tlsVerify=false`,
    undefined,
    { "X-Registry-Auth": registryAuthHeader(auth.username, auth.password) }
  )
  if (r.status !== 200 || r.text.includes("\"error\"")) throw new Error(`push of ${name} failed: ${r.status} ${r.text.slice(0, 300)}`)
}

/** Removes an image name or id (force: also its containers); 404 is fine. */
export const removeImage = async (socket: string, ref: string, force = false) => {
  const r = await podmanRaw(socket, "DELETE", `/v4.0.0/libpod/images/${encodeURIComponent(ref)}?force=${force}`)
  if (r.status !== 200 && r.status !== 404) throw new Error(`removing image ${ref} failed: ${r.status} ${r.text}`)
}

/** The names of an image, or undefined when it is gone. */
export const imageNames = async (socket: string, ref: string): Promise<ReadonlyArray<string> | undefined> => {
  const r = await podmanRaw(socket, "GET", `/v4.0.0/libpod/images/${encodeURIComponent(ref)}/json`)
  if (r.status === 404) return undefined
  return (JSON.parse(r.text) as { RepoTags?: Array<string> }).RepoTags ?? []
}

/**
 * An image only the registry has: built `FROM base` with a unique label (so its id is new to this
 * Podman), pushed, and the local copy removed. Returns the registry reference and the image id.
 */
export const remoteOnlyImage = async (
  socket: string,
  registry: string,
  auth: { readonly username: string; readonly password: string },
  name: string,
  containerfileTail = ""
): Promise<{ readonly ref: string; readonly id: string }> => {
  const local = `localhost/${name}:latest`
  const id = await buildImage(socket, local, `FROM localhost/busybox:latest\nLABEL unique=${name}\n${containerfileTail}`)
  const ref = `${registry}/test/${name}:latest`
  await pushImage(socket, local, ref, auth)
  await removeImage(socket, local)
  return { ref, id }
}
