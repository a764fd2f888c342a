/**
 * The driver's timing logic under `TestClock`, over the FAKE Podman client (test/support/FakePodman.ts):
 * stop escalation (signal, grace period, SIGKILL), the fingerprint's check interval and period,
 * and the k8s-file tail's poll backoff. No Podman, no real time: the clock only moves when the
 * test moves it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { HostFileError } from "../../src/domain/errors.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { SIGTERM } from "../../src/domain/values/signals.ts"
import { FINGERPRINT_CHECK, FINGERPRINT_PERIOD, fingerprintStream } from "../../src/driver/fingerprint.ts"
import { tailK8sFile } from "../../src/driver/k8sFileLogs.ts"
import { startPosition } from "../../src/domain/LogPosition.ts"
import { Driver } from "../../src/services/Driver.ts"
import { counterFilesOver, HostFiles } from "../../src/services/HostFiles.ts"
import { Podman } from "../../src/services/Podman.ts"
import { makeFakePodman } from "../support/FakePodman.ts"
import { driverOver } from "../support/driverOverFake.ts"

const sleeper = decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"] })

describe("stop escalation", () => {
  it.effect("sends the stop signal, waits the whole grace period, then SIGKILL; the exit is 128 + 9", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"] })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "stubborn" })
        yield* driver.startTask(task, yield* sleeper)
        const stop = yield* Effect.forkChild(driver.stopTask(task.id, "10 seconds", SIGTERM))
        expect(yield* fake.nextSignal).toBe("SIGTERM")
        yield* TestClock.adjust("9999 millis")
        expect(stop.pollUnsafe()).toBeUndefined()
        expect([...fake.containers.values()][0]!.signals).toEqual(["SIGTERM"])
        yield* TestClock.adjust("1 millis")
        expect(yield* fake.nextSignal).toBe("SIGKILL")
        yield* Fiber.join(stop)
        expect(yield* driver.waitTask(task.id)).toMatchObject({ exitCode: 137, signal: 9 })
        yield* driver.destroyTask(task.id, true)
      }).pipe(Effect.provide(driverOver(fake.client)))
    }))

  it.effect("a task that dies of the stop signal gets no SIGKILL, and the stop returns at once", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGTERM", "SIGKILL"] })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "polite" })
        yield* driver.startTask(task, yield* sleeper)
        yield* driver.stopTask(task.id, "10 seconds")
        expect(yield* driver.waitTask(task.id)).toMatchObject({ exitCode: 143, signal: 15 })
        expect([...fake.containers.values()][0]!.signals).toEqual(["SIGTERM"])
        yield* driver.destroyTask(task.id, true)
      }).pipe(Effect.provide(driverOver(fake.client)))
    }))

  it.effect("destroy(force) of a running task sends one SIGKILL, not two", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"] })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "forced" })
        yield* driver.startTask(task, yield* sleeper)
        yield* driver.destroyTask(task.id, true)
        expect([...fake.containers.values()]).toEqual([]) // gc.container: removed
        expect(yield* Queue.size(fake.signalQueue)).toBe(1)
      }).pipe(Effect.provide(driverOver(fake.client)))
    }))
})

describe("fingerprint timing", () => {
  it.effect("one at once; a check every FINGERPRINT_CHECK reports a change at once; unchanged health is repeated every FINGERPRINT_PERIOD", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      const seen = yield* Queue.unbounded<string>()
      const stream = yield* fingerprintStream.pipe(Effect.provide(PodmanLayers.layerClient(fake.client)))
      yield* Effect.forkChild(Stream.runForEach(stream, (fp) => Queue.offer(seen, fp.health)))
      expect(yield* Queue.take(seen)).toBe("healthy")
      yield* fake.nextPing // the first check's
      yield* fake.nextPing // the first fingerprint's

      // checks keep coming (one ping each), but nothing changed: nothing is sent before the period is over
      yield* TestClock.adjust(FINGERPRINT_CHECK)
      yield* fake.nextPing
      yield* TestClock.adjust(FINGERPRINT_CHECK)
      yield* fake.nextPing
      expect(yield* Queue.size(seen)).toBe(0)
      yield* TestClock.adjust(FINGERPRINT_PERIOD)
      expect(yield* Queue.take(seen)).toBe("healthy")

      // a socket going down is reported at the next check, not a period later
      yield* fake.setHealthy(false)
      yield* TestClock.adjust(FINGERPRINT_CHECK)
      expect(yield* Queue.take(seen)).toBe("undetected")
    }))
})

describe("k8s-file tail backoff", () => {
  /**
   * A log file that never grows and is never rotated; every look at it (each poll asks its size
   * once) is counted. `watched`: its directory's watch works and never reports a change; else
   * there is no watch and the tail polls.
   */
  const quietFile = (reads: Queue.Queue<number>, watched: boolean) =>
    Layer.succeed(HostFiles, HostFiles.of({
      readText: () => Effect.succeed(""),
      counterFiles: counterFilesOver(() => Effect.succeed("")),
      writeText: () => Effect.void,
      openForTail: () =>
        Effect.succeed({
          readAt: () => Effect.succeed(0),
          size: Effect.as(Queue.offer(reads, 0), 0),
          identity: Effect.succeed("1:1"),
          fd: undefined
        }),
      identity: () => Effect.succeed("1:1"),
      watch: (path) =>
        watched
          ? Effect.succeed({ changed: Effect.never, working: Effect.succeed(true), arrivals: undefined })
          : Effect.fail(new HostFileError({ operation: "watch", path, kind: "Unknown", detail: "fake" })),
      prepareWatch: Effect.void
    }))

  /**
   * Tails the quiet file: the first look at once, then one after each of `pauses` (none before);
   * the container exits in the middle of the next pause: the tail looks once more and ends at once.
   */
  const expectLooks = (options: { readonly watched: boolean; readonly pollMillis?: number }, pauses: ReadonlyArray<number>) =>
    Effect.gen(function*() {
      const reads = yield* Queue.unbounded<number>()
      const exit = yield* Deferred.make<void>()
      const tail = yield* Effect.forkChild(
        tailK8sFile({
          path: "/fake/ctr.log",
          position: startPosition,
          exited: Deferred.isDone(exit),
          awaitExit: Deferred.await(exit),
          ...(options.pollMillis !== undefined ? { pollMillis: options.pollMillis } : {})
        }).pipe(
          Stream.runDrain,
          Effect.provide(quietFile(reads, options.watched))
        )
      )
      yield* Queue.take(reads) // the first read, at once
      for (const pause of pauses) {
        yield* TestClock.adjust(pause - 1)
        expect(yield* Queue.size(reads)).toBe(0)
        yield* TestClock.adjust(1)
        yield* Queue.take(reads)
      }
      yield* Deferred.succeed(exit, undefined)
      yield* Queue.take(reads)
      yield* Fiber.join(tail)
    })

  it.effect("a quiet log is polled ever more slowly (100, 200 ms, then every 250 ms); the exit cuts a pause short", () =>
    expectLooks({ watched: false, pollMillis: 100 }, [100, 200, 250, 250, 250]))

  it.effect("a watched quiet log is looked at again only as a safety net (1, 2, 4, 8, then every 10 s)", () =>
    expectLooks({ watched: true }, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]))
})

// the fake's Podman must be the one the driver uses (not a stray live layer)
describe("fake wiring", () => {
  it.effect("the driver over the fake answers its capabilities from the fake client", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      const caps = yield* Driver.use((d) => d.capabilities).pipe(Effect.provide(driverOver(fake.client)))
      expect(caps.exec).toBe(false)
      const clients = yield* Podman.use((p) => p.clients).pipe(Effect.provide(PodmanLayers.layerClient(fake.client)))
      expect(clients[0]!.address).toBe("unix:///fake.sock")
    }))
})
