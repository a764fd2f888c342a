/**
 * The REST transport's classification table (layers/podman-rest/classify.ts) on the error answers
 * recorded from Podman 4.3.1 and the 5.x shapes (test/fixtures/libpod): each (operation, status,
 * body) gives the reason the driver branches on.
 */
import { describe, expect, it } from "vitest"
import { classifyRest } from "../../layers/podman-rest/index.ts"
import { MAX_DETAIL_CHARS } from "../../src/domain/PodmanError.ts"
import { fixture, type LibpodVersion } from "../fixtures/libpod/fixtures.ts"

/** fixture → the operation that got it, the id it was about, the reason expected. */
const cases: ReadonlyArray<readonly [LibpodVersion, string, string, string, Record<string, unknown>]> = [
  ["4.3", "container-inspect-missing", "containerInspect", "fx-nope", { _tag: "NotFound", what: "container", id: "fx-nope" }],
  ["4.3", "container-start-missing", "containerStart", "fx-nope", { _tag: "NotFound", what: "container" }],
  ["4.3", "container-kill-missing", "containerKill", "fx-nope", { _tag: "NotFound", what: "container" }],
  ["4.3", "container-wait-missing", "containerWait", "fx-nope", { _tag: "NotFound", what: "container" }],
  ["4.3", "image-inspect-missing", "imageInspect", "localhost/nope:latest", { _tag: "NotFound", what: "image", id: "localhost/nope:latest" }],
  ["4.3", "exec-inspect-missing", "execInspect", "0000", { _tag: "NotFound", what: "exec session", id: "0000" }],
  ["4.3", "container-create-image-missing", "containerCreate", "localhost/nope:latest", { _tag: "NotFound", what: "image", id: "localhost/nope:latest" }],
  ["4.3", "container-create-name-in-use", "containerCreate", "localhost/busybox:latest", { _tag: "Conflict" }],
  ["4.3", "container-kill-exited", "containerKill", "fx-exited", { _tag: "NotRunning", id: "fx-exited" }],
  ["4.3", "container-stop-exited", "containerStop", "fx-exited", { _tag: "NotRunning" }],
  ["4.3", "exec-create-exited", "execCreate", "fx-exited", { _tag: "NotRunning" }],
  ["4.3", "container-remove-running", "containerRemove", "fx-running", { _tag: "Conflict" }],
  ["4.3", "container-start-bad-signal-kill", "containerKill", "fx-running", { _tag: "Api", detail: "invalid signal: SIGBOGUS" }],
  ["5.x", "container-kill-exited", "containerKill", "batch-1", { _tag: "NotRunning" }],
  ["5.x", "exec-create-exited", "execCreate", "batch-1", { _tag: "NotRunning" }],
  ["5.x", "container-inspect-missing", "containerInspect", "nope", { _tag: "NotFound", what: "container" }]
]

describe("classifyRest on recorded answers", () => {
  for (const [version, name, operation, id, expected] of cases) {
    it(`${version} ${name} (${operation}) → ${String(expected._tag)}`, () => {
      const f = fixture(version, name)
      expect(f.status).toBeGreaterThanOrEqual(300)
      expect(classifyRest(operation, { _tag: "Status", status: f.status!, body: f.text }, id)).toMatchObject(expected)
    })
  }

  it("keeps Podman's words on NotRunning and Conflict", () => {
    const kill = classifyRest("containerKill", { _tag: "Status", status: 500, body: fixture("4.3", "container-kill-exited").text }, "x")
    expect(kill).toMatchObject({ _tag: "NotRunning", detail: expect.stringContaining("container state improper") })
    const name = classifyRest("containerCreate", { _tag: "Status", status: 500, body: fixture("4.3", "container-create-name-in-use").text }, "img")
    expect(name.message).toContain("already in use")
  })
})

describe("classifyRest table rules", () => {
  const status = (s: number, body = "") => ({ _tag: "Status" as const, status: s, body })

  it("transport failures are Unavailable, deadlines Timeout; both retryable", () => {
    const down = classifyRest("info", { _tag: "Transport", detail: "ECONNREFUSED" })
    expect(down).toMatchObject({ _tag: "Unavailable", detail: "ECONNREFUSED" })
    expect(down.isRetryable).toBe(true)
    const slow = classifyRest("info", { _tag: "Timeout", millis: 300 })
    expect(slow).toMatchObject({ _tag: "Timeout", millis: 300 })
    expect(slow.isRetryable).toBe(true)
    expect(classifyRest("info", status(500, "boom")).isRetryable).toBe(false)
  })

  it("a 404 is NotFound only where the path names an object", () => {
    expect(classifyRest("containerStop", status(404), "c")).toMatchObject({ _tag: "NotFound", what: "container", id: "c" })
    expect(classifyRest("execResize", status(404), "e")).toMatchObject({ _tag: "NotFound", what: "exec session" })
    expect(classifyRest("info", status(404, "page not found"))).toMatchObject({ _tag: "Api", detail: "page not found" })
  })

  it("304 and 409 mean not running for kill/stop/exec, a conflict elsewhere", () => {
    expect(classifyRest("containerKill", status(409), "c")._tag).toBe("NotRunning")
    expect(classifyRest("containerStop", status(304), "c")._tag).toBe("NotRunning")
    expect(classifyRest("containerCreate", status(409, '{"message":"name taken"}'))._tag).toBe("Conflict")
    // a port taken at start is a conflict, not Podman failing
    expect(classifyRest("containerStart", status(500, '{"cause":"address already in use","message":"cannot listen on the TCP port: listen tcp4 127.0.0.1:18082: bind: address already in use"}'), "c")._tag)
      .toBe("Conflict")
  })

  it("Podman's refusals of the spec on create and start are flagged invalidInput; real faults are not", () => {
    const body = (cause: string, message: string) => JSON.stringify({ cause, message, response: 500 })
    const refusals: ReadonlyArray<readonly [string, string]> = [
      ["containerCreate", body("unknown capability", "\"CAP_FOO\": unknown capability")],
      ["containerCreate", body("container directory cannot be empty", "container directory cannot be empty")],
      ["containerCreate", body("invalid argument", "running container create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument")],
      ["containerCreate", body("no such file or directory", "statfs /nonexistent: no such file or directory")],
      ["containerCreate", body("invalid mount option", "unknown mount option \"bogus\": invalid mount option")],
      ["containerCreate", body("no such container", "looking up container to share ipc namespace with: no container with name or ID \"x\" found: no such container")],
      ["containerStart", body("no matching entries in passwd file", "unable to find user nosuchuser: no matching entries in passwd file")],
      ["containerStart", body("OCI runtime attempted to invoke a command that was not found", "runc: runc create failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory: OCI runtime attempted to invoke a command that was not found")],
      ["containerStart", body("OCI runtime error", "runc: runc create failed: sysctl \"foo.bar\" is not in a separate kernel namespace: OCI runtime error")],
      ["containerStart", body("x", "workdir \"relative\" does not exist on container abc")]
    ]
    // (a missing network is NotFound of the network: the driver names `network_mode`)
    for (const [op, b] of refusals) expect(classifyRest(op, status(500, b), "c"), b).toMatchObject({ _tag: "Api", invalidInput: true })
    expect(classifyRest("containerKill", status(400, "bad signal"), "c")).toMatchObject({ _tag: "Api", invalidInput: true })
    for (const fault of ["boom", "runtime error: invalid memory address or nil pointer dereference", "database is locked"]) {
      expect(classifyRest("containerCreate", status(500, fault))).not.toHaveProperty("invalidInput")
    }
    expect(classifyRest("containerRemove", status(500, "no such file or directory"))).not.toHaveProperty("invalidInput")
  })

  it("an empty error body names the status; a long one is cut to a bounded length", () => {
    expect(classifyRest("info", status(502))).toMatchObject({ _tag: "Api", detail: "HTTP 502" })
    const long = classifyRest("containerCreate", status(500, JSON.stringify({ message: "x".repeat(5000) })))
    expect(long._tag).toBe("Api")
    expect(long.message.length).toBeLessThan(MAX_DETAIL_CHARS + 40)
    expect(long.message).toContain("(5000 characters)")
  })
})
