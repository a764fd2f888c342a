/** Minimal libpod REST calls the e2e test uses to look behind the plugin's back. */
import * as http from "node:http"

const socketOf = (address: string) => address.replace(/^unix:\/\//, "")

export const podmanRequest = (address: string, method: string, path: string): Promise<{ status: number; body: any }> =>
  new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socketOf(address), method, path: `/v4.0.0/libpod${path}`, host: "d", timeout: 30_000 }, (res) => {
      let data = ""
      res.setEncoding("utf8").on("data", (d: string) => (data += d)).on("end", () => {
        let body: unknown = data
        try {
          body = data === "" ? undefined : JSON.parse(data)
        } catch {
          // text body
        }
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.on("error", reject)
    req.end()
  })

/** `running`, `exited`, ... or `gone` (404). */
export const containerState = async (address: string, id: string): Promise<string> => {
  const r = await podmanRequest(address, "GET", `/containers/${encodeURIComponent(id)}/json`)
  if (r.status === 404) return "gone"
  return String(r.body?.State?.Status ?? `http ${r.status}`)
}

/** Names and ids of every container whose name contains `fragment`. */
export const containersNamed = async (address: string, fragment: string): Promise<Array<{ id: string; name: string }>> => {
  const r = await podmanRequest(address, "GET", "/containers/json?all=true")
  return ((r.body ?? []) as Array<{ Id: string; Names: Array<string> }>)
    .filter((c) => c.Names.some((n) => n.includes(fragment)))
    .map((c) => ({ id: c.Id, name: c.Names[0] ?? "" }))
}

export const removeContainer = (address: string, id: string) =>
  podmanRequest(address, "DELETE", `/containers/${encodeURIComponent(id)}?force=true&timeout=0`)
