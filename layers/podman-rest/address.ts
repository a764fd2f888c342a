/**
 * Parses a configured Podman address into how node:http reaches it.
 *
 * Accepted forms: `unix:///abs/path.sock`, `unix:/abs/path`, a bare `/abs/path` (unix sockets),
 * and `http://host:port[/prefix]` / `https://...` (used as the base URL).
 */

export type Endpoint =
  | { readonly _tag: "unix"; readonly socketPath: string; readonly baseUrl: string }
  | { readonly _tag: "tcp"; readonly baseUrl: string; readonly host: string; readonly port: number; readonly tls: boolean }
  | { readonly _tag: "invalid"; readonly reason: string }

/** Host part used for unix-socket requests. Podman ignores it; `d` keeps request lines short. */
const UNIX_BASE = "http://d"

export const parseAddress = (address: string): Endpoint => {
  const a = address.trim()
  if (a.startsWith("unix://")) {
    const p = a.slice("unix://".length)
    return p.startsWith("/") ? { _tag: "unix", socketPath: p, baseUrl: UNIX_BASE } : { _tag: "invalid", reason: "unix socket path must be absolute" }
  }
  if (a.startsWith("unix:")) {
    const p = a.slice("unix:".length)
    return p.startsWith("/") ? { _tag: "unix", socketPath: p, baseUrl: UNIX_BASE } : { _tag: "invalid", reason: "unix socket path must be absolute" }
  }
  if (a.startsWith("/")) return { _tag: "unix", socketPath: a, baseUrl: UNIX_BASE }
  if (a.startsWith("http://") || a.startsWith("https://")) {
    try {
      const u = new URL(a)
      const tls = u.protocol === "https:"
      return {
        _tag: "tcp",
        baseUrl: `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`,
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port === "" ? (tls ? 443 : 80) : Number(u.port),
        tls
      }
    } catch {
      return { _tag: "invalid", reason: "not a valid URL" }
    }
  }
  return { _tag: "invalid", reason: "expected unix:///path, /path or http(s)://host:port" }
}
