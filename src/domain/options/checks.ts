/** Checks shared by task and plugin option declarations (Schema filters and small codecs). */
import { Result, Schema } from "effect"
import { MAX_PATH_BYTES, utf8Length } from "../limits.ts"
import { isIPAddress, isIPv4, isIPv6, isMacAddress } from "../values/addresses.ts"
import { absolutePathProblem } from "../values/mounts.ts"
import { quote, type TextCodec } from "../values/text.ts"

/** A string Schema with a predicate and the reason it fails. */
export const filter = (predicate: (s: string) => boolean, reason: (s: string) => string) =>
  Schema.String.check(Schema.makeFilter((s: string) => predicate(s) || reason(s)))

/** An integer between `minimum` and `maximum`. */
export const intIn = (minimum: number, maximum: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))

/** A port number. */
export const Port = intIn(1, 65535)

export const NonEmpty = filter((s) => s.trim() !== "", () => "must not be empty")
export const IPAddress = filter(isIPAddress, (s) => `invalid IP address ${quote(s)}`)
export const IPv4Address = filter(isIPv4, (s) => `invalid IPv4 address ${quote(s)}`)
export const IPv6Address = filter(isIPv6, (s) => `invalid IPv6 address ${quote(s)}`)
export const MacAddress = filter(isMacAddress, (s) => `invalid MAC address ${quote(s)}`)

/** An absolute path within PATH_MAX (`working_dir`, `init_path`); empty = unset. */
export const AbsolutePath = Schema.String.check(
  Schema.makeFilter((s: string) => s === "" || (absolutePathProblem(s, "the path") ?? true))
)

/**
 * The program to run (`command`, the first `entrypoint` entry): the kernel refuses an executable
 * name longer than PATH_MAX, and runc 1.1 wedges Podman on one over 64 KiB (docs/podman.md).
 */
export const Executable = filter(
  (s) => s.length * 3 <= MAX_PATH_BYTES || utf8Length(s) <= MAX_PATH_BYTES,
  (s) => `the executable ${quote(s)} is longer than PATH_MAX (${MAX_PATH_BYTES} bytes)`
)

/** Linux HOST_NAME_MAX. */
const MAX_HOSTNAME = 64

/** A container hostname: what sethostname(2) takes. */
export const Hostname = filter(
  (s) => utf8Length(s) <= MAX_HOSTNAME && !/[\s/]/.test(s),
  (s) => `invalid hostname ${quote(s)} (at most ${MAX_HOSTNAME} bytes, no spaces or slashes)`
)

/** The Linux capabilities, without `CAP_` (Podman also checks them against the running kernel's). */
const capabilities = new Set([
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
  "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
  "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
  "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
  "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
  "CHECKPOINT_RESTORE"
])

/** A capability name (`NET_ADMIN`, `cap_net_admin`) or `ALL`, as Podman reads them (case-insensitive). */
export const Capability = filter(
  (s) => {
    const name = s.trim().toUpperCase()
    return name === "ALL" || capabilities.has(name.replace(/^CAP_/, ""))
  },
  (s) => `unknown capability ${quote(s)} (expected a Linux capability such as NET_ADMIN, or ALL)`
)

/** A sysctl name (`net.core.somaxconn`, `kernel/shm_rmid_forced`). */
export const SysctlName = filter(
  (s) => /^[a-zA-Z0-9_]+(?:[./][a-zA-Z0-9_*-]+)+$/.test(s),
  (s) => `invalid sysctl name ${quote(s)} (expected dotted names such as net.core.somaxconn)`
)

/** A codec for one of a few literal words. */
export const oneOf = <const L extends string>(values: ReadonlyArray<L>, reason: (s: string) => string): TextCodec<L> => ({
  parse: (s) => ((values as ReadonlyArray<string>).includes(s) ? Result.succeed(s as L) : Result.fail(reason(s))),
  format: (l) => l
})

/** The log drivers the driver supports. */
export const logDriver = oneOf(
  ["nomad", "journald"],
  (s) => `unsupported logging driver ${quote(s)} (expected "nomad" or "journald")`
)
