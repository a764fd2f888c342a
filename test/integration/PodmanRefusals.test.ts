/**
 * What the real Podman refuses is the task's mistake, not a driver fault: a user the image does not
 * have, a command that is not there, a mount source that does not exist come back as a PodmanError
 * `Api` flagged `invalidInput` (INVALID_ARGUMENT on the wire, with Podman's reason), and leave no
 * container behind. A signal for a task that has exited is a TaskStateError (FAILED_PRECONDITION).
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Driver } from "../../src/services/Driver.ts"
import { cfg, libpod, sig, trackedTasks } from "../support/driver.ts"
import { toStatusMapping } from "../../layers/nomad-rpc/status.ts"
import { status as Code } from "@grpc/grpc-js"

const tasks = trackedTasks()
const task = tasks.task
const busybox = "localhost/busybox:latest"

/** The start's typed failure, and that no container of the task is left. */
const refusedStart = (t: ReturnType<typeof task>, config: Parameters<typeof cfg>[0]) =>
  Effect.gen(function*() {
    const d = yield* Driver
    const error = yield* Effect.flip(d.startTask(t, cfg(config)))
    const left = yield* libpod(`/containers/json?all=true&filters=${encodeURIComponent(JSON.stringify({ name: [t.allocId] }))}`)
    expect(left.body).toEqual([])
    return error
  })

layer(tasks.layer, { excludeTestServices: true, timeout: "120 seconds" })("Podman's refusals of a spec", (it) => {
  it.effect("an unknown user, a missing command or mount source: INVALID_ARGUMENT with Podman's reason, nothing left", () =>
    Effect.gen(function*() {
      const cases = [
        { t: task("nouser", { user: "nosuchuser" }), config: { image: busybox, command: "/bin/true" }, reason: /unable to find user nosuchuser/ },
        { t: task("nocmd"), config: { image: busybox, command: "/no/such/command" }, reason: /no such file or directory|not found/ },
        { t: task("nosrc"), config: { image: busybox, command: "/bin/true", volumes: ["/no/such/source:/data"] }, reason: /no such file or directory/ }
      ]
      for (const c of cases) {
        const error = yield* refusedStart(c.t, c.config)
        expect(error._tag).toBe("PodmanError")
        if (error._tag !== "PodmanError") continue
        expect(error.reason).toMatchObject({ _tag: "Api", invalidInput: true })
        const mapped = toStatusMapping(error)
        expect(mapped.code).toBe(Code.INVALID_ARGUMENT)
        expect(mapped.message).toMatch(c.reason)
      }
    }))

  it.effect("SignalTask on a task that has exited is a TaskStateError (FAILED_PRECONDITION)", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("exited")
      yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "exit 3"] }))
      expect((yield* d.waitTask(t.id)).exitCode).toBe(3)
      for (const s of ["SIGTERM", "SIGUSR1", "SIGKILL"]) {
        const error = yield* Effect.flip(d.signalTask(t.id, sig(s)))
        expect(error._tag).toBe("TaskStateError")
        expect(toStatusMapping(error).code).toBe(Code.FAILED_PRECONDITION)
      }
      yield* d.destroyTask(t.id, true)
    }))
})
