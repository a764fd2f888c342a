/**
 * The REST transport against a FAKE libpod (a node:http server on a unix socket or TCP port), for
 * the paths a healthy real Podman does not take: connections dropped mid-call, calls that never
 * answer, error bodies, unusual JSON, and the exact request shape (query names, auth header).
 * Everything a real Podman can show is tested in test/integration/PodmanRest.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { encodeRegistryAuth, makeRestClient } from "../../layers/podman-rest/index.ts"

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

interface Fake {
  readonly address: string
  readonly requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>
}

/** A fake libpod on a unix socket (or TCP when `tcp`), closed with the test's Scope. */
const fakeLibpod = (handler: Handler, tcp = false): Effect.Effect<Fake, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Fake["requests"] = []
    const server = http.createServer((req, res) => {
      const parts: Array<Buffer> = []
      req.on("data", (c: Buffer) => parts.push(c))
      req.on("end", () => {
        const body = Buffer.concat(parts).toString()
        requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
        handler(req, res, body)
      })
    })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prest-fake-"))
    const sock = path.join(dir, "api.sock")
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => {
        if (tcp) server.listen(0, "127.0.0.1", () => resume(Effect.void))
        else server.listen(sock, () => resume(Effect.void))
      }),
      () =>
        Effect.sync(() => {
          server.closeAllConnections()
          server.close()
          fs.rmSync(dir, { recursive: true, force: true })
        })
    )
    const address = tcp ? `http://127.0.0.1:${(server.address() as AddressInfo).port}` : `unix://${sock}`
    return { address, requests }
  })

const json = (res: http.ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { "Content-Type": "application/json" })
  res.end(JSON.stringify(value))
}

describe("PodmanRest against a fake libpod", () => {
  it.live("a wait whose connection drops fails with reason Unavailable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/plain" })
        res.flushHeaders()
        setTimeout(() => res.socket?.destroy(), 150)
      })
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 5000 })
      const err = yield* Effect.flip(c.containerWait("abc"))
      expect(err).toMatchObject({ _tag: "PodmanError", operation: "containerWait", reason: { _tag: "Unavailable" } })
      expect(fake.requests[0]?.url).toBe("/v4.0.0/libpod/containers/abc/wait?condition=stopped&condition=exited")
    }))

  it.live("one-shot calls on a unix socket and on a URL send the same request: method, path, JSON body with its type and length", () =>
    Effect.gen(function*() {
      const spec = { name: "t.1", image: "localhost/busybox:latest", command: ["/bin/echo", "é ✓"], env: { A: "1" } }
      for (const tcp of [false, true]) {
        const fake = yield* fakeLibpod((_req, res) => json(res, 201, { Id: "abc", Warnings: [] }), tcp)
        const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
        expect(yield* c.containerCreate(spec as never)).toEqual({ id: "abc", warnings: [] })
        const r = fake.requests[0]!
        expect([r.method, r.url]).toEqual(["POST", "/v4.0.0/libpod/containers/create"])
        expect(r.headers["content-type"]).toBe("application/json")
        expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body))
        expect(JSON.parse(r.body)).toEqual(spec)
      }
    }))

  it.live("an interrupted call closes its connection", () =>
    Effect.gen(function*() {
      const received = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const server = yield* fakeLibpod((req) => {
        req.socket.on("close", () => Deferred.doneUnsafe(closed, Effect.void))
        Deferred.doneUnsafe(received, Effect.void)
      })
      const c = yield* makeRestClient({ socketName: "fake", address: server.address, timeoutMillis: 60_000 })
      const call = yield* Effect.forkChild(c.info)
      yield* Deferred.await(received)
      yield* Fiber.interrupt(call)
      yield* Deferred.await(closed)
    }))

  it.live("a call that never answers fails with reason Timeout", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod(() => undefined)
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 300 })
      const err = yield* Effect.flip(c.info)
      expect(err.reason).toMatchObject({ _tag: "Timeout", millis: 300 })
      expect(err.message).toContain("300 ms")
    }))

  it.live("error bodies are classified by the table with Podman's message; 404 on a container is NotFound", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod((req, res) => {
        if (req.url!.includes("/start")) json(res, 404, { cause: "no such container", message: "no container with name or ID \"x\" found", response: 404 })
        else json(res, 500, { cause: "container state improper", message: "can only kill running containers: container state improper", response: 500 })
      })
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
      const kill = yield* Effect.flip(c.containerKill("x", "SIGTERM"))
      expect(kill.reason).toMatchObject({ _tag: "NotRunning", id: "x", detail: "can only kill running containers: container state improper" })
      expect(fake.requests[0]?.url).toBe("/v4.0.0/libpod/containers/x/kill?signal=SIGTERM")
      const start = yield* Effect.flip(c.containerStart("x"))
      expect(start.reason).toMatchObject({ _tag: "NotFound", what: "container", id: "x" })
    }))

  it.live("http:// base URLs, ping version header, refused connections", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod((_req, res) => {
        res.writeHead(200, { "Libpod-Api-Version": "9.8.7", "Content-Type": "text/plain" })
        res.end("OK")
      }, true)
      const c = yield* makeRestClient({ socketName: "tcp", address: fake.address, timeoutMillis: 2000 })
      expect(yield* c.ping).toEqual({ apiVersion: "9.8.7" })
      expect(fake.requests[0]?.url).toBe("/_ping")
      const refused = yield* makeRestClient({ socketName: "tcp", address: "http://127.0.0.1:1", timeoutMillis: 2000 })
      const err = yield* Effect.flip(refused.ping)
      expect(err.reason._tag).toBe("Unavailable")
      expect(err.message).toContain("ECONNREFUSED")
      // Podman over TCP is not on this host: its files are not readable here
      expect(refused.local).toBe(false)
    }))

  it.live("pull: request shape, auth header, progress, error line in a 200 body", () =>
    Effect.gen(function*() {
      let mode: "ok" | "error" | "no-id" = "ok"
      const fake = yield* fakeLibpod((_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" })
        if (mode === "ok") {
          res.write(JSON.stringify({ stream: "Trying to pull r:1/a/b:c...\n" }) + "\n")
          res.write(JSON.stringify({ stream: "Copying blob 123\n" }) + "\n")
          res.end(JSON.stringify({ images: ["f00d"], id: "f00d" }) + "\n")
        } else if (mode === "error") {
          res.end(JSON.stringify({ error: "reading manifest c in r:1/a/b: manifest unknown: manifest unknown" }) + "\n")
        } else {
          res.end(JSON.stringify({ stream: "nothing\n" }) + "\n")
        }
      })
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
      const auth = { username: "u", password: "p+/=" }
      const progress = yield* Stream.runCollect(c.imagePull("r:1/a/b:c", {
        tlsVerify: true,
        auth,
        os: "linux",
        arch: "arm64",
        variant: "v8",
        timeoutMillis: 5000
      }))
      expect(progress.map((p) => p.message)).toEqual(["Trying to pull r:1/a/b:c...", "Copying blob 123", "Pulled r:1/a/b:c"])
      expect(progress[2]?.imageId).toBe("f00d")
      const req = fake.requests[0]!
      expect(req.method).toBe("POST")
      expect(req.url).toBe("/v4.0.0/libpod/images/pull?reference=r%3A1%2Fa%2Fb%3Ac&quiet=false&tlsVerify=true&OS=linux&Arch=arm64&Variant=v8")
      expect(req.headers["x-registry-auth"]).toBe(encodeRegistryAuth(auth))
      // no credentials: no header at all
      mode = "error"
      const err = yield* Effect.flip(Stream.runDrain(c.imagePull("r:1/a/b:c", { tlsVerify: false, timeoutMillis: 5000 })))
      expect(err).toMatchObject({ _tag: "ImagePullError", reason: "not-found" })
      expect(fake.requests[1]?.headers["x-registry-auth"]).toBeUndefined()
      expect(fake.requests[1]?.url).toContain("tlsVerify=false")
      mode = "no-id"
      const noId = yield* Effect.flip(Stream.runDrain(c.imagePull("r:1/a/b:c", { tlsVerify: true, timeoutMillis: 5000 })))
      expect(noId).toMatchObject({ _tag: "ImagePullError", reason: "other" })
    }))

  it.live("load from a URL whose download breaks off is an ImagePullError, not reason Unavailable", () =>
    Effect.gen(function*() {
      // The fake libpod just swallows the upload; the archive server dies after 64 KiB.
      const fake = yield* fakeLibpod((_req, res) => json(res, 200, { Names: ["never"] }))
      const archive = http.createServer((_req, res) => {
        res.writeHead(200, { "Content-Type": "application/x-tar", "Content-Length": String(1024 * 1024) })
        res.write(Buffer.alloc(64 * 1024))
        setTimeout(() => res.socket?.destroy(), 100)
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void archive.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => {
          archive.closeAllConnections()
          archive.close()
        })
      )
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
      const url = `http://127.0.0.1:${(archive.address() as AddressInfo).port}/a.tar`
      const err = yield* Effect.flip(c.imageLoad({ _tag: "url", url }, { timeoutMillis: 5000 }))
      expect(err).toMatchObject({ _tag: "ImagePullError", reason: "unreachable" })
      const missing = yield* Effect.flip(c.imageLoad({ _tag: "url", url: "http://127.0.0.1:1/a.tar" }, { timeoutMillis: 5000 }))
      expect(missing).toMatchObject({ _tag: "ImagePullError", reason: "unreachable" })
    }))

  it.live("list filters, stop/remove query names, stats errors", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod((req, res) => {
        const url = req.url!
        if (url.startsWith("/v4.0.0/libpod/containers/json")) {
          json(res, 200, [{ Id: "1", Names: ["a"], State: "running", Labels: { k: "v" }, Extra: { x: 1 } }])
        } else if (url.startsWith("/v4.0.0/libpod/containers/stats")) {
          json(res, 200, { Error: {}, Stats: null })
        } else if (url.includes("/stop")) {
          res.writeHead(304)
          res.end()
        } else if (req.method === "DELETE") {
          json(res, 404, { cause: "no such container", message: "no such container", response: 404 })
        } else {
          res.writeHead(204)
          res.end()
        }
      })
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
      const listed = yield* c.containerList({ all: true, label: ["a=b", "c"] })
      expect(listed).toEqual([{ id: "1", names: ["a"], state: "running", labels: { k: "v" } }])
      const listUrl = new URL(`http://d${fake.requests[0]!.url}`)
      expect(listUrl.searchParams.get("all")).toBe("true")
      expect(JSON.parse(listUrl.searchParams.get("filters")!)).toEqual({ label: ["a=b", "c"] })
      yield* c.containerStop("x", 2.2) // 304 already stopped = success
      expect(fake.requests[1]!.url).toBe("/v4.0.0/libpod/containers/x/stop?timeout=3")
      yield* c.containerRemove("x", { force: true, volumes: true, timeoutSeconds: 0 }) // 404 = success
      expect(fake.requests[2]!.url).toBe("/v4.0.0/libpod/containers/x?force=true&v=true&timeout=0")
      const stats = yield* Effect.flip(Stream.runDrain(c.containerStats(["a", "b"], { intervalSeconds: 2 })))
      expect(stats.reason._tag).toBe("Api")
      expect(fake.requests[3]!.url).toBe("/v4.0.0/libpod/containers/stats?containers=a&containers=b&stream=true&interval=2")
    }))

  it.live("answers the driver depends on are decoded: a changed shape is reason Decode, never a default", () =>
    Effect.gen(function*() {
      const fake = yield* fakeLibpod((req, res) => {
        const url = req.url!
        if (url.includes("/wait")) {
          res.writeHead(200, { "Content-Type": "text/plain" })
          res.end("not a number\n")
        } else if (url.includes("/json")) {
          // an inspect whose exit code went missing: must not read as a clean exit 0
          json(res, 200, { Id: "x", State: { Running: false, OOMKilled: false, FinishedAt: "2026-01-01T00:00:00Z" } })
        } else if (url.includes("/create")) {
          json(res, 201, { Warnings: [] })
        } else {
          json(res, 200, { host: { security: {} }, version: {} })
        }
      })
      const c = yield* makeRestClient({ socketName: "fake", address: fake.address, timeoutMillis: 2000 })
      const wait = yield* Effect.flip(c.containerWait("x"))
      expect(wait).toMatchObject({ operation: "containerWait", reason: { _tag: "Decode" } })
      const inspect = yield* Effect.flip(c.containerInspect("x"))
      expect(inspect).toMatchObject({ operation: "containerInspect", reason: { _tag: "Decode", detail: expect.stringContaining("State.ExitCode") } })
      const created = yield* Effect.flip(c.containerCreate({ name: "n", image: "i", env: {}, labels: {} }))
      expect(created.reason).toMatchObject({ _tag: "Decode", detail: expect.stringContaining("Id") })
      expect((yield* Effect.flip(c.info)).reason._tag).toBe("Decode")
    }))
})
