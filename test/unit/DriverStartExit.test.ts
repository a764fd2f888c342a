/**
 * The start path and the exit watcher's patience, under `TestClock` over the FAKE Podman client
 * (test/support/FakePodman.ts): a StartTask of a local image asks Podman for nothing but create and
 * start (no image lookup, no name lookup, no host facts once known, its inspect after the reply);
 * host facts are served at once and refreshed in the background; WaitTask waits for a Podman that
 * is unavailable and answers the true code when it is back, and gives up only after EXIT_PATIENCE.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { SIGKILL } from "../../src/domain/values/signals.ts"
import { EXIT_PATIENCE } from "../../src/driver/exits.ts"
import { FACTS_TTL, makePodmanFacts } from "../../src/driver/podmanFacts.ts"
import { Driver } from "../../src/services/Driver.ts"
import type { PodmanClient } from "../../src/services/Podman.ts"
import { makeFakePodman } from "../support/FakePodman.ts"
import { driverOver } from "../support/driverOverFake.ts"


/** The client with every call's name recorded in `calls`, in order. */
const counting = (client: PodmanClient, calls: Array<string>): PodmanClient =>
  new Proxy(client, {
    get(target, key: string) {
      const value = (target as unknown as Record<string, unknown>)[key]
      if (typeof value === "function") {
        return (...args: Array<unknown>) => {
          calls.push(key)
          return (value as (...a: Array<unknown>) => unknown)(...args)
        }
      }
      if (Effect.isEffect(value)) return Effect.suspend(() => (calls.push(key), value))
      return value
    }
  })

const sleeper = decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"] })

describe("StartTask", () => {
  it.effect("a local image: create and start, nothing else before the reply; one inspect after it", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      const calls: Array<string> = []
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const first = makeNomadTask({ name: "first" })
        yield* driver.startTask(first, yield* sleeper) // fetches the host facts once
        const second = makeNomadTask({ name: "second" })
        const before = calls.length
        yield* driver.startTask(second, yield* sleeper)
        // what the start itself asked (watchers forked meanwhile may have asked for their own)
        const during = calls.slice(before).filter((c) => c !== "awaitExit" && c !== "containerInspect" && c !== "containerLogs")
        expect(during).toEqual(["containerCreate", "containerStart"])
        yield* Effect.forEach([first, second], (t) => driver.destroyTask(t.id, true), { discard: true })
        expect(calls.filter((c) => c === "info")).toHaveLength(1)
        expect(calls.filter((c) => c === "imageExists")).toHaveLength(0)
        // one inspect per task, by the describer after the reply (the log path, cgroup, stop signal)
        expect(calls.filter((c) => c === "containerInspect")).toHaveLength(2)
      }).pipe(Effect.provide(driverOver(counting(fake.client, calls))))
    }))
})

describe("host facts", () => {
  it.effect("fetched once for concurrent users, served at once, refreshed in the background when stale", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      const calls: Array<string> = []
      const client = counting(fake.client, calls)
      const facts = yield* makePodmanFacts
      yield* Effect.all([facts.get(client), facts.get(client), facts.get(client)], { concurrency: "unbounded" })
      expect(calls).toEqual(["info"])
      yield* facts.get(client)
      expect(calls).toEqual(["info"])
      yield* TestClock.adjust(FACTS_TTL)
      yield* facts.get(client) // stale: answered from the cache, a refresh starts
      yield* Effect.yieldNow
      expect(calls).toEqual(["info", "info"])
      yield* facts.invalidate
      yield* facts.get(client)
      expect(calls).toEqual(["info", "info", "info"])
    }).pipe(Effect.scoped))
})

describe("WaitTask while Podman is unavailable", () => {
  it.effect("waits, backing off, and answers the true code once Podman is back", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"] })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "patient" })
        yield* fake.setExitsUnavailable(true)
        yield* driver.startTask(task, yield* sleeper)
        const answer = yield* Effect.forkChild(driver.waitTask(task.id))
        yield* driver.signalTask(task.id, SIGKILL)
        yield* fake.nextSignal
        // ten minutes of a Podman that cannot be reached: no answer, and certainly no wrong one
        for (let i = 0; i < 120; i++) yield* TestClock.adjust("5 seconds")
        expect(answer.pollUnsafe()).toBeUndefined()
        yield* fake.setExitsUnavailable(false)
        yield* TestClock.adjust("5 seconds")
        expect(yield* Fiber.join(answer)).toMatchObject({ exitCode: 137, signal: 9 })
        yield* driver.destroyTask(task.id, true)
      }).pipe(Effect.provide(driverOver(fake.client)))
    }))

  it.effect("answers -1 with the reason only after EXIT_PATIENCE of continuous failure", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const task = makeNomadTask({ name: "hopeless" })
        yield* fake.setExitsUnavailable(true)
        yield* driver.startTask(task, yield* sleeper)
        const answer = yield* Effect.forkChild(driver.waitTask(task.id))
        const steps = Duration.toMillis(EXIT_PATIENCE) / 5000 - 2
        for (let i = 0; i < steps; i++) yield* TestClock.adjust("5 seconds")
        expect(answer.pollUnsafe()).toBeUndefined()
        for (let i = 0; i < 4; i++) yield* TestClock.adjust("5 seconds")
        const result = yield* Fiber.join(answer)
        expect(result.exitCode).toBe(-1)
        expect(result.error).toContain("podman is unavailable")
        yield* driver.destroyTask(task.id, true)
      }).pipe(Effect.provide(driverOver(fake.client)))
    }))
})
