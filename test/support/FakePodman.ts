/**
 * A FAKE `PodmanClient` for unit tests of the driver's logic (stop escalation, fingerprints, the
 * start order): in-memory containers whose "process" reacts to signals as the test says, no I/O.
 * Only what those tests use is modelled; every other call fails the test loudly.
 */
import { Deferred, Effect, Queue, Stream } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { Api, PodmanError, NotFound, NotRunning, Unavailable } from "../../src/domain/errors.ts"
import type { ContainerInspect, PodmanClient, PodmanInfo } from "../../src/services/Podman.ts"
import { parseSignal } from "../../src/domain/values/signals.ts"

export interface FakeContainer {
  readonly id: string
  readonly spec: ContainerSpec
  running: boolean
  started: boolean
  exitCode: number
  /** Every signal sent to it, by name. */
  readonly signals: Array<string>
  readonly exited: Deferred.Deferred<number>
}

export interface FakePodmanOptions {
  /** Signals the fake process dies of (default: SIGKILL only, as a process that traps TERM). */
  readonly diesOf?: ReadonlyArray<string>
}

const info: PodmanInfo = {
  version: "4.3.1", apiVersion: "4.3.1", rootless: false, cgroupVersion: "v1", cgroupManager: "cgroupfs",
  ociRuntime: "runc", ociRuntimePath: "/usr/bin/runc", appArmorEnabled: false, selinuxEnabled: false,
  seccompEnabled: true, capabilities: "CAP_CHOWN", os: "linux", arch: "amd64", hostname: "fake",
  kernel: "6.1", memTotal: 1 << 30, cpus: 2, socketPath: "/fake.sock"
}

export const makeFakePodman = (options: FakePodmanOptions = {}) =>
  Effect.gen(function*() {
    const diesOf = new Set(options.diesOf ?? ["SIGKILL"])
    const containers = new Map<string, FakeContainer>()
    /** Every signal sent, in order (tests wait for "the driver sent something" without sleeping). */
    const signalled = yield* Queue.unbounded<string>()
    const state = { healthy: true, exitsUnavailable: false }
    const pinged = yield* Queue.unbounded<void>()
    const fail = (operation: string, reason: PodmanError["reason"]) => new PodmanError({ operation, socket: "unix:///fake.sock", reason })
    const get = (operation: string, id: string) =>
      Effect.suspend(() => {
        const c = containers.get(id) ?? [...containers.values()].find((x) => x.spec.name === id)
        return c ? Effect.succeed(c) : Effect.fail(fail(operation, new NotFound({ what: "container", id })))
      })
    const unused = (name: string) => () => Effect.die(new Error(`FakePodman: ${name} is not modelled`))

    const inspectOf = (c: FakeContainer): ContainerInspect => ({
      id: c.id, name: c.spec.name, image: c.spec.image,
      state: {
        status: c.running ? "running" : c.started ? "exited" : "created", running: c.running, pid: c.running ? 42 : 0,
        exitCode: c.exitCode, oomKilled: false, error: "", startedAt: new Date(0), finishedAt: c.started && !c.running ? new Date(1) : undefined
      },
      labels: c.spec.labels, env: [], user: "", workingDir: "/", hostname: "", stopSignal: undefined, ipAddress: "",
      ports: {}, memoryLimit: 0, memoryReservation: 0, memorySwap: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0,
      cpusetCpus: "", pidsLimit: 0, mounts: [], logPath: undefined, cgroupPath: undefined
    })

    const client: PodmanClient = {
      socketName: "default",
      address: "unix:///fake.sock",
      local: false,
      capabilities: { transport: "rest", exec: false, execStreaming: false, stats: false, logs: true, archiveLoad: false },
      ping: Effect.suspend(() => {
        Queue.offerUnsafe(pinged, undefined)
        return state.healthy ? Effect.succeed({ apiVersion: "4.3.1" }) : Effect.fail(fail("ping", new Unavailable({ detail: "fake: down" })))
      }),
      info: Effect.suspend(() => (state.healthy ? Effect.succeed(info) : Effect.fail(fail("info", new Unavailable({ detail: "fake: down" }))))),
      imageExists: () => Effect.succeed(true),
      imageInspect: unused("imageInspect"),
      imagePull: () => Stream.die(new Error("FakePodman: imagePull is not modelled")),
      imageLoad: unused("imageLoad"),
      containerCreate: (spec) =>
        Effect.gen(function*() {
          const id = `fake${containers.size.toString().padStart(60, "0")}`
          containers.set(id, { id, spec, running: false, started: false, exitCode: 0, signals: [], exited: yield* Deferred.make<number>() })
          return { id, warnings: [] }
        }),
      containerStart: (id) =>
        Effect.map(get("containerStart", id), (c) => {
          c.running = true
          c.started = true
        }),
      containerWait: (id) => Effect.flatMap(get("containerWait", id), (c) => Deferred.await(c.exited)),
      awaitExit: (id) =>
        Effect.suspend(() =>
          state.exitsUnavailable
            ? Effect.fail(fail("awaitExit", new Unavailable({ detail: "fake: restarting" })))
            : Effect.flatMap(get("awaitExit", id), (c) =>
              Deferred.await(c.exited).pipe(
                Effect.map((exitCode) => ({ exitCode, oomKilled: false, finishedAt: new Date(1), error: "" }))
              ))
        ),
      containerInspect: (id) => Effect.map(get("containerInspect", id), inspectOf),
      containerExists: (id) => Effect.succeed(containers.has(id)),
      containerList: unused("containerList"),
      containerStop: unused("containerStop"),
      containerKill: (id, signal) =>
        Effect.gen(function*() {
          const c = yield* get("containerKill", id)
          if (!c.running) return yield* fail("containerKill", new NotRunning({ id }))
          const s = parseSignal(signal)
          if (s === undefined) return yield* fail("containerKill", new Api({ detail: `invalid signal: ${signal}` }))
          c.signals.push(s.name)
          yield* Queue.offer(signalled, s.name)
          if (diesOf.has(s.name)) {
            c.running = false
            c.exitCode = 128 + s.number
            yield* Deferred.succeed(c.exited, c.exitCode)
          }
        }),
      containerRemove: (id) => Effect.sync(() => void containers.delete(id)),
      containerLogs: () => Stream.empty,
      containerStats: () => Stream.never,
      exec: unused("exec"),
      events: () => Stream.never
    }

    return {
      client,
      containers,
      /** The name of the next signal any container receives (waits for it). */
      nextSignal: Queue.take(signalled),
      signalQueue: signalled,
      setHealthy: (healthy: boolean) => Effect.sync(() => void (state.healthy = healthy)),
      /** While set, every exit watch fails at once with reason Unavailable (a Podman service restarting). */
      setExitsUnavailable: (down: boolean) => Effect.sync(() => void (state.exitsUnavailable = down)),
      /** Waits for the next ping of the fake socket. */
      nextPing: Queue.take(pinged)
    }
  })
