/**
 * The varlink transport (makeVarlinkClient) against real containers: the client speaks io.podman
 * over a unix socket to the TEST-ONLY io.podman service (test/support/varlink), which runs every call
 * on the real, private Podman REST service of the test run (PODMAN_SOCKET). Every container is
 * labelled with this run's id and removed by a finalizer; afterAll sweeps any leftovers.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Scope, Stream } from "effect"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import type { OutputChunk, PodmanClient } from "../../src/services/Podman.ts"
import { makeVarlinkClient } from "../../layers/podman-varlink/index.ts"
import { type PodmanVarlinkService, startPodmanVarlinkService } from "../support/varlink/PodmanVarlinkService.ts"

const PODMAN_SOCKET = process.env.PODMAN_SOCKET ?? ""
const REGISTRY = process.env.SANDBOX_REGISTRY ?? ""
const OCI_ARCHIVE = process.env.SANDBOX_OCI_ARCHIVE ?? ""
const BUSYBOX = "localhost/busybox:latest"
const run = Math.random().toString(36).slice(2, 8)
const RUN_LABEL = "ndp-varlink-test"
let seq = 0
const uniqueName = (what: string) => `pvl-${run}-${what}-${seq++}`

let dir = ""
let service: PodmanVarlinkService

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "pvl-"))
  service = await startPodmanVarlinkService(path.join(dir, "io.podman"), PODMAN_SOCKET)
})

/** Removes any container of this run that a failed test left behind (REST, not the code under test). */
const sweep = () =>
  new Promise<void>((resolve) => {
    const socketPath = PODMAN_SOCKET.replace(/^unix:\/\//, "")
    const filters = encodeURIComponent(JSON.stringify({ label: [`${RUN_LABEL}=${run}`] }))
    http.get({ socketPath, path: `/v4.0.0/libpod/containers/json?all=true&filters=${filters}` }, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", async () => {
        for (const c of JSON.parse(body || "[]") as Array<{ Id: string }>) {
          await new Promise((r) => http.request({ socketPath, method: "DELETE", path: `/v4.0.0/libpod/containers/${c.Id}?force=true&timeout=0` }, r).end())
        }
        resolve()
      })
    }).on("error", () => resolve())
  })

afterAll(async () => {
  await sweep()
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

const client = Effect.suspend(() => makeVarlinkClient({ socketName: "default", address: `varlink:${service.address}`, timeoutMillis: 30_000 }))

const spec = (name: string, command: ReadonlyArray<string>, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name,
  image: BUSYBOX,
  command,
  env: {},
  labels: { [RUN_LABEL]: run },
  netns: { nsmode: "none" },
  ...extra
})

/** Creates a container and registers its forced removal in the test's Scope. */
const create = (c: PodmanClient, s: ContainerSpec): Effect.Effect<string, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const { id } = yield* c.containerCreate(s)
    yield* Effect.addFinalizer(() => c.containerRemove(id, { force: true, volumes: true }).pipe(Effect.ignore))
    return id
  })

const text = (chunks: ReadonlyArray<OutputChunk>, stream?: "stdout" | "stderr") =>
  Buffer.concat(chunks.filter((c) => stream === undefined || c.stream === stream).map((c) => c.data)).toString("utf8")

describe("PodmanVarlink (io.podman over varlink, test service backed by real Podman)", () => {
  it.live("ping, info and capabilities", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      expect(c.capabilities.transport).toBe("varlink")
      expect((yield* c.ping).apiVersion).toBe("1")
      const info = yield* c.info
      expect(info.version).toMatch(/^\d+\.\d+/)
      expect(info.os).toBe("linux")
      expect(info.cpus).toBeGreaterThan(0)
    })))

  it.live("images: exists, inspect, load from a path", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      expect(yield* c.imageExists(BUSYBOX)).toBe(true)
      expect(yield* c.imageExists("localhost/nope-not-here:latest")).toBe(false)
      const img = yield* c.imageInspect(BUSYBOX)
      expect(img.repoTags).toContain(BUSYBOX)
      expect(img.os).toBe("linux")
      const missing = yield* Effect.flip(c.imageInspect("localhost/nope-not-here:latest"))
      expect(missing).toMatchObject({ _tag: "PodmanError", reason: { _tag: "NotFound", what: "image", id: "localhost/nope-not-here:latest" } })
      const loaded = yield* c.imageLoad({ _tag: "path", path: OCI_ARCHIVE }, { timeoutMillis: 60_000 })
      expect(loaded).toContain("busybox")
      const url = yield* Effect.flip(c.imageLoad({ _tag: "url", url: "http://127.0.0.1:1/x.tar" }, { timeoutMillis: 1000 }))
      expect(url).toMatchObject({ _tag: "PodmanError", reason: { _tag: "Unsupported", transport: "varlink" } })
    })))

  it.live("pull from the sandbox registry with credentials (more replies); tls_verify=false is unsupported", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const progress = yield* Stream.runCollect(c.imagePull(`${REGISTRY}/test/busybox:latest`, {
        tlsVerify: true,
        auth: { username: "testuser", password: "testpass" },
        timeoutMillis: 60_000
      }))
      expect(progress[progress.length - 1]?.imageId).toMatch(/^[0-9a-f]{12,}/)
      const denied = yield* Effect.flip(Stream.runCollect(c.imagePull(`${REGISTRY}/test/busybox:latest`, {
        tlsVerify: true,
        auth: { username: "testuser", password: "wrong" },
        timeoutMillis: 60_000
      })))
      expect(denied).toMatchObject({ _tag: "ImagePullError", reason: "auth" })
      const insecure = yield* Effect.flip(Stream.runCollect(c.imagePull(`${REGISTRY}/test/busybox:latest`, { tlsVerify: false, timeoutMillis: 1000 })))
      expect(insecure).toMatchObject({ _tag: "PodmanError", reason: { _tag: "Unsupported" } })
      expect(insecure.message).toContain("tls_verify")
    })))

  it.live("create, start, inspect, logs (stdout/stderr), wait (exit code), remove", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = uniqueName("life")
      const id = yield* create(c, spec(name, ["/bin/sh", "-c", "echo out-$FOO; echo err-line >&2; sleep 0.3; exit 3"], {
        env: { FOO: "bar" },
        labels: { [RUN_LABEL]: run, role: "lifecycle" },
        work_dir: "/tmp"
      }))
      expect(id).toMatch(/^[0-9a-f]{64}$/)
      const created = yield* c.containerInspect(id)
      expect(created.name).toBe(name)
      expect(created.labels.role).toBe("lifecycle")
      expect(created.env).toContain("FOO=bar")
      expect(created.workingDir).toBe("/tmp")
      yield* c.containerStart(id)
      const code = yield* c.containerWait(id)
      expect(code).toBe(3)
      const after = yield* c.containerInspect(id)
      expect(after.state.running).toBe(false)
      expect(after.state.exitCode).toBe(3)
      const logs = yield* Stream.runCollect(c.containerLogs(id, { follow: false, stdout: true, stderr: true }))
      expect(text(logs, "stdout")).toBe("out-bar\n")
      expect(text(logs, "stderr")).toBe("err-line\n")
      const onlyErr = yield* Stream.runCollect(c.containerLogs(id, { follow: false, stdout: false, stderr: true }))
      expect(text(onlyErr)).toBe("err-line\n")
      const listed = yield* c.containerList({ all: true, label: [`${RUN_LABEL}=${run}`, "role=lifecycle"] })
      expect(listed.map((x) => x.id)).toEqual([id])
      yield* c.containerRemove(id, { force: false, volumes: true })
      expect(yield* c.containerExists(id)).toBe(false)
      const gone = yield* Effect.flip(c.containerInspect(id))
      expect(gone).toMatchObject({ _tag: "PodmanError", reason: { _tag: "NotFound", what: "container", id } })
    })))

  it.live("follows logs of a running container", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const id = yield* create(c, spec(uniqueName("follow"), ["/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done"]))
      yield* c.containerStart(id)
      const lines = yield* Stream.runCollect(c.containerLogs(id, { follow: true, stdout: true, stderr: true }).pipe(Stream.take(3)))
      expect(text(lines)).toBe("line-1\nline-2\nline-3\n")
      expect(yield* c.containerWait(id)).toBe(0)
    })))

  it.live("a followed log of a burst loses and repeats nothing (follow + aligned re-read)", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const id = yield* create(c, spec(uniqueName("burst"), ["/bin/sh", "-c", "seq 1 30000; echo done >&2"]))
      yield* c.containerStart(id)
      const followed = yield* Stream.runCollect(c.containerLogs(id, { follow: true, stdout: true, stderr: true }))
      const reference = yield* Stream.runCollect(c.containerLogs(id, { follow: false, stdout: true, stderr: true }))
      const key = (x: OutputChunk) => `${x.stream}:${Buffer.from(x.data).toString("utf8")}`
      const bag = (xs: ReadonlyArray<OutputChunk>) => xs.map(key).sort()
      // the same log records, each exactly once (dropped ones may arrive late, out of order)
      expect(bag(followed)).toEqual(bag(reference))
      expect(text(reference, "stdout").split("\n").filter(Boolean).length).toBe(30000)
      expect(text(followed, "stderr")).toBe("done\n")
    })))

  it.live("stop (idempotent), kill with a signal name, wait sees the signal's exit code", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const a = yield* create(c, spec(uniqueName("stop"), ["/bin/sleep", "1000"]))
      yield* c.containerStart(a)
      expect((yield* c.containerInspect(a)).state.running).toBe(true)
      yield* c.containerStop(a, 1)
      expect((yield* c.containerInspect(a)).state.running).toBe(false)
      yield* c.containerStop(a, 1) // already stopped: success (ErrCtrStopped)
      const b = yield* create(c, spec(uniqueName("kill"), ["/bin/sleep", "1000"]))
      yield* c.containerStart(b)
      yield* c.containerKill(b, "SIGKILL")
      expect(yield* c.containerWait(b)).toBe(137)
      const notRunning = yield* Effect.flip(c.containerKill(b, "SIGTERM"))
      expect(notRunning.reason._tag).toBe("NotRunning")
    })))

  it.live("exec over an upgraded connection: output, exit code, stdin", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const id = yield* create(c, spec(uniqueName("exec"), ["/bin/sleep", "1000"]))
      yield* c.containerStart(id)
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* c.exec(id, { command: ["/bin/sh", "-c", "echo hi-$X; echo oops >&2; exit 5"], tty: false, stdin: false, env: { X: "y" } })
        const out = yield* Stream.runCollect(s.output)
        return { out, code: yield* s.exitCode }
      }))
      expect(text(result.out, "stdout")).toBe("hi-y\n")
      expect(text(result.out, "stderr")).toBe("oops\n")
      expect(result.code).toBe(5)
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* c.exec(id, { command: ["/bin/head", "-n", "1"], tty: false, stdin: true })
        yield* s.write(new TextEncoder().encode("typed line\n"))
        const out = yield* Stream.runCollect(s.output)
        return { out: text(out), code: yield* s.exitCode }
      }))
      expect(echoed).toEqual({ out: "typed line\n", code: 0 })
      // exit code without reading the output first
      const quiet = yield* Effect.scoped(Effect.flatMap(c.exec(id, { command: ["/bin/sh", "-c", "exit 7"], tty: false, stdin: false }), (s) => s.exitCode))
      expect(quiet).toBe(7)
      yield* c.containerStop(id, 0)
      const stopped = yield* Effect.flip(Effect.scoped(c.exec(id, { command: ["/bin/true"], tty: false, stdin: false })))
      expect(stopped.reason._tag).toBe("NotRunning")
    })))

  it.live("stats of a running container, polled per interval", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const id = yield* create(c, spec(uniqueName("stats"), ["/bin/sleep", "1000"]))
      yield* c.containerStart(id)
      const samples = yield* Stream.runCollect(c.containerStats([id], { intervalSeconds: 0.2 }).pipe(Stream.take(2)))
      expect(samples.length).toBe(2)
      const s = samples[1]![0]!
      expect(s.containerId).toBe(id)
      expect(s.memUsage).toBeGreaterThan(0)
      expect(s.cpuNano).toBeGreaterThan(0)
      expect(s.pids).toBeGreaterThanOrEqual(1)
    })))

  it.live("events of one container over a more call", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = uniqueName("events")
      const seen = yield* Effect.forkChild(
        Stream.runCollect(c.events({ container: [name], type: ["container"] }).pipe(
          Stream.takeUntil((e) => e.action === "died"),
          Stream.interruptWhen(Effect.sleep("20 seconds"))
        ))
      )
      yield* Effect.sleep("500 millis")
      const id = yield* create(c, spec(name, ["/bin/true"]))
      yield* c.containerStart(id)
      expect(yield* c.containerWait(id)).toBe(0)
      const events = yield* Fiber.join(seen)
      const actions = events.map((e) => e.action)
      expect(actions).toContain("create")
      expect(actions).toContain("start")
      expect(actions[actions.length - 1]).toBe("died")
      expect(events.every((e) => e.name === name && e.id === id && e.type === "container")).toBe(true)
    })))

  it.live("a ContainerSpec option io.podman cannot express is reason Unsupported naming it; nothing is created", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = uniqueName("unsup")
      const err = yield* Effect.flip(c.containerCreate(spec(name, ["/bin/true"], { procfs_opts: ["hidepid=2"] })))
      expect(err.reason._tag).toBe("Unsupported")
      expect(err.message).toContain("procfs_opts")
      expect(yield* c.containerExists(name)).toBe(false)
    })))

  it.live("a missing container is reason NotFound for start, inspect and wait", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      for (const e of [
        yield* Effect.flip(c.containerStart("pvl-missing")),
        yield* Effect.flip(c.containerInspect("pvl-missing")),
        yield* Effect.flip(c.containerWait("pvl-missing"))
      ]) expect(e).toMatchObject({ _tag: "PodmanError", reason: { _tag: "NotFound", what: "container", id: "pvl-missing" } })
    })))
})
