/**
 * The varlink connection and pool against FAKE peers (tiny node:net servers scripted per test):
 * malformed replies, a peer that closes mid-reply, a peer that never answers (typed timeout, socket
 * closed), `more` streams stopped early, `upgrade`, pool limits, interruption. Each fake counts the
 * sockets it has open, so the tests prove that no connection is leaked.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { VarlinkError, VarlinkTransportError } from "../../layers/varlink/index.ts"
import { makeVarlinkClient, parseVarlinkAddress, VarlinkConnection } from "../../layers/varlink/index.ts"

const dir = mkdtempSync(path.join(tmpdir(), "vlf-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

interface FakePeer {
  readonly address: string
  /** Sockets currently open on the peer side. */
  readonly open: () => number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Highest number of connections open at the same time. */
  readonly maxOpen: () => number
  readonly close: Effect.Effect<void>
}

/** A FAKE varlink peer: `onMessage` gets each NUL-terminated message and the socket to answer on. */
const fakePeer = (onMessage: (msg: any, socket: net.Socket) => void): Effect.Effect<FakePeer, never, import("effect").Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<FakePeer & { server: net.Server }>((resolve) => {
        const sockPath = path.join(dir, `fake-${n++}.sock`)
        const sockets = new Set<net.Socket>()
        let accepted = 0
        let maxOpen = 0
        const server = net.createServer((socket) => {
          accepted++
          sockets.add(socket)
          maxOpen = Math.max(maxOpen, sockets.size)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => {})
          let buf = Buffer.alloc(0)
          socket.on("data", (chunk: Buffer) => {
            buf = Buffer.concat([buf, chunk])
            let nul: number
            while ((nul = buf.indexOf(0)) >= 0) {
              const text = buf.subarray(0, nul).toString()
              buf = buf.subarray(nul + 1)
              onMessage(JSON.parse(text), socket)
            }
          })
        })
        server.listen(sockPath, () =>
          resolve({
            server,
            address: `unix:${sockPath}`,
            open: () => sockets.size,
            accepted: () => accepted,
            maxOpen: () => maxOpen,
            close: Effect.promise(() => new Promise<void>((r) => {
              for (const s of sockets) s.destroy()
              server.close(() => r())
            }))
          })
        )
      })
    ),
    (p) => p.close
  )

const send = (socket: net.Socket, m: unknown) => socket.write(JSON.stringify(m) + "\0")

/** Waits (up to 2 s) until the peer has no open socket. */
const noOpenSockets = (peer: FakePeer) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && peer.open() > 0; i++) yield* Effect.sleep("10 millis")
    return peer.open()
  })

describe("varlink addresses", () => {
  it("parses unix, abstract and tcp addresses and rejects others", () => {
    expect(parseVarlinkAddress("unix:/run/x;mode=0666")).toMatchObject({ _tag: "unix", path: "/run/x" })
    expect(parseVarlinkAddress("unix:@abs")).toMatchObject({ _tag: "unix", path: "\0abs" })
    expect(parseVarlinkAddress("tcp:127.0.0.1:9000")).toMatchObject({ _tag: "tcp", host: "127.0.0.1", port: 9000 })
    expect(parseVarlinkAddress("tcp:[::1]:9000")).toMatchObject({ _tag: "tcp", host: "::1", port: 9000 })
    for (const bad of ["", "unix:", "tcp:host", "tcp:host:99999", "http://x", `unix:/${"a".repeat(120)}`]) {
      expect(parseVarlinkAddress(bad)).toBeInstanceOf(VarlinkTransportError)
    }
  })
})

describe("VarlinkConnection against fake peers", () => {
  it.live("sends NUL-terminated calls with the flags and decodes replies", () =>
    Effect.scoped(Effect.gen(function*() {
      const seen: Array<any> = []
      const peer = yield* fakePeer((m, s) => {
        seen.push(m)
        if (!m.oneway) send(s, { parameters: { echo: m.parameters } })
      })
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      expect(yield* c.call("org.example.A", { x: 1 })).toEqual({ echo: { x: 1 } })
      yield* c.oneway("org.example.B", { y: 2 })
      expect(yield* c.call("org.example.C")).toEqual({ echo: {} })
      expect(seen).toEqual([
        { method: "org.example.A", parameters: { x: 1 } },
        { method: "org.example.B", parameters: { y: 2 }, oneway: true },
        { method: "org.example.C", parameters: {} }
      ])
    })))

  it.live("an error reply is a VarlinkError with name, method and parameters", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => send(s, { error: "org.example.NotFound", parameters: { id: "x" } }))
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      const e = yield* Effect.flip(c.call("org.example.Get", { id: "x" }))
      expect(e).toBeInstanceOf(VarlinkError)
      expect(e).toMatchObject({ error: "org.example.NotFound", method: "org.example.Get", parameters: { id: "x" } })
    })))

  for (const [what, bytes] of [
    ["not JSON", "this is not json\0"],
    ["not an object", "[1,2,3]\0"],
    ["parameters not an object", "{\"parameters\":5}\0"],
    ["continues not a boolean", "{\"parameters\":{},\"continues\":\"yes\"}\0"]
  ] as const) {
    it.live(`a malformed reply (${what}) is a typed malformed error and closes the socket`, () =>
      Effect.scoped(Effect.gen(function*() {
        const peer = yield* fakePeer((_m, s) => s.write(bytes))
        const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
        const e = yield* Effect.flip(c.call("org.example.A"))
        expect(e).toMatchObject({ _tag: "VarlinkTransportError", kind: "malformed" })
        expect(yield* noOpenSockets(peer)).toBe(0)
      })))
  }

  it.live("a reply bigger than maxMessageBytes without NUL is malformed", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => s.write("{\"parameters\":{\"x\":\"" + "a".repeat(10_000)))
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000, maxMessageBytes: 1000 })
      const e = yield* Effect.flip(c.call("org.example.A"))
      expect(e).toMatchObject({ kind: "malformed" })
    })))

  it.live("a peer that closes in the middle of a reply gives a typed closed error", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => s.end("{\"parameters\":{\"half\":"))
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      const e = yield* Effect.flip(c.call("org.example.A"))
      expect(e).toMatchObject({ _tag: "VarlinkTransportError", kind: "closed" })
      expect(e.message).toContain("middle of a reply")
    })))

  it.live("a peer that closes in the middle of a more stream fails the stream after the replies it sent", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => {
        send(s, { parameters: { i: 1 }, continues: true })
        send(s, { parameters: { i: 2 }, continues: true })
        s.end()
      })
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      const got: Array<unknown> = []
      const e = yield* Effect.flip(Stream.runForEach(c.callMore("org.example.M"), (p) => Effect.sync(() => got.push(p))))
      expect(got).toEqual([{ i: 1 }, { i: 2 }])
      expect(e).toMatchObject({ kind: "closed" })
    })))

  it.live("a peer that never answers gives a typed timeout within the deadline, and the socket is closed", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer(() => {})
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 5000 })
      const started = Date.now()
      const e = yield* Effect.flip(c.call("org.example.Slow", {}, { timeoutMillis: 200 }))
      const elapsed = Date.now() - started
      expect(e).toMatchObject({ _tag: "VarlinkTransportError", kind: "timeout" })
      expect(elapsed).toBeGreaterThanOrEqual(190)
      expect(elapsed).toBeLessThan(1500)
      expect(yield* noOpenSockets(peer)).toBe(0)
      // the connection is not reusable afterwards: replies would be out of order
      expect(c.isReusable).toBe(false)
      expect(yield* Effect.flip(c.call("org.example.Again"))).toMatchObject({ kind: "closed" })
    })))

  it.live("continues on a call that did not ask for more is a protocol error", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => send(s, { parameters: {}, continues: true }))
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      expect(yield* Effect.flip(c.call("org.example.A"))).toMatchObject({ kind: "protocol" })
    })))

  it.live("a second call while one is in flight is refused (one call at a time per connection)", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((_m, s) => setTimeout(() => send(s, { parameters: {} }), 100))
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      const first = yield* Effect.forkChild(c.call("org.example.A"))
      yield* Effect.sleep("20 millis")
      expect(yield* Effect.flip(c.call("org.example.B"))).toMatchObject({ kind: "protocol" })
      expect(yield* Fiber.join(first)).toEqual({})
    })))

  it.live("interrupting a call closes the connection", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer(() => {})
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 5000 })
      const f = yield* Effect.forkChild(c.call("org.example.Forever"))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(f)
      expect(yield* noOpenSockets(peer)).toBe(0)
    })))

  it.live("upgrade: after the reply the connection is a raw byte stream both ways", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((m, s) => {
        expect(m.upgrade).toBe(true)
        // reply and the first raw bytes in one write; then echo upper-cased
        s.write(JSON.stringify({ parameters: { ok: true } }) + "\0hello\0raw")
        s.removeAllListeners("data")
        s.on("data", (d: Buffer) => s.write(d.toString().toUpperCase()))
        s.on("end", () => s.end())
      })
      const c = yield* VarlinkConnection.connect(peer.address, { timeoutMillis: 2000 })
      const up = yield* c.upgrade("org.example.Upgrade")
      expect(up.parameters).toEqual({ ok: true })
      yield* up.write(new TextEncoder().encode(" and back"))
      yield* Effect.sleep("50 millis")
      yield* up.end
      const bytes = yield* Stream.runCollect(up.input)
      expect(Buffer.concat(bytes.map((b) => Buffer.from(b))).toString()).toBe("hello\0raw AND BACK")
      expect(yield* Effect.flip(c.call("org.example.After"))).toMatchObject({ kind: "protocol" })
    })))
})

describe("VarlinkClient pool against fake peers", () => {
  it.live("serves concurrent calls over at most poolSize connections, and closes them with its Scope", () =>
    Effect.gen(function*() {
      const peer = yield* fakePeer((m, s) => setTimeout(() => send(s, { parameters: { n: m.parameters.n } }), 50))
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* makeVarlinkClient({ address: peer.address, timeoutMillis: 2000, poolSize: 2 })
        const results = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => client.call("org.example.N", { n: i }), { concurrency: "unbounded" })
        expect(results.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6])
        expect(peer.maxOpen()).toBeLessThanOrEqual(2)
        expect(peer.accepted()).toBe(2)
        expect(peer.open()).toBe(2)
      }))
      expect(yield* noOpenSockets(peer)).toBe(0)
    }).pipe(Effect.scoped))

  it.live("more streams run on a connection of their own, closed when the stream ends (also when stopped early)", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((m, s) => {
        if (m.more) for (let i = 1; i <= 5; i++) send(s, { parameters: { i }, ...(i < 5 ? { continues: true } : {}) })
        else send(s, { parameters: { plain: true } })
      })
      const client = yield* makeVarlinkClient({ address: peer.address, timeoutMillis: 2000, poolSize: 1 })
      const all = yield* Stream.runCollect(client.callMore("org.example.M"))
      expect(all.map((p) => p.i)).toEqual([1, 2, 3, 4, 5])
      const two = yield* Stream.runCollect(client.callMore("org.example.M").pipe(Stream.take(2)))
      expect(two.map((p) => p.i)).toEqual([1, 2])
      expect(yield* noOpenSockets(peer)).toBe(0)
      expect(yield* client.call("org.example.P")).toEqual({ plain: true })
      expect(peer.accepted()).toBe(3)
    })))

  it.live("long-lived calls (more streams, dedicated calls) do not starve the pool", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* fakePeer((m, s) => {
        if (m.more) send(s, { parameters: { first: true }, continues: true }) // and then nothing, for ever
        else if (m.method === "org.example.Block") return // never answers
        else send(s, { parameters: { quick: true } })
      })
      const client = yield* makeVarlinkClient({ address: peer.address, timeoutMillis: 2000, poolSize: 1 })
      const follows = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Stream.runDrain(client.callMore("org.example.Follow"))))
      const blocked = yield* Effect.forkChild(client.call("org.example.Block", {}, { dedicated: true, timeoutMillis: 60_000 }))
      yield* Effect.sleep("100 millis")
      // three followers and a blocked call hold four connections; the pool's one is still free
      expect(yield* client.call("org.example.Quick")).toEqual({ quick: true })
      expect(peer.open()).toBe(5)
      yield* Effect.forEach([...follows, blocked], (f: Fiber.Fiber<unknown, unknown>) => Fiber.interrupt(f), { discard: true })
      expect(yield* noOpenSockets(peer).pipe(Effect.map((n) => n <= 1))).toBe(true)
    })))

  it.live("a refused connection is a typed connect error; a timed-out call does not poison the pool", () =>
    Effect.scoped(Effect.gen(function*() {
      const refused = yield* makeVarlinkClient({ address: `unix:${dir}/nobody.sock`, timeoutMillis: 500 })
      expect(yield* Effect.flip(refused.call("org.example.A"))).toMatchObject({ kind: "connect" })
      let first = true
      const peer = yield* fakePeer((_m, s) => {
        if (first) first = false
        else send(s, { parameters: { ok: 1 } })
      })
      const client = yield* makeVarlinkClient({ address: peer.address, timeoutMillis: 200, poolSize: 1 })
      expect(yield* Effect.flip(client.call("org.example.A"))).toMatchObject({ kind: "timeout" })
      expect(yield* client.call("org.example.A")).toEqual({ ok: 1 })
    })))

  it.live("a pooled connection the peer closed while idle is invalidated and replaced, not reused", () =>
    Effect.scoped(Effect.gen(function*() {
      // answers, then hangs up: the connection goes back to the pool and dies there
      const peer = yield* fakePeer((m, s) => {
        send(s, { parameters: { n: m.parameters.n } })
        s.end()
      })
      const client = yield* makeVarlinkClient({ address: peer.address, timeoutMillis: 2000, poolSize: 1 })
      expect(yield* client.call("org.example.N", { n: 1 })).toEqual({ n: 1 })
      yield* noOpenSockets(peer)
      expect(yield* client.call("org.example.N", { n: 2 })).toEqual({ n: 2 })
      expect(peer.accepted()).toBe(2)
    })))
})
