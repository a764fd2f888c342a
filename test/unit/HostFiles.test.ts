/**
 * Reading cgroup files through the HostFiles service: v1 and v2 layouts (a FAKE in-memory
 * HostFiles holding the files), a missing cgroup gives `undefined` (no defect, no failure); the
 * live layer's errors are typed HostFileErrors naming the path and kind, and its counter files are
 * read again from their start at each read (kept open for the Scope).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import { cgroupReader } from "../../src/driver/cgroup.ts"
import { HostFiles } from "../../src/services/HostFiles.ts"
import { mapHostFiles } from "../support/FakeHostFiles.ts"

/** The FAKE HostFiles (test/support/FakeHostFiles.ts) over these files; reads are noted in `tried`. */
const fakeHostFiles = (files: Record<string, string>, tried: Array<string> = []) => mapHostFiles(new Map(Object.entries(files)), tried)

/** One reading of the cgroup by a fresh reader (undefined when none can be made). */
const readOnce = (p: string) => Effect.scoped(Effect.flatMap(cgroupReader(p), (read) => read ?? Effect.succeed(undefined)))

const cg = "/libpod_parent/libpod-abc"

describe("cgroupReader", () => {
  it.effect("cgroup v1: per-controller files, peak usage and throttling", () =>
    readOnce(cg).pipe(
      Effect.map((s) =>
        expect(s).toEqual({
          usage: 5000,
          rss: 3000,
          cache: 1500,
          swap: 0,
          maxUsage: 8000,
          throttledPeriods: 2,
          throttledTime: 1234,
          cpuNano: 9_000_000_000,
          cpuSystemNano: 2_500_000_000
        })
      ),
      Effect.provide(fakeHostFiles({
        [`/sys/fs/cgroup/memory${cg}/memory.stat`]: "cache 1500\nrss 3000\nmapped_file 7\n",
        [`/sys/fs/cgroup/memory${cg}/memory.usage_in_bytes`]: "5000\n",
        [`/sys/fs/cgroup/memory${cg}/memory.max_usage_in_bytes`]: "8000\n",
        [`/sys/fs/cgroup/cpu${cg}/cpu.stat`]: "nr_periods 10\nnr_throttled 2\nthrottled_time 1234\n",
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage`]: "9000000000\n",
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage_sys`]: "2500000000\n"
      }))
    ))

  it.effect("cgroup v2: the unified hierarchy (usec throttling to ns), optional files missing", () =>
    readOnce("/machine.slice/libpod-abc.scope").pipe(
      Effect.map((s) =>
        expect(s).toEqual({
          usage: 4096,
          rss: 2048,
          cache: 1024,
          swap: 0,
          maxUsage: undefined,
          throttledPeriods: 3,
          throttledTime: 5000,
          cpuNano: 7_000_000,
          cpuSystemNano: 2_000_000
        })
      ),
      Effect.provide(fakeHostFiles({
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/memory.stat": "anon 2048\nfile 1024\n",
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/memory.current": "4096",
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/cpu.stat": "usage_usec 7000\nuser_usec 5000\nsystem_usec 2000\nnr_throttled 3\nthrottled_usec 5\n"
      }))
    ))

  it.effect("cgroup v1 without cpuacct.usage_sys: the system time from cpuacct.stat's 1/100 s ticks; no cpuacct: CPU unmeasured", () =>
    Effect.gen(function*() {
      const mem = {
        [`/sys/fs/cgroup/memory${cg}/memory.stat`]: "cache 0\nrss 10\n",
        [`/sys/fs/cgroup/memory${cg}/memory.usage_in_bytes`]: "10\n"
      }
      const ticks = yield* readOnce(cg).pipe(Effect.provide(fakeHostFiles({
        ...mem,
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage`]: "300000000\n",
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.stat`]: "user 20\nsystem 7\n"
      })))
      expect(ticks).toMatchObject({ cpuNano: 300_000_000, cpuSystemNano: 70_000_000 })
      const none = yield* readOnce(cg).pipe(Effect.provide(fakeHostFiles(mem)))
      expect(none).toMatchObject({ usage: 10, cpuNano: undefined, cpuSystemNano: undefined })
    }))

  it.effect("a reader finds the layout once: its reads of a v2 cgroup do not try v1 again", () => {
    const p = "/machine.slice/libpod-def.scope"
    const tried: Array<string> = []
    const files = fakeHostFiles({
      [`/sys/fs/cgroup${p}/memory.stat`]: "anon 1\nfile 2\n",
      [`/sys/fs/cgroup${p}/memory.current`]: "3",
      [`/sys/fs/cgroup${p}/cpu.stat`]: "usage_usec 1\nsystem_usec 0\n"
    }, tried)
    return Effect.gen(function*() {
      const read = yield* cgroupReader(p)
      expect(tried.some((f) => f.startsWith("/sys/fs/cgroup/memory/"))).toBe(true)
      tried.length = 0
      expect(yield* read!).toMatchObject({ usage: 3, cpuNano: 1000 })
      expect(tried.length).toBeGreaterThan(0)
      expect(tried.every((f) => f.startsWith(`/sys/fs/cgroup${p}/`))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(files))
  })

  it.effect("no readable cgroup, or an unsafe path: undefined", () =>
    Effect.gen(function*() {
      expect(yield* cgroupReader(cg)).toBeUndefined()
      expect(yield* cgroupReader("/../../etc")).toBeUndefined()
      expect(yield* cgroupReader("relative")).toBeUndefined()
    }).pipe(Effect.scoped, Effect.provide(fakeHostFiles({}))))
})

describe("HostFiles live layer", () => {
  it.live("I/O errors are typed HostFileErrors naming the operation, path and kind", () =>
    Effect.gen(function*() {
      const files = yield* HostFiles
      const e = yield* Effect.flip(files.readText("/nonexistent/ndp/file"))
      expect(e).toMatchObject({ _tag: "HostFileError", operation: "read", path: "/nonexistent/ndp/file", kind: "NotFound" })
      const dir = yield* Effect.flip(Effect.scoped(files.openForTail("/nonexistent/ndp/log")))
      expect(dir).toMatchObject({ _tag: "HostFileError", operation: "open", kind: "NotFound" })
      expect(yield* files.readText("/proc/self/stat")).toMatch(/^\d+ /)
    }).pipe(Effect.provide(HostFilesLayers.layer)))

  it.live("counter files: kept open for the Scope, each read reads the file's whole text now; missing ones are undefined", () =>
    Effect.gen(function*() {
      const files = yield* HostFiles
      const fdsBefore = fs.readdirSync("/proc/self/fd").length
      // /proc/self/schedstat's first field (ns on the CPU) grows between two reads of this busy process
      const counters = yield* files.counterFiles(["/proc/self/schedstat", "/proc/self/nonexistent-ndp", "/proc/self/status"])
      const [a, missing, status] = yield* counters.read
      expect(missing).toBeUndefined()
      expect(status).toMatch(/^Name:/)
      expect(status).toMatch(/\nVmRSS:/) // the whole file, not a first chunk
      let spin = 0
      for (let i = 0; i < 2_000_000; i++) spin += i
      expect(spin).toBeGreaterThan(0)
      const [b] = yield* counters.read
      expect(Number(b!.split(" ")[0])).toBeGreaterThan(Number(a!.split(" ")[0]))
      expect(fs.readdirSync("/proc/self/fd").length).toBe(fdsBefore + 2)
      return fdsBefore
    }).pipe(
      Effect.scoped,
      Effect.map((fdsBefore) => expect(fs.readdirSync("/proc/self/fd").length).toBe(fdsBefore)),
      Effect.provide(HostFilesLayers.layer)
    ))

  it.live("counter files outside /sys and /proc are read whole each time (no descriptor kept)", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ndp-counters-"))
      const file = path.join(dir, "n")
      fs.writeFileSync(file, "1")
      const counters = yield* (yield* HostFiles).counterFiles([file])
      expect(yield* counters.read).toStrictEqual(["1"])
      fs.writeFileSync(file, "22")
      expect(yield* counters.read).toStrictEqual(["22"])
      fs.rmSync(dir, { recursive: true })
      expect(yield* counters.read).toStrictEqual([undefined])
    }).pipe(Effect.scoped, Effect.provide(HostFilesLayers.layer)))
})
