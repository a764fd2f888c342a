/**
 * Podman's own k8s-file copy of a task's output is bounded (`logging.max_size`) and forwarding
 * still delivers every line: a task writing five times the limit, in bursts of half the limit at
 * full speed, leaves a log file within the limit in Podman's storage, and its log sink has every
 * line exactly once, in order. Real Podman (the shared sandbox), the in-memory log sink.
 *
 * Why bursts: the driver must notice each of conmon's rotations while the renamed-away file still
 * exists (until the next rotation). One uninterrupted burst of several times the limit can rotate
 * faster than a busy event loop looks, and a file is then lost with a warning (docs/podman.md, "Logs").
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { Driver } from "../../src/services/Driver.ts"
import { eventually } from "../support/eventually.ts"
import { cfg, libpod, sig, stderr, stdoutEventually, trackedTasks } from "../support/driver.ts"

const tasks = trackedTasks()
const LIMIT = 1024 * 1024

/** `line-<i>-` and 64 x's: 70-odd bytes a line. */
const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `line-${from + i}-${"x".repeat(64)}\n`).join("")

layer(tasks.layer, { excludeTestServices: true, timeout: "120 seconds" })("bounded k8s-file log", (it) => {
  it.effect("5× the limit in bursts: Podman's copy stays within the limit, every line is forwarded", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = tasks.task("flood")
      const n = 75_000 // ~5.4 MB of output, about 8 MB of k8s-file records
      const burst = 2_500 // ~0.3 MB of records each: each file stays at the path for 3-4 bursts
      const cmd = `i=0; while [ $i -lt ${n / burst} ]; do seq $((i*${burst}+1)) $((i*${burst}+${burst})) | ` +
        `sed 's/.*/line-&-${"x".repeat(64)}/'; sleep 0.3; i=$((i+1)); done; echo done >&2; exec sleep 300`
      const started = yield* d.startTask(t, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", cmd], logging: { max_size: "1m" } }))
      const want = lines(1, n)
      expect(want.length).toBeGreaterThan(5 * LIMIT)
      yield* stdoutEventually(t.id, (s) => expect(s.length).toBe(want.length), "60 seconds")
      yield* stdoutEventually(t.id, (s) => expect(s === want).toBe(true))
      yield* eventually(Effect.map(stderr(t.id), (e) => expect(e).toBe("done\n")), { timeout: "10 seconds", interval: "50 millis" })

      const inspect = (yield* libpod(`/containers/${started.state.containerId}/json`)).body as {
        HostConfig: { LogConfig: { Path: string; Size: string } }
      }
      const logPath = inspect.HostConfig.LogConfig.Path
      expect(inspect.HostConfig.LogConfig.Size).toBe("1.049MB")
      // Podman's copy: the current file only, within the limit (the rotated ones are gone)
      expect(statSync(logPath).size).toBeLessThanOrEqual(LIMIT)
      const logs = readdirSync(path.dirname(logPath)).filter((f) => f.startsWith("ctr.log"))
      expect(logs).toEqual(["ctr.log"])
      yield* d.stopTask(t.id, 1_000, sig("SIGKILL"))
      yield* d.destroyTask(t.id, true)
    }), 120_000)
})
