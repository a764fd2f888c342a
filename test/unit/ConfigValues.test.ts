/**
 * The config's value syntaxes (src/domain/values): Go durations, memory sizes, signals, ulimits,
 * addresses, globs, mounts, devices, namespace modes, security options and image references.
 * Each parses into its domain value, says why bad text is bad, and formats back to text that
 * parses to the same value.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import fc from "fast-check"
import { extraHost, isIPAddress, isMacAddress } from "../../src/domain/values/addresses.ts"
import { formatGoDuration, goDuration, parseGoDuration } from "../../src/domain/values/durations.ts"
import { globMatch } from "../../src/domain/values/globs.ts"
import { imageRef, parseImageRef } from "../../src/domain/values/image.ts"
import { bindMount, deviceRequest, tmpfsMount } from "../../src/domain/values/mounts.ts"
import { ipcMode, networkMode, usernsMode } from "../../src/domain/values/namespaces.ts"
import { securityOpt } from "../../src/domain/values/security.ts"
import { parseSignal, signal, signalOf } from "../../src/domain/values/signals.ts"
import { memorySize, parseBytes, positiveMemorySize, swapLimit } from "../../src/domain/values/sizes.ts"
import type { TextCodec } from "../../src/domain/values/text.ts"
import { parseUlimit, rlimitName, ulimit } from "../../src/domain/values/ulimits.ts"

const ok = <A>(codec: TextCodec<A>, text: string): A => {
  const r = codec.parse(text)
  if (Result.isFailure(r)) throw new Error(`${JSON.stringify(text)} rejected: ${r.failure}`)
  return r.success
}
const reason = <A>(codec: TextCodec<A>, text: string): string => {
  const r = codec.parse(text)
  if (Result.isSuccess(r)) throw new Error(`${JSON.stringify(text)} accepted: ${JSON.stringify(r.success)}`)
  return r.failure
}
/** format(parse(text)) parses to the same value. */
const roundTrips = <A>(codec: TextCodec<A>, text: string) => {
  const value = ok(codec, text)
  expect(ok(codec, codec.format(value))).toEqual(value)
}
const millis = (text: string) => {
  const d = parseGoDuration(text)
  return d === undefined ? undefined : Duration.toMillis(d)
}

describe("Go durations", () => {
  it("parse into Durations with nanosecond precision", () => {
    expect(millis("0")).toBe(0)
    expect(millis("300ms")).toBe(300)
    expect(millis("5m")).toBe(300_000)
    expect(millis("1h30m")).toBe(5_400_000)
    expect(millis("1.5s")).toBe(1500)
    expect(millis("+2s")).toBe(2000)
    expect(millis("1m0.5s")).toBe(60_500)
    expect(millis("1500us")).toBe(1.5)
    expect(Duration.toNanosUnsafe(parseGoDuration("2µs")!)).toBe(2000n)
    expect(Duration.toNanosUnsafe(parseGoDuration("1.5ns")!)).toBe(1n)
  })

  it("reject what Go rejects: negatives, no unit, beyond int64 nanoseconds", () => {
    for (const bad of ["", "5", "m", "1d", "5 m", "-5m", "1h-5m", "ms", "1.2.3s", "1e3s", ".s", "2562048h", "99999999999h"]) {
      expect(parseGoDuration(bad)).toBeUndefined()
    }
    expect(parseGoDuration("2562047h")).toBeDefined()
    expect(reason(goDuration, "5 minutes")).toBe('invalid duration "5 minutes" (expected Go syntax such as 300ms, 30s, 5m, 1h30m)')
  })

  it("a concatenation of parts is the sum of the parts, and formatting gives the same nanoseconds", () => {
    const part = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]))
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([n, [u]]) => `${n}${u}`).join("")
        const d = parseGoDuration(text)!
        expect(Duration.toMillis(d)).toBe(parts.reduce((sum, [n, [, ms]]) => sum + n * (ms as number), 0))
        expect(Duration.toNanosUnsafe(parseGoDuration(formatGoDuration(d))!)).toBe(Duration.toNanosUnsafe(d))
      })
    )
    expect(formatGoDuration(parseGoDuration("90m")!)).toBe("1h30m")
    expect(formatGoDuration(parseGoDuration("1.5s")!)).toBe("1s500ms")
    expect(formatGoDuration(parseGoDuration("0")!)).toBe("0s")
  })
})

describe("memory sizes", () => {
  it("every suffix spelling of the same size gives the same bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        for (const [suffixes, mult] of [[["k", "K", "kb", "KB", "KiB", "kib"], 1024], [["m", "M", "mb", "MiB"], 1048576], [["g", "GB", "GiB"], 1073741824]] as const) {
          for (const s of suffixes) expect(parseBytes(`${n}${s}`)).toBe(n * mult)
        }
        expect(parseBytes(`${n}`)).toBe(n)
        expect(parseBytes(`${n}b`)).toBe(n)
      })
    )
  })

  it("decimals, junk, -1 only for swap, shm_size above 0", () => {
    expect(parseBytes("1.5G")).toBe(1536 * 1048576)
    for (const bad of ["", "m", "1x", "-1", "-2", "1 0m", "abc", "1e3"]) expect(parseBytes(bad)).toBeUndefined()
    expect(reason(memorySize, "-1")).toMatch(/^invalid memory size "-1"/)
    expect(ok(swapLimit, "-1")).toEqual({ _tag: "unlimited" })
    expect(ok(swapLimit, "1g")).toEqual({ _tag: "bytes", bytes: 1073741824 })
    expect(reason(positiveMemorySize, "0")).toBe('invalid size "0" (must be more than 0 bytes)')
    for (const t of ["-1", "64m", "0"]) roundTrips(swapLimit, t)
  })
})

describe("signals", () => {
  it("names with or without SIG, any case, numbers and real-time offsets; canonical names", () => {
    expect(parseSignal("SIGTERM")).toEqual({ number: 15, name: "SIGTERM" })
    expect(parseSignal("term")).toEqual({ number: 15, name: "SIGTERM" })
    expect(parseSignal("9")).toEqual({ number: 9, name: "SIGKILL" })
    expect(parseSignal("SIGIOT")).toEqual({ number: 6, name: "SIGABRT" })
    expect(parseSignal("SIGRTMIN+2")).toEqual({ number: 36, name: "SIGRTMIN+2" })
    expect(parseSignal("RTMAX-1")).toEqual({ number: 63, name: "SIGRTMAX-1" })
    expect(signalOf(50)).toEqual({ number: 50, name: "SIGRTMAX-14" })
    expect(signalOf(10)?.name).toBe("SIGUSR1")
    for (const bad of ["", "SIGNOPE", "0", "32", "65", "SIGRTMIN+40", "constructor", "toString"]) expect(parseSignal(bad)).toBeUndefined()
    expect(reason(signal, "SIGNOPE")).toBe('unknown signal "SIGNOPE"')
  })

  it("every number 1..64 with a signal formats to a name that parses back to it", () => {
    for (let n = 1; n <= 64; n++) {
      const s = signalOf(n)
      if (n === 32 || n === 33) expect(s).toBeUndefined()
      else expect(parseSignal(s!.name)).toEqual(s)
    }
  })
})

describe("ulimits", () => {
  it("soft[:hard], names normalised", () => {
    expect(parseUlimit("1024")).toEqual({ soft: 1024, hard: 1024 })
    expect(parseUlimit("512:1024")).toEqual({ soft: 512, hard: 1024 })
    for (const bad of ["", "a", "1024:512", "-1", "1:2:3", "1.5"]) expect(parseUlimit(bad)).toBeUndefined()
    expect(rlimitName("NOFILE")).toBe("nofile")
    expect(rlimitName("RLIMIT_NPROC")).toBe("nproc")
    expect(rlimitName("files")).toBeUndefined()
    for (const t of ["10", "10:20"]) roundTrips(ulimit, t)
  })
})

describe("addresses and globs", () => {
  it("IP and MAC addresses; extra hosts split at the first colon", () => {
    expect(isIPAddress("10.0.0.1")).toBe(true)
    expect(isIPAddress("fd00::1")).toBe(true)
    expect(isIPAddress("10.0.0")).toBe(false)
    expect(isMacAddress("02:42:ac:11:00:02")).toBe(true)
    expect(isMacAddress("02-42-AC-11-00-02")).toBe(true)
    expect(isMacAddress("02:42-ac:11:00:02")).toBe(false)
    expect(ok(extraHost, "v6:fd00::1")).toEqual({ host: "v6", ip: "fd00::1" })
    expect(reason(extraHost, "noip")).toBe('invalid extra host "noip" (expected host:ip)')
  })

  it("globs: * only", () => {
    expect(globMatch("*", "node_name")).toBe(true)
    expect(globMatch("node_*", "node_id")).toBe(true)
    expect(globMatch("*_id", "job_id")).toBe(true)
    expect(globMatch("job_name", "job_name")).toBe(true)
    expect(globMatch("job.name", "job_name")).toBe(false)
    expect(globMatch("node_?", "node_x")).toBe(false)
  })
})

describe("mounts and devices", () => {
  it("volumes: absolute sources normalised, relative kept, options split; what is wrong is said", () => {
    expect(ok(bindMount, "conf:/etc/app:ro, Z")).toEqual({ source: "conf", destination: "/etc/app", options: ["ro", "Z"] })
    expect(ok(bindMount, "/srv//abs/:/abs/")).toEqual({ source: "/srv/abs/", destination: "/abs/", options: [] })
    expect(reason(bindMount, "a")).toBe('invalid volume "a" (expected source:destination[:options])')
    expect(reason(bindMount, "a:rel")).toBe('the destination "rel" must be an absolute path')
    expect(reason(bindMount, "a:/b:c:d")).toMatch(/^invalid volume/)
    for (const t of ["conf:/etc/app:ro,Z", "/srv/x:/x", "../up:/u:", "a:/b"]) roundTrips(bindMount, t)
  })

  it("tmpfs: an absolute path and options", () => {
    expect(ok(tmpfsMount, "/run/x:size=64m,mode=1777")).toEqual({ destination: "/run/x", options: ["size=64m", "mode=1777"] })
    expect(reason(tmpfsMount, "rel")).toBe('the tmpfs path "rel" must be an absolute path')
    for (const t of ["/scratch", "/run/x:size=1m"]) roundTrips(tmpfsMount, t)
  })

  it("devices: host[:container][:permissions] or a CDI name; formatting gives back what was written", () => {
    expect(ok(deviceRequest, "/dev/fuse")).toEqual({ _tag: "host", host: "/dev/fuse" })
    expect(ok(deviceRequest, "/dev/a:rw")).toEqual({ _tag: "host", host: "/dev/a", permissions: "rw" })
    expect(ok(deviceRequest, "/dev/sda:/dev/xvda:rwm")).toEqual({ _tag: "host", host: "/dev/sda", container: "/dev/xvda", permissions: "rwm" })
    expect(ok(deviceRequest, "nvidia.com/gpu=all")).toEqual({ _tag: "cdi", name: "nvidia.com/gpu=all" })
    for (const bad of ["nodev", "", "/dev/a:rel", "/dev/a:/b:rwx", "/dev/a:/b:rr", "/a:/b:r:x"]) expect(reason(deviceRequest, bad)).toMatch(/^invalid device/)
    for (const t of ["/dev/fuse", "/dev/a:rw", "/dev/sda:/dev/xvda:rwm", "/dev/b:/dev/c", "nvidia.com/gpu=all"]) {
      expect(deviceRequest.format(ok(deviceRequest, t))).toBe(t)
    }
  })
})

describe("namespace modes", () => {
  it("userns", () => {
    expect(ok(usernsMode, "host")).toEqual({ _tag: "host" })
    expect(ok(usernsMode, "keep-id:uid=1000,gid=1000")).toEqual({ _tag: "keep-id", uid: 1000, gid: 1000 })
    expect(ok(usernsMode, "ns:/proc/1/ns/user")).toEqual({ _tag: "ns", path: "/proc/1/ns/user" })
    expect(ok(usernsMode, "auto:size=10,uidmapping=0:1:2")).toEqual({
      _tag: "auto",
      size: 10,
      uidMappings: [{ container_id: 0, host_id: 1, size: 2 }],
      gidMappings: []
    })
    expect(reason(usernsMode, "bogus")).toBe('unknown userns mode "bogus" (expected host, auto, keep-id, nomap or ns:<path>)')
    for (const bad of ["host:x", "keep-id:uid=x", "auto:size=0", "ns:rel"]) reason(usernsMode, bad)
    for (const t of ["host", "nomap", "keep-id", "keep-id:gid=5", "ns:/x", "auto", "auto:size=65536,uidmapping=0:1000:1,gidmapping=0:1000:1"]) {
      roundTrips(usernsMode, t)
    }
  })

  it("ipc_mode and network_mode", () => {
    expect(ok(ipcMode, "task:db")).toEqual({ _tag: "task", task: "db" })
    expect(reason(ipcMode, "bogus:x")).toMatch(/^invalid ipc_mode "bogus:x"/)
    expect(ok(networkMode, "mynet")).toEqual({ _tag: "network", name: "mynet" })
    expect(ok(networkMode, "container:abc")).toEqual({ _tag: "container", container: "abc" })
    expect(reason(networkMode, "bad name!")).toBe('invalid network mode or network name "bad name!"')
    expect(reason(networkMode, "ns:rel")).toBe("ns: needs an absolute namespace path")
    for (const t of ["host", "container:x", "ns:/p", "task:t"]) roundTrips(ipcMode, t)
    for (const t of ["bridge", "pasta", "container:x", "ns:/p", "task:t", "mynet"]) roundTrips(networkMode, t)
  })
})

describe("security_opt", () => {
  it("every supported key, with = or :; what is wrong is said", () => {
    expect(ok(securityOpt, "label:nested")).toEqual({ _tag: "label-nested" })
    expect(ok(securityOpt, "systempaths=unconfined")).toEqual({ _tag: "unmask", paths: ["ALL"] })
    expect(ok(securityOpt, "no-new-privileges=false")).toEqual({ _tag: "no-new-privileges", enabled: false })
    expect(reason(securityOpt, "bogus=1")).toBe('unknown security_opt "bogus"')
    expect(reason(securityOpt, "nonsense")).toBe('invalid security_opt "nonsense"')
    expect(reason(securityOpt, "mask=:")).toBe('security_opt "mask" needs a value')
    for (
      const t of ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=false", "label=level:s0:c100", "label:nested", "apparmor=p",
        "seccomp=unconfined", "proc-opts=subset=pid", "mask=/a:/b", "unmask=ALL", "unmask=/x"]
    ) roundTrips(securityOpt, t)
  })
})

describe("image references", () => {
  const reg = (image: string) => {
    const r = ok(imageRef, image)
    if (r._tag !== "registry") throw new Error(`not a registry ref: ${JSON.stringify(r)}`)
    return r
  }

  it("docker:// is stripped and normalised; the text written is kept", () => {
    expect(reg("docker://redis")).toMatchObject({ text: "docker://redis", ref: "docker.io/library/redis:latest", registry: "docker.io", shortName: false })
    expect(reg("docker://bitnami/redis:7")).toMatchObject({ ref: "docker.io/bitnami/redis:7", registry: "docker.io" })
    expect(reg("docker://localhost/busybox")).toMatchObject({ ref: "localhost/busybox:latest", registry: "localhost" })
  })

  it("short names are passed through untouched, with no registry", () => {
    expect(reg("redis:7")).toEqual({ _tag: "registry", text: "redis:7", ref: "redis:7", repository: "redis", tag: "7", shortName: true })
    expect(reg("library/redis")).toMatchObject({ ref: "library/redis", shortName: true })
    expect(reg("library/redis").registry).toBeUndefined()
  })

  it("host:port without a tag, with a tag, and digests", () => {
    expect(reg("127.0.0.1:5000/test/busybox")).toMatchObject({ ref: "127.0.0.1:5000/test/busybox:latest", registry: "127.0.0.1:5000", repository: "test/busybox", tag: "latest" })
    expect(reg("127.0.0.1:5000/test/busybox:1.36")).toMatchObject({ registry: "127.0.0.1:5000", tag: "1.36" })
    const d = "sha256:" + "ab".repeat(32)
    expect(reg(`quay.io/org/app@${d}`)).toMatchObject({ ref: `quay.io/org/app@${d}`, digest: d })
    expect(reg(`quay.io/org/app:v1@${d}`)).toMatchObject({ ref: `quay.io/org/app:v1@${d}`, tag: "v1", digest: d })
  })

  it("archives: path or URL", () => {
    expect(ok(imageRef, "oci-archive:/tmp/img.tar")).toEqual({ _tag: "archive", text: "oci-archive:/tmp/img.tar", format: "oci-archive", source: { _tag: "path", path: "/tmp/img.tar" } })
    expect(ok(imageRef, "docker-archive:/tmp/img.tar:app:v1")).toMatchObject({
      _tag: "archive",
      format: "docker-archive",
      source: { _tag: "path", path: "/tmp/img.tar" },
      reference: "app:v1"
    })
    expect(ok(imageRef, "oci-archive:https://example.com/a/img.tar")).toMatchObject({
      _tag: "archive",
      format: "oci-archive",
      source: { _tag: "url", url: "https://example.com/a/img.tar" }
    })
  })

  it("invalid references say why", () => {
    for (const bad of ["", "UPPER/case", "a/b:bad tag", "x@sha256:short", "oci-archive:", "docker://"]) {
      expect(Result.isFailure(parseImageRef(bad))).toBe(true)
    }
    expect(reason(imageRef, "UPPER/case")).toMatch(/^invalid repository name "UPPER\/case"/)
  })

  it("long input is cut in reasons (a hostile config cannot flood the log)", () => {
    const long = "x".repeat(5000)
    expect(reason(signal, long).length).toBeLessThan(300)
    expect(reason(signal, long)).toContain("(5000 characters)")
  })
})
