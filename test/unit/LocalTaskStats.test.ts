/**
 * TaskStats of a container on this host, from its cgroup files (src/driver/taskStats.ts), under
 * `TestClock`: a sample at once, then one per interval with the CPU rate of the counters' change
 * over the interval; no Podman stats call. Over the FAKE Podman client (test/support/FakePodman.ts)
 * and a FAKE HostFiles holding the cgroup v1 files the test changes as it goes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import type { TaskStatsSample } from "../../src/domain/results.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { Driver } from "../../src/services/Driver.ts"
import { mapHostFiles } from "../support/FakeHostFiles.ts"
import { makeFakePodman } from "../support/FakePodman.ts"
import { driverOver } from "../support/driverOverFake.ts"

const cg = "/libpod_parent/libpod-fake"
const sleeper = decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"] })

describe("TaskStats of a local container", () => {
  it.effect("samples the cgroup: at once, then each interval, CPU rate over the interval, memory breakdown", () =>
    Effect.gen(function*() {
      const files = new Map<string, string>([
        [`/sys/fs/cgroup/memory${cg}/memory.stat`, "cache 1000\nrss 3000\n"],
        [`/sys/fs/cgroup/memory${cg}/memory.usage_in_bytes`, "4000\n"],
        [`/sys/fs/cgroup/memory${cg}/memory.max_usage_in_bytes`, "9000\n"],
        [`/sys/fs/cgroup/cpu${cg}/cpu.stat`, "nr_periods 4\nnr_throttled 1\nthrottled_time 77\n"],
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage`, "1000000000\n"],
        [`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage_sys`, "200000000\n"]
      ])
      const fake = yield* makeFakePodman({ localCgroup: cg })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "measured" })
        yield* driver.startTask(task, yield* sleeper)
        const samples = yield* Queue.unbounded<TaskStatsSample>()
        const reader = yield* Effect.forkChild(Stream.runForEach(driver.taskStats(task.id, "1 second"), (s) => Queue.offer(samples, s)))

        const first = yield* Queue.take(samples)
        expect(first.memory).toMatchObject({ usage: 4000, rss: 3000, cache: 1000, maxUsage: 9000 })
        expect(first.cpu.percent).toBe(0)

        // half a core over the next second, a fifth of it in the kernel
        files.set(`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage`, "1500000000\n")
        files.set(`/sys/fs/cgroup/cpuacct${cg}/cpuacct.usage_sys`, "300000000\n")
        files.set(`/sys/fs/cgroup/memory${cg}/memory.usage_in_bytes`, "5000\n")
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Queue.poll(samples))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const second = yield* Queue.take(samples)
        expect(second.cpu.percent).toBeCloseTo(50)
        expect(second.cpu.systemMode).toBeCloseTo(10)
        expect(second.cpu.userMode).toBeCloseTo(40)
        expect(second.cpu).toMatchObject({ throttledPeriods: 1, throttledTime: 77 })
        expect(second.cpu.measured).toEqual(expect.arrayContaining(["Percent", "System Mode", "User Mode", "Throttled Periods", "Throttled Time"]))
        expect(second.memory).toMatchObject({ usage: 5000, rss: 3000, maxUsage: 9000 })
        expect(second.memory.measured).toEqual(["RSS", "Cache", "Swap", "Usage", "Max Usage"])

        // idle for the next second: 0 %
        yield* TestClock.adjust("1 second")
        expect((yield* Queue.take(samples)).cpu.percent).toBe(0)

        // the exit ends the stream
        const stop = yield* Effect.forkChild(driver.stopTask(task.id, "1 second"))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(stop)
        yield* Fiber.join(reader)
        yield* driver.destroyTask(task.id, true)
      }).pipe(Effect.provide(driverOver(fake.client, undefined, mapHostFiles(files))))
    }))
})
