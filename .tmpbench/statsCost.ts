import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as HostFilesLayers from "../layers/host-files/index.ts"
import { makeNomadTask } from "../src/domain/NomadTask.ts"
import { decodeTaskConfig } from "../src/domain/TaskConfig.ts"
import { Driver } from "../src/services/Driver.ts"
import { makeFakePodman } from "../test/support/FakePodman.ts"
import { driverOver } from "../test/support/driverOverFake.ts"
import { statsToProto } from "../layers/nomad-rpc/codec.ts"
import { TaskStatsResponse } from "../proto/gen/plugins/drivers/proto/driver.ts"

const N = 20, SECONDS = Number(process.env.SECS ?? 500), PROTO = process.env.PROTO === "1"
const sleeper = decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"] })
const prog = Effect.gen(function*() {
  const fake = yield* makeFakePodman({ localCgroup: "/" })
  yield* Effect.gen(function*() {
    const driver = yield* Driver
    let count = 0
    const fibers = []
    for (let i = 0; i < N; i++) {
      const task = makeNomadTask({ name: `t${i}` })
      yield* driver.startTask(task, yield* sleeper)
      fibers.push(yield* Effect.forkChild(Stream.runForEach(driver.taskStats(task.id, "1 second"), (s) => Effect.sync(() => {
        count++
        if (PROTO) TaskStatsResponse.encode(TaskStatsResponse.fromPartial({ stats: statsToProto(s) })).finish()
      }))))
    }
    yield* TestClock.adjust("1 second")
    const c0 = count
    const cpu = process.cpuUsage()
    for (let s = 0; s < SECONDS; s++) yield* TestClock.adjust("1 second")
    const used = process.cpuUsage(cpu)
    const samples = count - c0
    console.log(`samples ${samples} µs/sample ${((used.user + used.system) / samples).toFixed(1)} proto=${PROTO}`)
    for (const f of fibers) yield* Fiber.interrupt(f)
  }).pipe(Effect.provide(driverOver(fake.client, undefined, HostFilesLayers.layer)))
})
Effect.runPromise(prog.pipe(Effect.provide(TestClock.layer()))).catch((e) => { console.error(e); process.exit(1) })
