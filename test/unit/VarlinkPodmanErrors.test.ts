/**
 * How the io.podman client maps varlink outcomes onto the driver's typed errors, against a FAKE
 * io.podman peer (a node:net server that answers each method with a scripted reply).
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { makeVarlinkClient } from "../../layers/podman-varlink/index.ts"

let dir = ""
let server: net.Server
const seen: Array<{ method: string; parameters: any }> = []
/** Scripted answers of the FAKE io.podman peer, by method name (undefined: never answer). */
let answers: Record<string, ((p: any) => unknown) | undefined> = {}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "vpe-"))
  server = net.createServer((socket) => {
    socket.on("error", () => {})
    let buf = Buffer.alloc(0)
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      let nul: number
      while ((nul = buf.indexOf(0)) >= 0) {
        const m = JSON.parse(buf.subarray(0, nul).toString())
        buf = buf.subarray(nul + 1)
        seen.push({ method: m.method, parameters: m.parameters })
        const answer = answers[m.method.replace(/^io\.podman\./, "")]
        if (answer) socket.write(JSON.stringify(answer(m.parameters)) + "\0")
      }
    })
  })
  await new Promise<void>((r) => server.listen(path.join(dir, "io.podman"), r))
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

const client = Effect.suspend(() => makeVarlinkClient({ socketName: "default", address: `varlink:unix:${path.join(dir, "io.podman")}`, timeoutMillis: 300 }))
const err = (error: string, parameters: unknown = {}) => () => ({ error, parameters })

describe("io.podman error mapping (fake peer)", () => {
  it.effect("ContainerNotFound → ContainerNotFound naming the container", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { InspectContainer: err("io.podman.ContainerNotFound", { id: "abc", reason: "no such container" }) }
      const c = yield* client
      expect(yield* Effect.flip(c.containerInspect("abc"))).toMatchObject({ _tag: "ContainerNotFound", container: "abc" })
    })))

  it.effect("ErrCtrStopped on stop is success; InvalidState on kill is a 409 PodmanApiError", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {
        StopContainer: err("io.podman.ErrCtrStopped", { id: "abc" }),
        KillContainer: err("io.podman.InvalidState", { id: "abc", reason: "container state improper" })
      }
      const c = yield* client
      yield* c.containerStop("abc", 1)
      expect(yield* Effect.flip(c.containerKill("abc", "SIGHUP"))).toMatchObject({ _tag: "PodmanApiError", status: 409, detail: "container state improper" })
      expect(seen.at(-1)).toEqual({ method: "io.podman.KillContainer", parameters: { name: "abc", signal: 1 } })
      expect(yield* Effect.flip(c.containerKill("abc", "SIGBOGUS"))).toMatchObject({ _tag: "PodmanApiError", status: 400 })
    })))

  it.effect("ErrorOccurred → PodmanApiError(500) with Podman's reason; a pull error → typed ImagePullError", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {
        StartContainer: err("io.podman.ErrorOccurred", { reason: "OCI runtime error" }),
        PullImage: err("io.podman.ErrorOccurred", { reason: "initializing source docker://x: reading manifest latest in x: unauthorized: authentication required" })
      }
      const c = yield* client
      expect(yield* Effect.flip(c.containerStart("abc"))).toMatchObject({ _tag: "PodmanApiError", status: 500, detail: "OCI runtime error" })
      const pull = yield* Effect.flip(Stream.runCollect(c.imagePull("x/y:latest", { tlsVerify: true, timeoutMillis: 1000 })))
      expect(pull).toMatchObject({ _tag: "ImagePullError", reason: "auth" })
    })))

  it.effect("org.varlink.service errors (MethodNotImplemented) stay typed VarlinkErrors", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { GetContainerStats: err("org.varlink.service.MethodNotImplemented", { method: "GetContainerStats" }) }
      const c = yield* client
      const e = yield* Effect.flip(Stream.runCollect(c.containerStats(["abc"], { intervalSeconds: 1 }).pipe(Stream.take(1))))
      expect(e).toMatchObject({ _tag: "VarlinkError", error: "org.varlink.service.MethodNotImplemented", method: "io.podman.GetContainerStats" })
    })))

  it.live("NoContainerRunning on stats: no sample for that container", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { GetContainerStats: err("io.podman.NoContainerRunning") }
      const c = yield* client
      const batches = yield* Stream.runCollect(c.containerStats(["abc"], { intervalSeconds: 0.1 }).pipe(Stream.take(2)))
      expect(batches).toEqual([[], []])
    })))

  it.live("a service that does not answer → OperationTimeout; no service → PodmanUnavailable", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {}
      const c = yield* client
      expect(yield* Effect.flip(c.containerInspect("abc"))).toMatchObject({ _tag: "OperationTimeout", operation: "containerInspect", timeoutMillis: 300 })
      const missing = yield* makeVarlinkClient({ socketName: "other", address: `varlink:unix:${path.join(dir, "nobody")}`, timeoutMillis: 300 })
      expect(yield* Effect.flip(missing.ping)).toMatchObject({ _tag: "PodmanUnavailable", operation: "ping" })
    })))

  it.effect("calls are validated against the io.podman subset before sending", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { CreateContainer: () => ({ parameters: { container: "id1" } }) }
      const c = yield* client
      const before = seen.length
      const created = yield* c.containerCreate({ name: "n", image: "localhost/busybox:latest", command: ["true"], env: { A: "1" }, labels: {} })
      expect(created.id).toBe("id1")
      expect(seen.slice(before)).toEqual([{
        method: "io.podman.CreateContainer",
        parameters: { create: { name: "n", detach: true, env: ["A=1"], args: ["localhost/busybox:latest", "true"] } }
      }])
    })))
})
