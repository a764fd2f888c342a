/**
 * Reading cgroup files through the HostFiles service: v1 and v2 layouts (a FAKE in-memory
 * HostFiles holding the files), a missing cgroup gives `undefined` (no defect, no failure), and the
 * live layer's errors are typed HostFileErrors naming the path and kind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import { readCgroupStats } from "../../src/driver/cgroup.ts"
import { HostFileError } from "../../src/domain/errors.ts"
import { HostFiles } from "../../src/services/HostFiles.ts"

/** A FAKE HostFiles over a map of path → text; anything else is NotFound. */
const fakeHostFiles = (files: Record<string, string>) =>
  Layer.succeed(HostFiles, HostFiles.of({
    readText: (path) =>
      path in files
        ? Effect.succeed(files[path]!)
        : Effect.fail(new HostFileError({ operation: "read", path, kind: "NotFound", detail: "no such file" })),
    writeText: (path) => Effect.fail(new HostFileError({ operation: "write", path, kind: "NotFound", detail: "not used here" })),
    openForTail: (path) => Effect.fail(new HostFileError({ operation: "open", path, kind: "NotFound", detail: "not used here" })),
    identity: (path) => Effect.fail(new HostFileError({ operation: "stat", path, kind: "NotFound", detail: "not used here" })),
    watch: (path) => Effect.fail(new HostFileError({ operation: "watch", path, kind: "NotFound", detail: "not used here" })),
    prepareWatch: Effect.void
  }))

const cg = "/libpod_parent/libpod-abc"

describe("readCgroupStats", () => {
  it.effect("cgroup v1: per-controller files, peak usage and throttling", () =>
    readCgroupStats(cg).pipe(
      Effect.map((s) =>
        expect(s).toEqual({ usage: 5000, rss: 3000, cache: 1500, swap: 0, maxUsage: 8000, throttledPeriods: 2, throttledTime: 1234 })
      ),
      Effect.provide(fakeHostFiles({
        [`/sys/fs/cgroup/memory${cg}/memory.stat`]: "cache 1500\nrss 3000\nmapped_file 7\n",
        [`/sys/fs/cgroup/memory${cg}/memory.usage_in_bytes`]: "5000\n",
        [`/sys/fs/cgroup/memory${cg}/memory.max_usage_in_bytes`]: "8000\n",
        [`/sys/fs/cgroup/cpu${cg}/cpu.stat`]: "nr_periods 10\nnr_throttled 2\nthrottled_time 1234\n"
      }))
    ))

  it.effect("cgroup v2: the unified hierarchy (usec throttling to ns), optional files missing", () =>
    readCgroupStats("/machine.slice/libpod-abc.scope").pipe(
      Effect.map((s) =>
        expect(s).toEqual({ usage: 4096, rss: 2048, cache: 1024, swap: 0, maxUsage: undefined, throttledPeriods: 3, throttledTime: 5000 })
      ),
      Effect.provide(fakeHostFiles({
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/memory.stat": "anon 2048\nfile 1024\n",
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/memory.current": "4096",
        "/sys/fs/cgroup/machine.slice/libpod-abc.scope/cpu.stat": "nr_throttled 3\nthrottled_usec 5\n"
      }))
    ))

  it.effect("no readable cgroup, or an unsafe path: undefined", () =>
    Effect.gen(function*() {
      expect(yield* readCgroupStats(cg)).toBeUndefined()
      expect(yield* readCgroupStats("/../../etc")).toBeUndefined()
      expect(yield* readCgroupStats("relative")).toBeUndefined()
    }).pipe(Effect.provide(fakeHostFiles({}))))
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
})
