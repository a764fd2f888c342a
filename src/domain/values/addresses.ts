/** IP and MAC addresses, and `/etc/hosts` entries (`extra_hosts = ["db:10.0.0.2"]`). */
import { isIP } from "node:net"
import { fromParser, quote, type TextCodec } from "./text.ts"

/** True for a textual IPv4 address. */
export const isIPv4 = (s: string): boolean => isIP(s) === 4
/** True for a textual IPv6 address (no zone, no brackets). */
export const isIPv6 = (s: string): boolean => isIP(s) === 6
/** True for a textual IPv4 or IPv6 address. */
export const isIPAddress = (s: string): boolean => isIP(s) !== 0
/** True for a 48-bit MAC address written `aa:bb:cc:dd:ee:ff` (or with `-`). */
export const isMacAddress = (s: string): boolean => /^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$/.test(s)

/** An `/etc/hosts` entry. */
export interface ExtraHost {
  readonly host: string
  readonly ip: string
}

/** The codec of `extra_hosts` entries: `host:ip` (the IP may be IPv6: the host ends at the first `:`). */
export const extraHost: TextCodec<ExtraHost> = fromParser(
  (s) => {
    const i = s.indexOf(":")
    return i > 0 && isIPAddress(s.slice(i + 1)) ? { host: s.slice(0, i), ip: s.slice(i + 1) } : undefined
  },
  (h) => `${h.host}:${h.ip}`,
  (s) => `invalid extra host ${quote(s)} (expected host:ip)`
)
