/**
 * Node hygiene under `TestClock`, over the FAKE Podman client (test/support/FakePodman.ts): removals
 * retried until Podman answers, the dangling-container reaper (start-up grace, creation grace,
 * dry_run, what it never touches), image garbage collection (delay, reference counts, images the
 * driver did not bring, "in use elsewhere", the start-up scan) and the pull activity timeout with
 * its progress events. The same behaviours against the real Podman are in
 * test/integration/NodeHygiene.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import type { TaskEvent } from "../../src/domain/results.ts"
import { decodeTaskConfig } from "../../src/domain/TaskConfig.ts"
import { GC_MARKER_REPO, markerName } from "../../src/driver/imageGc.ts"
import { PROGRESS_EVERY } from "../../src/driver/images.ts"
import { RETRY_CAP } from "../../src/driver/removals.ts"
import { LABEL_ALLOC_ID } from "../../src/translate/index.ts"
import { Driver } from "../../src/services/Driver.ts"
import type { PullProgress } from "../../src/services/Podman.ts"
import { makeFakePodman } from "../support/FakePodman.ts"
import { driverOver } from "../support/driverOverFake.ts"


const gcConfig = (gc: Partial<PluginConfig["gc"]> = {}, dangling: Partial<PluginConfig["gc"]["dangling_containers"]> = {}, more: Partial<PluginConfig> = {}): PluginConfig => ({
  ...defaultPluginConfig,
  ...more,
  gc: {
    ...defaultPluginConfig.gc,
    image: false,
    ...gc,
    dangling_containers: { ...defaultPluginConfig.gc.dangling_containers, enabled: false, ...dangling }
  }
})

/** Lets the fibers woken by the clock run until `check` holds (bounded; no real time passes). */
const until = (check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && !check(); i++) yield* Effect.yieldNow
    return check()
  })

const sleeper = (image = "localhost/busybox:latest") => decodeTaskConfig({ image, command: "/bin/sleep", args: ["300"] })
const UUID = "3f2a1b4c-1111-2222-3333-444455556666"

describe("deferred removals", () => {
  it.effect("DestroyTask while Podman is down answers OK; the container goes within RETRY_CAP once Podman is back", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"] })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const running = makeNomadTask({ name: "running" })
        const exited = makeNomadTask({ name: "exited" })
        yield* driver.startTask(running, yield* sleeper())
        yield* driver.startTask(exited, yield* sleeper())
        yield* driver.stopTask(exited.id, "0 seconds")
        yield* fake.setReachable(false)
        yield* driver.destroyTask(running.id, true)
        yield* driver.destroyTask(exited.id, true)
        expect(yield* driver.hasTask(running.id)).toBe(false)
        expect(fake.containers.size).toBe(2)
        // minutes of Podman being down: the retries keep going, nothing is given up
        for (let i = 0; i < 20; i++) yield* TestClock.adjust(RETRY_CAP)
        expect(fake.containers.size).toBe(2)
        yield* fake.setReachable(true)
        yield* TestClock.adjust(RETRY_CAP)
        expect(yield* until(() => fake.containers.size === 0)).toBe(true)
      }).pipe(Effect.provide(driverOver(fake.client, gcConfig())))
    }))
})

describe("dangling-container reaper", () => {
  const reaper = (dangling: Partial<PluginConfig["gc"]["dangling_containers"]>, gc: Partial<PluginConfig["gc"]> = {}) =>
    gcConfig(gc, { enabled: true, period: Duration.minutes(1), creation_grace: Duration.minutes(2), ...dangling })

  it.effect("waits max(period, creation_grace) after start; then removes old untracked containers with the driver's label and storage-only leftovers named like its own", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"] })
      const at0 = new Date(0)
      yield* fake.addContainer({ id: "ours", name: `web.${UUID}`, labels: { [LABEL_ALLOC_ID]: UUID }, created: at0 })
      yield* fake.addContainer({ id: "docker", name: `web-${UUID}`, labels: { "com.hashicorp.nomad.alloc_id": UUID }, created: at0 })
      yield* fake.addContainer({ id: "leftover", name: `api.${UUID}`, created: at0, storageOnly: true })
      yield* fake.addContainer({ id: "buildah", name: "busybox-working-container", created: at0, storageOnly: true })
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const tracked = makeNomadTask({ name: "tracked" })
        yield* driver.startTask(tracked, yield* sleeper())
        yield* TestClock.adjust("119 seconds")
        yield* until(() => false)
        expect([...fake.containers.keys()].sort()).toEqual(["buildah", "docker", "leftover", "ours", [...fake.containers.keys()].find((k) => k.startsWith("fake"))!].sort())
        yield* TestClock.adjust("1 second")
        expect(yield* until(() => !fake.containers.has("ours") && !fake.containers.has("leftover"))).toBe(true)
        // never: the docker driver's container, another tool's storage container, a tracked task
        expect(fake.containers.has("docker")).toBe(true)
        expect(fake.containers.has("buildah")).toBe(true)
        expect(yield* driver.hasTask(tracked.id)).toBe(true)
        expect(fake.containers.size).toBe(3)

        // a young one survives until it is older than creation_grace, then the next round takes it
        yield* fake.addContainer({ id: "young", name: `job.${UUID}`, labels: { [LABEL_ALLOC_ID]: UUID }, created: new Date(120_000) })
        yield* TestClock.adjust("1 minute")
        yield* until(() => false)
        expect(fake.containers.has("young")).toBe(true)
        yield* TestClock.adjust("1 minute")
        expect(yield* until(() => !fake.containers.has("young"))).toBe(true)
        yield* driver.destroyTask(tracked.id, true)
      }).pipe(Effect.provide(driverOver(fake.client, reaper({}))))
    }))

  it.effect("dry_run only logs; gc.container = false keeps exited containers (the operator's), not running ones", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      yield* fake.addContainer({ id: "a", name: `a.${UUID}`, labels: { [LABEL_ALLOC_ID]: UUID }, created: new Date(0) })
      yield* Effect.gen(function*() {
        yield* Driver
        yield* TestClock.adjust("10 minutes")
        yield* until(() => false)
        expect(fake.containers.has("a")).toBe(true)
      }).pipe(Effect.provide(driverOver(fake.client, reaper({ dry_run: true }))))

      yield* fake.addContainer({ id: "kept", name: `k.${UUID}`, labels: { [LABEL_ALLOC_ID]: UUID }, created: new Date(0), running: false })
      yield* Effect.gen(function*() {
        yield* Driver
        yield* TestClock.adjust("10 minutes")
        expect(yield* until(() => !fake.containers.has("a"))).toBe(true)
        expect(fake.containers.has("kept")).toBe(true)
      }).pipe(Effect.provide(driverOver(fake.client, reaper({}, { container: false }))))
    }))

  it.effect("enabled = false: never", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      yield* fake.addContainer({ id: "a", name: `a.${UUID}`, labels: { [LABEL_ALLOC_ID]: UUID }, created: new Date(0) })
      yield* Effect.gen(function*() {
        yield* Driver
        yield* TestClock.adjust("1 hour")
        yield* until(() => false)
        expect(fake.containers.has("a")).toBe(true)
      }).pipe(Effect.provide(driverOver(fake.client, reaper({ enabled: false }))))
    }))
})

describe("image garbage collection", () => {
  const REF = "registry.test/app:1"
  const ID = "a".repeat(64)
  const images = gcConfig({ image: true, image_delay: Duration.minutes(3) })

  it.effect("an image the driver pulled is removed image_delay after its last task is destroyed, not before", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"], pullable: { [REF]: ID } })
      yield* fake.addImage("b".repeat(64), ["localhost/other:latest"])
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const one = makeNomadTask({ name: "one" })
        const two = makeNomadTask({ name: "two" })
        yield* driver.startTask(one, yield* sleeper(REF))
        expect(fake.images.get(ID)?.names).toEqual([REF, markerName(ID)])
        yield* driver.startTask(two, yield* sleeper(REF))
        yield* driver.destroyTask(one.id, true)
        yield* TestClock.adjust("10 minutes")
        yield* until(() => false)
        expect(fake.images.has(ID)).toBe(true) // task two still runs
        yield* driver.destroyTask(two.id, true)
        yield* TestClock.adjust("179 seconds")
        yield* until(() => false)
        expect(fake.images.has(ID)).toBe(true)
        yield* TestClock.adjust("1 second")
        expect(yield* until(() => !fake.images.has(ID))).toBe(true)
        expect(fake.images.has("b".repeat(64))).toBe(true)
      }).pipe(Effect.provide(driverOver(fake.client, images)))
    }))

  it.effect("a task of the image starting again within the delay keeps it; an image that was there before is never removed", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman({ diesOf: ["SIGKILL"], pullable: { [REF]: ID } })
      yield* fake.addImage("c".repeat(64), ["localhost/busybox:latest"])
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const first = makeNomadTask({ name: "first" })
        yield* driver.startTask(first, yield* sleeper(REF))
        yield* driver.destroyTask(first.id, true)
        yield* TestClock.adjust("2 minutes")
        const again = makeNomadTask({ name: "again" })
        yield* driver.startTask(again, yield* sleeper(REF))
        yield* TestClock.adjust("10 minutes")
        yield* until(() => false)
        expect(fake.images.has(ID)).toBe(true)
        yield* driver.destroyTask(again.id, true)

        const local = makeNomadTask({ name: "local" })
        yield* driver.startTask(local, yield* sleeper("localhost/busybox:latest"))
        yield* driver.destroyTask(local.id, true)
        yield* TestClock.adjust("1 hour")
        yield* until(() => false)
        expect(fake.images.get("c".repeat(64))?.names).toEqual(["localhost/busybox:latest"])
        expect(fake.removedImages.filter((r) => r.includes("c".repeat(12)) || r === "localhost/busybox:latest")).toEqual([])
      }).pipe(Effect.provide(driverOver(fake.client, images)))
    }))

  it.effect("in use elsewhere: kept with its marker, no error; the start-up scan schedules marked unused images", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakePodman()
      // marked by an earlier plugin; one used by a container of someone else
      yield* fake.addImage(ID, [REF, markerName(ID)])
      yield* fake.addImage("d".repeat(64), ["registry.test/used:1", markerName("d".repeat(64))])
      yield* fake.addContainer({ id: "someone", name: "someone", created: new Date(0), image: "registry.test/used:1" })
      yield* Effect.gen(function*() {
        yield* Driver
        yield* until(() => false) // the start-up scan runs
        yield* TestClock.adjust("3 minutes")
        expect(yield* until(() => !fake.images.has(ID))).toBe(true)
        expect(yield* until(() => fake.images.get("d".repeat(64))?.names.includes(markerName("d".repeat(64))) === true && fake.removedImages.includes("d".repeat(64)))).toBe(true)
        expect(fake.images.get("d".repeat(64))?.names.sort()).toEqual(["registry.test/used:1", `${GC_MARKER_REPO}:${"d".repeat(64)}`].sort())
      }).pipe(Effect.provide(driverOver(fake.client, images)))
    }))
})

describe("pull activity", () => {
  const REF = "registry.test/slow:1"
  const step = (done: number, bytes: number): PullProgress => ({ message: "", layers: { done, total: 2 }, bytes: { done: bytes, total: 2_000_000 } })

  it.effect("no progress for pull_activity_timeout fails the start with ImagePullError timeout; progress events say layers and bytes, at most one per PROGRESS_EVERY", () =>
    Effect.gen(function*() {
      const gate = yield* Queue.unbounded<PullProgress>()
      const fake = yield* makeFakePodman({
        // reports what the test feeds it; repeats of the same report are no activity
        pull: () => Stream.fromQueue(gate)
      })
      yield* fake.addImage("e".repeat(64), ["localhost/other:1"])
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const events = yield* Queue.unbounded<TaskEvent>()
        yield* Effect.forkChild(Stream.runForEach(driver.taskEvents, (e) => Queue.offer(events, e)))
        const task = makeNomadTask({ name: "stall" })
        const start = yield* Effect.forkChild(driver.startTask(task, yield* sleeper(REF)))
        expect((yield* Queue.take(events)).message).toBe(`Pulling image ${REF}`)
        yield* Queue.offer(gate, step(0, 500_000))
        expect((yield* Queue.take(events)).message).toBe(`Pulling image ${REF}: layers 0/2, 0.5 MB/2.0 MB`)
        // progress within PROGRESS_EVERY: no event, but activity
        yield* TestClock.adjust("5 seconds")
        yield* Queue.offer(gate, step(1, 1_000_000))
        yield* TestClock.adjust(Duration.subtract(PROGRESS_EVERY, Duration.seconds(5)))
        yield* Queue.offer(gate, step(1, 1_500_000))
        const third = yield* Queue.take(events)
        expect(third.message).toBe(`Pulling image ${REF}: layers 1/2, 1.5 MB/2.0 MB`)
        expect(third.annotations).toMatchObject({ layers_done: "1", layers_total: "2", bytes_done: "1500000" })
        // the same report again is no progress: the stall is counted from the last change
        yield* TestClock.adjust("1 minute")
        yield* Queue.offer(gate, step(1, 1_500_000))
        yield* TestClock.adjust("59 seconds")
        yield* until(() => false)
        expect(start.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.await(start)
        expect(Exit.isFailure(exit)).toBe(true)
        const error = JSON.stringify(exit)
        expect(error).toContain("ImagePullError")
        expect(error).toContain("\"reason\":\"timeout\"")
        expect(error).toContain("pull_activity_timeout")
        expect(yield* driver.hasTask(task.id)).toBe(false)
        expect(fake.containers.size).toBe(0)
      }).pipe(Effect.provide(driverOver(fake.client, gcConfig({}, {}, { pull_activity_timeout: Duration.minutes(2) }))))
    }))
})
