/**
 * A tiny libpod REST helper for tests: one JSON request over the Podman unix socket with node:http,
 * nothing else (the driver's own client is under test elsewhere; this one must stay trivially right).
 */
import * as http from "node:http"

export interface LibpodResponse {
  readonly status: number
  readonly text: string
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  readonly json: any
}

/** The unix socket path of `PODMAN_SOCKET` (`unix:///x/podman.sock` or a bare path). */
export const podmanSocketPath = (value = process.env.PODMAN_SOCKET ?? ""): string =>
  value.startsWith("unix://") ? value.slice("unix://".length) : value

/** Sends one request; `path` includes the version prefix, e.g. `/v4.0.0/libpod/info`. */
export const libpod = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
  socketPath = podmanSocketPath()
): Promise<LibpodResponse> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = http.request(
      {
        socketPath,
        path,
        method,
        host: "d",
        headers: payload === undefined ? {} : { "Content-Type": "application/json", "Content-Length": payload.length }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let json: unknown
          try {
            json = text === "" ? undefined : JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, text, json })
        })
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.setTimeout(60_000, () => req.destroy(new Error(`libpod ${method} ${path} timed out`)))
    if (payload !== undefined) req.write(payload)
    req.end()
  })

/** Force-removes a container (no stop grace period); 404 counts as removed. */
export const removeContainer = async (idOrName: string): Promise<void> => {
  const r = await libpod("DELETE", `/v4.0.0/libpod/containers/${encodeURIComponent(idOrName)}?force=true&timeout=0`)
  if (r.status !== 200 && r.status !== 204 && r.status !== 404) {
    throw new Error(`removing container ${idOrName} failed (${r.status}): ${r.text}`)
  }
}
