/**
 * Varlink addresses (varlink.org "Address" section, and the varlink/go resolver):
 *
 * - `unix:/run/org.example.service`: a unix stream socket path,
 * - `unix:@name`: a Linux abstract socket (Node spells it as a path starting with NUL),
 * - `tcp:host:port` (IPv6 hosts in brackets: `tcp:[::1]:12345`).
 *
 * Parameters after `;` (e.g. `unix:/run/x;mode=0666`) are for listeners and ignored by a client.
 */
import { VarlinkTransportError } from "./VarlinkErrors.ts"

export type VarlinkAddress =
  | { readonly _tag: "unix"; readonly path: string; readonly text: string }
  | { readonly _tag: "tcp"; readonly host: string; readonly port: number; readonly text: string }

/** Parses a varlink address; fails with a `connect` transport error naming the bad address. */
export const parseVarlinkAddress = (text: string): VarlinkAddress | VarlinkTransportError => {
  const bad = (detail: string) => new VarlinkTransportError({ kind: "connect", address: text, detail })
  const colon = text.indexOf(":")
  if (colon <= 0) return bad("an address has the form unix:/path, unix:@abstract or tcp:host:port")
  const scheme = text.slice(0, colon)
  const rest = text.slice(colon + 1).split(";")[0]!
  if (scheme === "unix") {
    if (rest === "" || rest === "@") return bad("empty unix socket path")
    if (rest.startsWith("@")) return { _tag: "unix", path: "\0" + rest.slice(1), text }
    // Linux truncates sun_path silently at 108 bytes; refuse instead of connecting elsewhere.
    if (Buffer.byteLength(rest) >= 108) return bad("unix socket path is longer than 107 bytes")
    return { _tag: "unix", path: rest, text }
  }
  if (scheme === "tcp") {
    const portSep = rest.lastIndexOf(":")
    if (portSep <= 0) return bad("tcp address needs host:port")
    let host = rest.slice(0, portSep)
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
    const portText = rest.slice(portSep + 1)
    const port = Number(portText)
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return bad(`invalid tcp port ${JSON.stringify(portText)}`)
    return { _tag: "tcp", host, port, text }
  }
  return bad(`unknown address scheme ${JSON.stringify(scheme)} (expected unix or tcp)`)
}
