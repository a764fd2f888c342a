/**
 * Unit tests of the REST transport's pure helpers: X-Registry-Auth encoding, pull error
 * classification (texts recorded from Podman 4.3, docs/podman.md "Pulls") and address parsing.
 * The libpod JSON decoders are tested in Libpod.test.ts, the error table in PodmanRestClassify.test.ts.
 */
import { describe, expect, it } from "vitest"
import { classifyPullError } from "../../layers/libpod/index.ts"
import { encodeRegistryAuth, parseAddress } from "../../layers/podman-rest/index.ts"

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
