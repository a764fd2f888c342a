/** Minimal libpod REST calls the e2e test uses to look behind the plugin's back. */
import { libpod, podmanSocketPath } from "../libpod.ts"

/** One libpod call on `address` (`unix:///…` or a path); `body` is the JSON, else the text. */
export const podmanRequest = async (address: string, method: "GET" | "POST" | "DELETE", path: string): Promise<{ status: number; body: any }> => {
  const r = await libpod(method, `/v4.0.0/libpod${path}`, undefined, podmanSocketPath(address))
  return { status: r.status, body: r.json ?? (r.text === "" ? undefined : r.text) }
}

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
