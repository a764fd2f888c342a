/**
 * Varlink client certification: our client against the reference service of varlink/go
 * (`varlink-go-certification`, Debian package varlink-go). The sequence Start, Test01 … Test11, End
 * is driven only by the service: each call's parameters are the previous reply's parameters plus
 * the client id; Test10 is a `more` call and Test11 a `oneway` call whose parameter name comes from the
 * service's own interface description. The test passes only when End answers `all_ok: true`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { VarlinkError, VarlinkTransportError } from "../../layers/varlink/index.ts"
import { checkValue, makeVarlinkClient, VarlinkConnection, type VarlinkParameters } from "../../layers/varlink/index.ts"

const BIN = "/usr/bin/varlink-go-certification"
const CERT = "org.varlink.certification"

const services: Array<ChildProcess> = []
let dir = ""
let address = ""

/** Starts the certification service and waits until it accepts connections. */
const startService = async (addr: string, probe: net.NetConnectOpts) => {
  const child = spawn(BIN, [`--varlink=${addr}`], { stdio: ["ignore", "ignore", "pipe"] })
  services.push(child)
  const deadline = Date.now() + 5000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createConnection(probe)
      s.once("connect", () => {
        s.destroy()
        resolve(true)
      })
      s.once("error", () => resolve(false))
    })
    if (ok) return child
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${BIN} did not start on ${addr}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "vlc-"))
  address = `unix:${dir}/cert.sock`
  await startService(address, { path: `${dir}/cert.sock` })
})

afterAll(async () => {
  // stop every service we started, by PID, and wait until it is gone
  await Promise.all(services.map((child) =>
    new Promise<void>((resolve) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      process.kill(child.pid, "SIGTERM")
    })
  ))
  rmSync(dir, { recursive: true, force: true })
})

describe("varlink certification (varlink-go-certification)", () => {
  it.live("runs Start, Test01…Test11, End driven by the service's replies; End reports all_ok", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeVarlinkClient({ address, timeoutMillis: 5000, poolSize: 2 })
      const info = yield* client.getInfo
      expect(info.interfaces).toContain(CERT)
      // the service's own description: validates every call before it is sent, and names Test11's parameter
      const iface = yield* client.describe(CERT)
      yield* client.addInterfaces([iface])
      const method = (name: string) => {
        const m = iface.methods.get(name)
        if (!m) throw new Error(`service does not describe ${name}`)
        return m
      }

      const start = yield* client.call(`${CERT}.Start`)
      const clientId = start.client_id
      expect(typeof clientId).toBe("string")
      let previous: VarlinkParameters = {}
      for (let n = 1; n <= 9; n++) {
        const name = `Test${String(n).padStart(2, "0")}`
        const reply = yield* client.call(`${CERT}.${name}`, { client_id: clientId, ...previous })
        // every reply matches the output type the service declares
        expect(checkValue(iface, method(name).output, reply)).toEqual([])
        previous = reply
      }

      const replies = yield* Stream.runCollect(client.callMore(`${CERT}.Test10`, { client_id: clientId, ...previous }))
      expect(replies.length).toBeGreaterThan(1)
      for (const r of replies) expect(checkValue(iface, method("Test10").output, r)).toEqual([])

      // Test11 takes the client id and the list of the Test10 replies' single value
      const test11Params = method("Test11").input.fields.filter((f) => f.name !== "client_id")
      expect(test11Params.length).toBe(1)
      const values = replies.map((r) => Object.values(r)[0])
      yield* client.oneway(`${CERT}.Test11`, { client_id: clientId, [test11Params[0]!.name]: values })

      const end = yield* client.call(`${CERT}.End`, { client_id: clientId })
      expect(end).toEqual({ all_ok: true })
    })))

  it.live("a wrong value gets the service's typed CertificationError; an unknown client id ClientIdError", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* VarlinkConnection.connect(address, { timeoutMillis: 5000 })
      const { client_id } = yield* c.call(`${CERT}.Start`)
      const wrong = yield* Effect.flip(c.call(`${CERT}.Test02`, { client_id, bool: false }))
      expect(wrong).toBeInstanceOf(VarlinkError)
      expect((wrong as VarlinkError).error).toBe(`${CERT}.CertificationError`)
      expect((wrong as VarlinkError).method).toBe(`${CERT}.Test02`)
      // the connection stays usable after an error reply
      const badId = yield* Effect.flip(c.call(`${CERT}.Test01`, { client_id: "nope" }))
      expect((badId as VarlinkError).error).toBe(`${CERT}.ClientIdError`)
      expect(yield* c.call(`${CERT}.End`, { client_id })).toEqual({ all_ok: true })
    })))

  it.live("org.varlink.service errors: InterfaceNotFound, MethodNotFound, InvalidParameter", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeVarlinkClient({ address, timeoutMillis: 5000 })
      const noIface = yield* Effect.flip(client.call("org.example.nothing.Foo"))
      expect(noIface).toMatchObject({ _tag: "VarlinkError", error: "org.varlink.service.InterfaceNotFound", parameters: { interface: "org.example.nothing" } })
      const noMethod = yield* Effect.flip(client.call(`${CERT}.Test99`, { client_id: "x" }))
      expect(noMethod).toMatchObject({ error: "org.varlink.service.MethodNotFound" })
      const badDescribe = yield* Effect.flip(client.getInterfaceDescription("org.example.nothing"))
      expect(badDescribe).toMatchObject({ error: "org.varlink.service.InvalidParameter", parameters: { parameter: "interface" } })
    })))

  it.live("validates calls against the description before sending them", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeVarlinkClient({ address, timeoutMillis: 5000 })
      yield* client.addInterfaces([yield* client.describe(CERT)])
      const unknownParam = yield* Effect.flip(client.call(`${CERT}.Test01`, { client_id: "x", extra: 1 }))
      expect(unknownParam).toMatchObject({ error: "org.varlink.service.InvalidParameter", parameters: { parameter: "extra" } })
      const wrongType = yield* Effect.flip(client.call(`${CERT}.Test02`, { client_id: "x", bool: "yes" }))
      expect(wrongType).toMatchObject({ error: "org.varlink.service.InvalidParameter", parameters: { parameter: "bool" } })
      const missing = yield* Effect.flip(client.call(`${CERT}.Test02`, { client_id: "x" }))
      expect(missing).toMatchObject({ error: "org.varlink.service.InvalidParameter", parameters: { parameter: "bool" } })
      const noMethod = yield* Effect.flip(client.call(`${CERT}.Nope`))
      expect(noMethod).toMatchObject({ error: "org.varlink.service.MethodNotFound", parameters: { method: "Nope" } })
    })))

  it.live("connects over an abstract unix socket and over tcp", () =>
    Effect.gen(function*() {
      const abstract = `ndp-vlc-${process.pid}-${Date.now()}`
      yield* Effect.promise(() => startService(`unix:@${abstract}`, { path: `\0${abstract}` }))
      const port = yield* Effect.promise(freePort)
      yield* Effect.promise(() => startService(`tcp:127.0.0.1:${port}`, { host: "127.0.0.1", port }))
      for (const addr of [`unix:@${abstract}`, `tcp:127.0.0.1:${port}`]) {
        const info = yield* Effect.scoped(Effect.flatMap(makeVarlinkClient({ address: addr, timeoutMillis: 5000 }), (c) => c.getInfo))
        expect(info.product).toBe("Certification")
      }
    }))

  it.live("a refused connection is a typed connect error", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(VarlinkConnection.connect(`unix:${dir}/missing.sock`, { timeoutMillis: 1000 })))
      expect(Exit.isFailure(exit)).toBe(true)
      const err = yield* Effect.flip(Effect.scoped(VarlinkConnection.connect(`unix:${dir}/missing.sock`, { timeoutMillis: 1000 })))
      expect(err).toBeInstanceOf(VarlinkTransportError)
      expect(err.kind).toBe("connect")
    }))
})
