/**
 * Every Podman call is bounded and isolated (docs/podman.md, "Deadlines"): with a FAKE Podman
 * endpoint in front of the real one that never answers chosen requests (test/support/
 * WedgingPodmanProxy.ts), a wedged create fails only its own StartTask, with a typed Timeout, and a
 * wedged kill only its own StopTask, while other tasks start, stop and are destroyed meanwhile. Over
 * both transports: REST directly, and io.podman through the varlink test service (whose REST
 * calls go through the same proxy), where a wedged call must not hold a pooled connection.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Option } from "effect"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { Driver } from "../../src/services/Driver.ts"
import { cfg, sig, withDriver } from "../support/driver.ts"
import { eventually } from "../support/eventually.ts"
import { podmanSocketPath } from "../support/libpod.ts"
import { tempDirScoped } from "../support/tmp.ts"
import { startPodmanVarlinkService } from "../support/varlink/PodmanVarlinkService.ts"
import { type HeldRequest, wedgingPodmanProxy } from "../support/WedgingPodmanProxy.ts"

const BUSYBOX = "localhost/busybox:latest"
const sleeper = cfg({ image: BUSYBOX, command: "/bin/sleep", args: ["300"], network_mode: "none" })

/** The failure's PodmanError reason tag, if the exit is one. */
const reasonOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return "success"
  const e = Cause.findErrorOption(exit.cause)
  return Option.isSome(e) ? (e.value as { reason?: { _tag?: string } }).reason?._tag ?? String(e.value) : Cause.pretty(exit.cause)
}

for (const transport of ["rest", "varlink"] as const) {
  describe(`deadlines and isolation over ${transport}`, () => {
    it.live("a wedged create and a wedged kill fail only their own task, with a Timeout", () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDirScoped("ndp-wedge-")
        const killsHeld = new Set<string>()
        const wedge = (r: HeldRequest) =>
          (r.url.includes("/containers/create") && r.body.includes("wedged-")) ||
          [...killsHeld].some((id) => r.url.includes(`/containers/${id}/kill`))
        const proxy = yield* wedgingPodmanProxy(path.join(dir, "p.sock"), podmanSocketPath(), wedge)
        let address = proxy.address
        if (transport === "varlink") {
          const service = yield* Effect.acquireRelease(
            Effect.promise(() => startPodmanVarlinkService(path.join(dir, "io.podman"), proxy.address)),
            (s) => Effect.promise(() => s.close())
          )
          address = `varlink:${service.address}`
        }
        const allocDir = path.join(dir, "alloc")
        const task = (name: string) => {
          for (const d of ["alloc", `${name}/local`, `${name}/secrets`]) mkdirSync(path.join(allocDir, d), { recursive: true })
          return makeNomadTask({ name, allocDir })
        }

        // One task whose kill will wedge, started before anything is wedged.
        const stuck = task("stuck")
        yield* withDriver({ socket_path: address, client_http_timeout: Duration.seconds(8) }, Driver.use((d) =>
          Effect.gen(function*() {
            const stuckId = (yield* d.startTask(stuck, sleeper)).state.containerId

            // Four wedged creates: as many as a small connection pool would have.
            const wedgedStarts = yield* Effect.forEach(["a", "b", "c", "d"], (x) =>
              Effect.forkChild(Effect.exit(d.startTask(task(`wedged-${x}`), sleeper))))
            yield* eventually(Effect.sync(() => expect(proxy.held.length).toBe(4)), { timeout: "30 seconds" })
            killsHeld.add(stuckId)
            const wedgedStop = yield* Effect.forkChild(Effect.exit(d.stopTask(stuck.id, "1 second", sig("SIGTERM"))))
            yield* eventually(Effect.sync(() => expect(proxy.held.length).toBe(5)), { timeout: "30 seconds" })

            // Meanwhile other tasks start, stop and go.
            yield* Effect.forEach(["free1", "free2", "free3"], (name) =>
              Effect.gen(function*() {
                const t = task(name)
                yield* d.startTask(t, sleeper)
                yield* d.stopTask(t.id, "1 second", sig("SIGKILL"))
                expect((yield* d.waitTask(t.id)).exitCode).toBe(137)
                yield* d.destroyTask(t.id, true)
              }), { concurrency: "unbounded", discard: true })
            for (const f of wedgedStarts) expect(f.pollUnsafe()).toBeUndefined()
            expect(wedgedStop.pollUnsafe()).toBeUndefined()

            // Each wedged call ends at its own deadline, as a Timeout of that task only.
            for (const f of wedgedStarts) expect(reasonOf(yield* Fiber.join(f))).toBe("Timeout")
            expect(reasonOf(yield* Fiber.join(wedgedStop))).toBe("Timeout")
          }).pipe(
            // Also when an assertion failed: nothing may be left behind.
            Effect.ensuring(Effect.suspend(() => {
              killsHeld.clear()
              return Effect.ignore(d.destroyTask(stuck.id, true))
            }))
          )))
      })), 180_000)
  })
}
