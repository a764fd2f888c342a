/**
 * A FAKE `PodmanClient` for unit tests of the driver's logic (stop escalation, fingerprints, the
 * start order, image GC, the reaper, deferred removals): in-memory containers whose "process"
 * reacts to signals as the test says, in-memory images with names (removal refused while in use or
 * named twice, as Podman does), a switch that makes Podman unreachable, and scripted pulls. No
 * I/O. Only what those tests use is modelled; every other call fails the test loudly.
 */
import { DateTime, Deferred, Effect, Queue, Stream } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { Api, Conflict, type ImagePullError, PodmanError, NotFound, NotRunning, Unavailable } from "../../src/domain/errors.ts"
import type { ContainerInspect, PodmanClient, PodmanInfo, PullProgress } from "../../src/services/Podman.ts"
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
  /** When it was created (the fake's Clock). */
  created: Date
  /** Labels (the spec's; containers made with `addContainer` may set their own). */
  labels: Readonly<Record<string, string>>
  /** `storage` for a container only the storage layer knows. */
  storageOnly: boolean
}

export interface FakeImage {
  readonly id: string
  names: Array<string>
}

export interface FakePodmanOptions {
  /** Signals the fake process dies of (default: SIGKILL only, as a process that traps TERM). */
  readonly diesOf?: ReadonlyArray<string>
  /** A scripted pull per reference (default: not modelled). */
  readonly pull?: (ref: string) => Stream.Stream<PullProgress, ImagePullError | PodmanError>
  /** References a pull brings at once: the image (this id, named by the reference) appears. */
  readonly pullable?: Readonly<Record<string, string>>
  /** Podman "on this host": containers have this cgroup path (read through the test's HostFiles). */
  readonly localCgroup?: string
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
    /** `healthy`: ping/info answer; `reachable`: every other call answers (false = Podman is down). */
    const state = { healthy: true, reachable: true, exitsUnavailable: false }
    const images = new Map<string, FakeImage>()
    /** Every image removal attempted, by reference. */
    const removedImages: Array<string> = []
    const pinged = yield* Queue.unbounded<void>()
    const fail = (operation: string, reason: PodmanError["reason"]) => new PodmanError({ operation, socket: "unix:///fake.sock", reason })
    const down = (operation: string) => fail(operation, new Unavailable({ detail: "fake: connection refused" }))
    const up = (operation: string) => Effect.suspend(() => (state.reachable ? Effect.void : Effect.fail(down(operation))))
    const get = (operation: string, id: string) =>
      Effect.suspend(() => {
        if (!state.reachable) return Effect.fail(down(operation))
        const c = containers.get(id) ?? [...containers.values()].find((x) => x.spec.name === id)
        return c && !c.storageOnly ? Effect.succeed(c) : Effect.fail(fail(operation, new NotFound({ what: "container", id })))
      })
    const image = (operation: string, ref: string) =>
      Effect.suspend(() => {
        if (!state.reachable) return Effect.fail(down(operation))
        const i = images.get(ref) ?? [...images.values()].find((x) => x.names.includes(ref))
        return i ? Effect.succeed(i) : Effect.fail(fail(operation, new NotFound({ what: "image", id: ref })))
      })
    const imageOfSpec = (ref: string) => images.get(ref) ?? [...images.values()].find((x) => x.names.includes(ref))
    const unused = (name: string) => () => Effect.die(new Error(`FakePodman: ${name} is not modelled`))

    const inspectOf = (c: FakeContainer): ContainerInspect => ({
      id: c.id, name: c.spec.name, image: c.spec.image, imageId: imageOfSpec(c.spec.image)?.id ?? "",
      state: {
        status: c.running ? "running" : c.started ? "exited" : "created", running: c.running, pid: c.running ? 42 : 0, conmonPid: c.running ? 41 : 0,
        exitCode: c.exitCode, oomKilled: false, error: "", startedAt: new Date(0), finishedAt: c.started && !c.running ? new Date(1) : undefined
      },
      labels: c.labels, env: [], user: "", workingDir: "/", hostname: "", stopSignal: undefined, ipAddress: "",
      ports: {}, memoryLimit: 0, memoryReservation: 0, memorySwap: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0,
      cpusetCpus: "", pidsLimit: 0, mounts: [], logPath: undefined, cgroupPath: options.localCgroup
    })

    const client: PodmanClient = {
      socketName: "default",
      address: "unix:///fake.sock",
      local: options.localCgroup !== undefined,
      capabilities: { transport: "rest", exec: false, execStreaming: false, stats: false, logs: true, archiveLoad: false },
      ping: Effect.suspend(() => {
        Queue.offerUnsafe(pinged, undefined)
        return state.healthy ? Effect.succeed({ apiVersion: "4.3.1" }) : Effect.fail(fail("ping", new Unavailable({ detail: "fake: down" })))
      }),
      info: Effect.suspend(() => (state.healthy ? Effect.succeed(info) : Effect.fail(fail("info", new Unavailable({ detail: "fake: down" }))))),
      // without images modelled, every image is present (the tests of the start order need no pulls)
      imageExists: (ref) => Effect.succeed(images.size === 0 || imageOfSpec(ref) !== undefined),
      imageInspect: (ref) =>
        Effect.map(image("imageInspect", ref), (i) => ({ id: i.id, repoTags: [...i.names], repoDigests: [], size: 0, os: "linux", architecture: "amd64" })),
      imagePull: (ref) => {
        if (options.pull) return options.pull(ref)
        const id = options.pullable?.[ref]
        if (id === undefined) return Stream.die(new Error(`FakePodman: a pull of ${ref} is not modelled`))
        return Stream.fromEffect(Effect.sync((): PullProgress => {
          const i = images.get(id)
          if (i) {
            if (!i.names.includes(ref)) i.names.push(ref)
          } else {
            images.set(id, { id, names: [ref] })
          }
          return { message: `Pulled ${ref}`, imageId: id }
        }))
      },
      imageLoad: unused("imageLoad"),
      imageRemove: (ref) =>
        Effect.gen(function*() {
          const i = yield* image("imageRemove", ref)
          removedImages.push(ref)
          const byName = ref !== i.id
          if (byName && i.names.length > 1) {
            i.names = i.names.filter((n) => n !== ref)
            return
          }
          if (!byName && i.names.length > 1) return yield* fail("imageRemove", new Conflict({ detail: "fake: image has more than one tag" }))
          if ([...containers.values()].some((c) => imageOfSpec(c.spec.image)?.id === i.id)) {
            return yield* fail("imageRemove", new Conflict({ detail: "fake: image is in use by a container" }))
          }
          images.delete(i.id)
        }),
      imageTag: (ref, repo, tag) => Effect.map(image("imageTag", ref), (i) => void i.names.push(`${repo}:${tag}`)),
      imageList: (repo) =>
        Effect.map(up("imageList"), () =>
          [...images.values()].filter((i) => repo === undefined || i.names.some((n) => n.startsWith(`${repo}:`))).map((i) => ({ id: i.id, names: [...i.names] }))),
      containerCreate: (spec) =>
        Effect.gen(function*() {
          yield* up("containerCreate")
          // as Podman: a missing image (when the fake models images) and a taken name are refused
          if (images.size > 0 && imageOfSpec(spec.image) === undefined) {
            return yield* fail("containerCreate", new NotFound({ what: "image", id: spec.image }))
          }
          if ([...containers.values()].some((c) => c.spec.name === spec.name)) {
            return yield* fail("containerCreate", new Conflict({ detail: `fake: the container name "${spec.name}" is already in use` }))
          }
          const id = `fake${containers.size.toString().padStart(60, "0")}`
          containers.set(id, {
            id, spec, running: false, started: false, exitCode: 0, signals: [], exited: yield* Deferred.make<number>(),
            created: yield* DateTime.nowAsDate, labels: spec.labels, storageOnly: false
          })
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
      containerExists: (id) => Effect.map(up("containerExists"), () => containers.has(id) && !containers.get(id)!.storageOnly),
      containerList: (filters) =>
        Effect.map(up("containerList"), () =>
          [...containers.values()]
            .filter((c) => (c.storageOnly ? filters.external === true : filters.all || c.running))
            .filter((c) => (filters.label ?? []).every((l) => l in c.labels))
            .map((c) => ({
              id: c.id,
              names: [c.spec.name],
              state: c.storageOnly ? "storage" : c.running ? "running" : c.started ? "exited" : "created",
              labels: c.labels,
              created: c.created
            }))),
      containerHealthcheck: unused("containerHealthcheck"),
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
      containerRemove: (id) =>
        Effect.map(up("containerRemove"), () => {
          const c = containers.get(id) ?? [...containers.values()].find((x) => x.spec.name === id)
          if (c) containers.delete(c.id)
        }),
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
      /** false: every container and image call fails with Unavailable (the Podman service is down). */
      setReachable: (reachable: boolean) => Effect.sync(() => void (state.reachable = reachable)),
      images,
      removedImages,
      /** Adds an image with these names. */
      addImage: (id: string, names: ReadonlyArray<string>) => Effect.sync(() => void images.set(id, { id, names: [...names] })),
      /** Adds a container made outside the driver (running, with these labels), created at `created`. */
      addContainer: (c: {
        readonly id: string
        readonly name: string
        readonly labels?: Readonly<Record<string, string>>
        readonly created: Date
        readonly storageOnly?: boolean
        readonly running?: boolean
        readonly image?: string
      }) =>
        Effect.gen(function*() {
          containers.set(c.id, {
            id: c.id, spec: { name: c.name, image: c.image ?? "", env: {}, labels: c.labels ?? {} }, running: c.running ?? !c.storageOnly,
            started: true, exitCode: 0, signals: [], exited: yield* Deferred.make<number>(), created: c.created,
            labels: c.labels ?? {}, storageOnly: c.storageOnly === true
          })
        }),
      /** Waits for the next ping of the fake socket. */
      nextPing: Queue.take(pinged)
    }
  })
