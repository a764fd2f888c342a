/**
 * Unit tests of the REST transport's pure helpers: X-Registry-Auth encoding, pull error
 * classification (texts from PODMAN-SANDBOX.md §5), address parsing and the lenient decoders.
 */
import { describe, expect, it } from "vitest"
import { classifyPullError, encodeRegistryAuth, parseAddress } from "../../layers/podman-rest/index.ts"
import { num, str } from "../../layers/podman-rest/lenient.ts"
import { signalNumber, toContainerInspect, toEvent, toInfo } from "../../layers/podman-rest/mappers.ts"

describe("encodeRegistryAuth", () => {
  it("is URL-safe base64 WITH padding of the JSON credentials", () => {
    const v = encodeRegistryAuth({ username: "testuser", password: "testpass" })
    expect(Buffer.from(v, "base64").toString()).toBe('{"username":"testuser","password":"testpass"}')
    expect(v).toMatch(/^[A-Za-z0-9_-]+=*$/)
    expect(v.length % 4).toBe(0) // padded
    // the reference value from the shell recipe: printf '%s' "$J" | base64 -w0 | tr '+/' '-_'
    expect(v).toBe("eyJ1c2VybmFtZSI6InRlc3R1c2VyIiwicGFzc3dvcmQiOiJ0ZXN0cGFzcyJ9")
  })

  it("uses - and _ instead of + and /", () => {
    // "?>?" style bytes produce + and / in standard base64
    const v = encodeRegistryAuth({ username: "u", password: "~~~???>>>" })
    expect(v).not.toMatch(/[+/]/)
    expect(Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString()).toContain("~~~???>>>")
    const padded = encodeRegistryAuth({ username: "ab", password: "c" })
    expect(padded.endsWith("=")).toBe(true)
  })

  it("carries identity token and server address, and leaves empty fields out", () => {
    const v = encodeRegistryAuth({ identityToken: "tok", serverAddress: "reg.example:5000", username: "" })
    expect(JSON.parse(Buffer.from(v, "base64").toString())).toEqual({ identitytoken: "tok", serveraddress: "reg.example:5000" })
  })
})

describe("classifyPullError", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["auth", "initializing source docker://127.0.0.1:5055/test/httpd:latest: reading manifest latest in 127.0.0.1:5055/test/httpd: unauthorized: authentication required"],
    ["not-found", "initializing source docker://127.0.0.1:5055/test/nope:latest: reading manifest latest in 127.0.0.1:5055/test/nope: manifest unknown: manifest unknown"],
    ["unreachable", "initializing source docker://127.0.0.1:5999/x:latest: pinging container registry 127.0.0.1:5999: Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused"],
    ["tls", "initializing source docker://127.0.0.1:5055/x:latest: pinging container registry 127.0.0.1:5055: Get \"https://127.0.0.1:5055/v2/\": http: server gave HTTP response to HTTPS client"],
    ["tls", "pinging container registry r:5056: Get \"https://r:5056/v2/\": x509: certificate signed by unknown authority"],
    ["unreachable", "pinging container registry registry.invalid: Get \"https://registry.invalid/v2/\": dial tcp: lookup registry.invalid on 10.255.255.53:53: no such host"],
    ["timeout", "pinging container registry r: Get \"https://r/v2/\": dial tcp 10.0.0.1:443: i/o timeout"],
    ["other", "reference parameter cannot be empty"]
  ]
  for (const [reason, text] of cases) {
    it(`${reason}: ${text.slice(-50)}`, () => {
      const e = classifyPullError("img", text)
      expect(e._tag).toBe("ImagePullError")
      expect(e.reason).toBe(reason)
      expect(e.image).toBe("img")
      expect(e.detail).toContain(text.slice(-20))
    })
  }

  it("never keeps credentials embedded in a URL", () => {
    const e = classifyPullError("img", "Get \"https://bob:hunter2@reg/v2/\": unauthorized")
    expect(e.detail).not.toContain("hunter2")
    expect(e.reason).toBe("auth")
  })
})

describe("parseAddress", () => {
  it("accepts the unix and http forms", () => {
    expect(parseAddress("unix:///run/podman/podman.sock")).toMatchObject({ _tag: "unix", socketPath: "/run/podman/podman.sock" })
    expect(parseAddress("unix:/run/podman/podman.sock")).toMatchObject({ _tag: "unix", socketPath: "/run/podman/podman.sock" })
    expect(parseAddress("/run/podman/podman.sock")).toMatchObject({ _tag: "unix", socketPath: "/run/podman/podman.sock" })
    expect(parseAddress("http://127.0.0.1:8888")).toMatchObject({ _tag: "tcp", baseUrl: "http://127.0.0.1:8888", host: "127.0.0.1", port: 8888, tls: false })
    expect(parseAddress("https://podman.example/api/")).toMatchObject({ _tag: "tcp", baseUrl: "https://podman.example/api", port: 443, tls: true })
  })
  it("rejects the rest", () => {
    expect(parseAddress("unix://relative.sock")._tag).toBe("invalid")
    expect(parseAddress("tcp://1.2.3.4:1")._tag).toBe("invalid")
    expect(parseAddress("podman.sock")._tag).toBe("invalid")
  })
})

describe("lenient decoding", () => {
  it("accepts numbers as strings and ignores junk", () => {
    expect(num("42")).toBe(42)
    expect(num("x", 7)).toBe(7)
    expect(num(null)).toBe(0)
    expect(str(5)).toBe("5")
    expect(str({})).toBe("")
  })

  it("maps an inspect with missing sections and drifted types", () => {
    const i = toContainerInspect({
      Id: "abc",
      Name: "/web",
      State: { Status: "running", Running: true, Pid: "123", StartedAt: "2026-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z" },
      Config: { StopSignal: "SIGTERM", Labels: { a: "b", n: 1 }, Env: null },
      HostConfig: { Memory: "1048576", PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] } },
      NetworkSettings: { IPAddress: "", Ports: null, Networks: { podman: { IPAddress: "10.88.0.5" } } },
      Unknown: { deep: [1, 2, 3] }
    })
    expect(i.name).toBe("web")
    expect(i.state.pid).toBe(123)
    expect(i.state.startedAt?.toISOString()).toBe("2026-01-01T00:00:00.000Z")
    expect(i.state.finishedAt).toBeUndefined()
    expect(i.stopSignal).toBe(15)
    expect(i.labels).toEqual({ a: "b", n: "1" })
    expect(i.env).toEqual([])
    expect(i.memoryLimit).toBe(1048576)
    expect(i.ipAddress).toBe("10.88.0.5")
    expect(i.ports).toEqual({ "80/tcp": [{ hostIp: "", hostPort: 8080 }] })
    expect(i.mounts).toEqual([])
    const empty = toContainerInspect(null)
    expect(empty.state.running).toBe(false)
    expect(empty.id).toBe("")
  })

  it("reads stop signals as numbers, names or numeric strings", () => {
    expect(signalNumber(15)).toBe(15)
    expect(signalNumber("9")).toBe(9)
    expect(signalNumber("SIGUSR1")).toBe(10)
    expect(signalNumber("term")).toBe(15)
    expect(signalNumber("NOPE")).toBeUndefined()
    expect(signalNumber(0)).toBeUndefined()
  })

  it("maps info and events with defaults", () => {
    const info = toInfo({ host: { security: { rootless: "true" }, cpus: 4 }, version: { Version: "5.0.0" } })
    expect(info).toMatchObject({ rootless: true, cpus: 4, version: "5.0.0", apiVersion: "", cgroupVersion: "" })
    const e = toEvent({ Type: "container", Action: "died", Actor: { ID: "id1", Attributes: { name: "n", containerExitCode: "3" } }, timeNano: 1_700_000_000_123_456_789 })
    expect(e).toMatchObject({ type: "container", action: "died", id: "id1", name: "n", attributes: { containerExitCode: "3" } })
    expect(e.time.getTime()).toBe(1_700_000_000_123)
    const old = toEvent({ status: "start", id: "id2", time: 1_700_000_000 })
    expect(old).toMatchObject({ action: "start", id: "id2", name: "" })
    expect(old.time.getTime()).toBe(1_700_000_000_000)
  })
})
