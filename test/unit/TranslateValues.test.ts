/**
 * The small value parsers shared by the decoder and the translation: Go durations, memory sizes,
 * signals, ulimits, addresses, globs.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  globMatch,
  isIPAddress,
  isMacAddress,
  parseGoDuration,
  parseMemory,
  parseUlimit,
  rlimitName,
  signalNumber
} from "../../src/translate/values.ts"

describe("parseGoDuration", () => {
  it("parses Go syntax into milliseconds", () => {
    expect(parseGoDuration("0")).toBe(0)
    expect(parseGoDuration("300ms")).toBe(300)
    expect(parseGoDuration("5m")).toBe(300_000)
    expect(parseGoDuration("1h30m")).toBe(5_400_000)
    expect(parseGoDuration("1.5s")).toBe(1500)
    expect(parseGoDuration("+2s")).toBe(2000)
    expect(parseGoDuration("1m0.5s")).toBe(60_500)
    expect(parseGoDuration("1500us")).toBe(1.5)
    expect(parseGoDuration("2µs")).toBe(0.002)
  })

  it("rejects what Go rejects (and negatives)", () => {
    for (const bad of ["", "5", "m", "1d", "5 m", "-5m", "1h-5m", "ms", "1.2.3s", "1e3s"]) expect(parseGoDuration(bad)).toBeUndefined()
  })

  it("a concatenation of parts is the sum of the parts", () => {
    const part = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]))
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([n, [u]]) => `${n}${u}`).join("")
        expect(parseGoDuration(text)).toBe(parts.reduce((sum, [n, [, ms]]) => sum + n * (ms as number), 0))
      })
    )
  })
})

describe("parseMemory", () => {
  it("every suffix spelling of the same size gives the same bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        for (const [suffixes, mult] of [[["k", "K", "kb", "KB", "KiB", "kib"], 1024], [["m", "M", "mb", "MiB"], 1048576], [["g", "GB", "GiB"], 1073741824]] as const) {
          for (const s of suffixes) expect(parseMemory(`${n}${s}`)).toBe(n * mult)
        }
        expect(parseMemory(`${n}`)).toBe(n)
        expect(parseMemory(`${n}b`)).toBe(n)
      })
    )
  })
})

describe("signals", () => {
  it("names with or without SIG, any case, numbers and real-time offsets", () => {
    expect(signalNumber("SIGTERM")).toBe(15)
    expect(signalNumber("term")).toBe(15)
    expect(signalNumber("SIGKILL")).toBe(9)
    expect(signalNumber("SIGUSR2")).toBe(12)
    expect(signalNumber("9")).toBe(9)
    expect(signalNumber("SIGRTMIN+2")).toBe(36)
    expect(signalNumber("RTMAX-1")).toBe(63)
    for (const bad of ["", "SIGNOPE", "0", "65", "SIGRTMIN+40", "constructor", "toString"]) expect(signalNumber(bad)).toBeUndefined()
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
  })
})

describe("addresses and globs", () => {
  it("IP and MAC addresses", () => {
    expect(isIPAddress("10.0.0.1")).toBe(true)
    expect(isIPAddress("fd00::1")).toBe(true)
    expect(isIPAddress("10.0.0")).toBe(false)
    expect(isMacAddress("02:42:ac:11:00:02")).toBe(true)
    expect(isMacAddress("02-42-AC-11-00-02")).toBe(true)
    expect(isMacAddress("02:42-ac:11:00:02")).toBe(false)
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
