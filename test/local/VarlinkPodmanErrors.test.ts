/**
 * How the io.podman client maps varlink outcomes onto PodmanError reasons, against a FAKE io.podman
 * peer (a node:net server that answers each method with a scripted reply), and the pure varlink
 * classification table itself.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { classifyVarlink, makeVarlinkClient } from "../../layers/podman-varlink/index.ts"
import { VarlinkError, VarlinkTransportError } from "../../layers/varlink/index.ts"

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
  it.effect("ContainerNotFound → NotFound naming the container, the varlink error kept as the cause", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { InspectContainer: err("io.podman.ContainerNotFound", { id: "abc", reason: "no such container" }) }
      const c = yield* client
      const e = yield* Effect.flip(c.containerInspect("abc"))
      expect(e).toMatchObject({ _tag: "PodmanError", operation: "containerInspect", reason: { _tag: "NotFound", what: "container", id: "abc" } })
      expect(e.cause).toBeInstanceOf(VarlinkError)
    })))

  it.effect("ErrCtrStopped on stop is success; InvalidState on kill is NotRunning; a bad signal is Api", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {
        StopContainer: err("io.podman.ErrCtrStopped", { id: "abc" }),
        KillContainer: err("io.podman.InvalidState", { id: "abc", reason: "container state improper" })
      }
      const c = yield* client
      yield* c.containerStop("abc", 1)
      expect(yield* Effect.flip(c.containerKill("abc", "SIGHUP"))).toMatchObject({ reason: { _tag: "NotRunning", id: "abc", detail: "container state improper" } })
      expect(seen.at(-1)).toEqual({ method: "io.podman.KillContainer", parameters: { name: "abc", signal: 1 } })
      expect(yield* Effect.flip(c.containerKill("abc", "SIGBOGUS"))).toMatchObject({ reason: { _tag: "Api", detail: "invalid signal: SIGBOGUS" } })
    })))

  it.effect("ErrorOccurred → Api with Podman's reason; a pull error → typed ImagePullError", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {
        StartContainer: err("io.podman.ErrorOccurred", { reason: "OCI runtime error" }),
        PullImage: err("io.podman.ErrorOccurred", { reason: "initializing source docker://x: reading manifest latest in x: unauthorized: authentication required" })
      }
      const c = yield* client
      expect(yield* Effect.flip(c.containerStart("abc"))).toMatchObject({ _tag: "PodmanError", reason: { _tag: "Api", detail: "OCI runtime error" } })
      const pull = yield* Effect.flip(Stream.runCollect(c.imagePull("x/y:latest", { tlsVerify: true, timeoutMillis: 1000 })))
      expect(pull).toMatchObject({ _tag: "ImagePullError", reason: "auth" })
    })))

  it.effect("org.varlink.service.MethodNotImplemented (an older io.podman) is Unsupported", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { GetContainerStats: err("org.varlink.service.MethodNotImplemented", { method: "GetContainerStats" }) }
      const c = yield* client
      const e = yield* Effect.flip(Stream.runCollect(c.containerStats(["abc"], { intervalSeconds: 1 }).pipe(Stream.take(1))))
      expect(e).toMatchObject({ _tag: "PodmanError", reason: { _tag: "Unsupported", transport: "varlink", what: expect.stringContaining("io.podman.GetContainerStats") } })
    })))

  it.live("NoContainerRunning on stats: no sample for that container", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { GetContainerStats: err("io.podman.NoContainerRunning") }
      const c = yield* client
      const batches = yield* Stream.runCollect(c.containerStats(["abc"], { intervalSeconds: 0.1 }).pipe(Stream.take(2)))
      expect(batches).toEqual([[], []])
    })))

  it.live("a service that does not answer → Timeout; no service → Unavailable", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = {}
      const c = yield* client
      expect(yield* Effect.flip(c.containerInspect("abc"))).toMatchObject({ operation: "containerInspect", reason: { _tag: "Timeout", millis: 300 } })
      const missing = yield* makeVarlinkClient({ socketName: "other", address: `varlink:unix:${path.join(dir, "nobody")}`, timeoutMillis: 300 })
      expect(yield* Effect.flip(missing.ping)).toMatchObject({ operation: "ping", reason: { _tag: "Unavailable" } })
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

describe("io.podman replies the driver depends on are decoded strictly (fake peer)", () => {
  it.effect("a WaitContainer reply without an exit code is a Decode reason, never exit code 0", () =>
    Effect.scoped(Effect.gen(function*() {
      answers = { WaitContainer: () => ({ parameters: {} }) }
      const c = yield* client
      expect(yield* Effect.flip(c.containerWait("abc"))).toMatchObject({ reason: { _tag: "Decode", detail: expect.stringContaining("exitcode") } })
      answers = { WaitContainer: () => ({ parameters: { exitcode: 3 } }) }
      expect(yield* c.containerWait("abc")).toBe(3)
    })))

  it.effect("InspectContainer text goes through the libpod decoder: a missing State.ExitCode is a Decode reason", () =>
    Effect.scoped(Effect.gen(function*() {
      const state = { Running: false, OOMKilled: false, FinishedAt: "2026-01-01T00:00:00Z" }
      answers = { InspectContainer: () => ({ parameters: { container: JSON.stringify({ Id: "abc", State: state }) } }) }
      const c = yield* client
      expect(yield* Effect.flip(c.containerInspect("abc"))).toMatchObject({ reason: { _tag: "Decode", detail: expect.stringContaining("State.ExitCode") } })
      answers = { InspectContainer: () => ({ parameters: { container: "not json" } }) }
      expect(yield* Effect.flip(c.containerInspect("abc"))).toMatchObject({ reason: { _tag: "Decode" } })
      answers = { InspectContainer: () => ({ parameters: { container: JSON.stringify({ Id: "abc", State: { ...state, ExitCode: 4 } }) } }) }
      expect((yield* c.containerInspect("abc")).state.exitCode).toBe(4)
    })))

  it.effect("a varlink unix address is local, a tcp one is not", () =>
    Effect.scoped(Effect.gen(function*() {
      expect((yield* client).local).toBe(true)
      expect((yield* makeVarlinkClient({ socketName: "t", address: "varlink:tcp:127.0.0.1:1", timeoutMillis: 300 })).local).toBe(false)
    })))
})

describe("classifyVarlink (the table)", () => {
  const error = (name: string, parameters: unknown = {}) => new VarlinkError({ error: name, method: "io.podman.X", parameters })
  const transport = (kind: VarlinkTransportError["kind"]) => new VarlinkTransportError({ kind, address: "unix:/x", detail: kind })

  it("transport failures: connect/closed → Unavailable, timeout → Timeout with the call's deadline, garbage → Decode", () => {
    expect(classifyVarlink("ping", transport("connect"), "", 5)).toMatchObject({ _tag: "Unavailable" })
    expect(classifyVarlink("ping", transport("closed"), "", 5)).toMatchObject({ _tag: "Unavailable" })
    expect(classifyVarlink("ping", transport("timeout"), "", 5)).toMatchObject({ _tag: "Timeout", millis: 5 })
    expect(classifyVarlink("ping", transport("malformed"), "", 5)).toMatchObject({ _tag: "Decode" })
    expect(classifyVarlink("ping", transport("protocol"), "", 5)).toMatchObject({ _tag: "Decode" })
  })

  it("io.podman errors by name, and libpod's text inside ErrorOccurred", () => {
    expect(classifyVarlink("imageInspect", error("io.podman.ImageNotFound", { id: "img" }), "img", 1)).toMatchObject({ _tag: "NotFound", what: "image", id: "img" })
    expect(classifyVarlink("containerStop", error("io.podman.ErrCtrStopped", { id: "c" }), "c", 1)).toMatchObject({ _tag: "NotRunning", id: "c" })
    expect(classifyVarlink("containerStats", error("io.podman.NoContainerRunning"), "c", 1)).toMatchObject({ _tag: "NotRunning" })
    expect(classifyVarlink("containerRemove", error("io.podman.InvalidState", { reason: "container state improper" }), "c", 1)).toMatchObject({ _tag: "Conflict" })
    expect(classifyVarlink("containerCreate", error("io.podman.ErrorOccurred", { reason: "that name is already in use" }), "img", 1)).toMatchObject({ _tag: "Conflict" })
    expect(classifyVarlink("containerCreate", error("io.podman.ErrorOccurred", { reason: "localhost/x: image not known" }), "localhost/x", 1)).toMatchObject({ _tag: "NotFound", what: "image", id: "localhost/x" })
    expect(classifyVarlink("containerKill", error("io.podman.ErrorOccurred", { reason: "can only kill running containers: container state improper" }), "c", 1)).toMatchObject({ _tag: "NotRunning" })
    expect(classifyVarlink("containerStart", error("io.podman.RuntimeError", { reason: "OCI runtime error" }), "c", 1)).toMatchObject({ _tag: "Api", detail: "OCI runtime error" })
    expect(classifyVarlink("events", error("org.varlink.service.MethodNotFound", { method: "GetEvents" }), "", 1)).toMatchObject({ _tag: "Unsupported", transport: "varlink" })
    expect(classifyVarlink("info", error("org.varlink.service.InvalidParameter", { parameter: "x" }), "", 1)).toMatchObject({ _tag: "Api" })
  })
})
