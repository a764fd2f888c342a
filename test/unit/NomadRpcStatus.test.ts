import * as grpc from "@grpc/grpc-js"
import { Cause } from "effect"
import { describe, expect, it } from "vitest"
import { causeToStatus, recoverableDetails, RpcRequestError, toStatusMapping, type HandlerFailure } from "../../layers/nomad-rpc/status.ts"
import { CtyDecodeError } from "../../layers/nomad-rpc/cty.ts"
import { formatHclog, hclogTimestamp } from "../../layers/nomad-rpc/hclog.ts"
import { durationToMillis, GO_ZERO_TIME, toTimestamp } from "../../layers/nomad-rpc/codec.ts"
import * as E from "../../src/domain/errors.ts"

const podman = (reason: E.PodmanErrorReason) => new E.PodmanError({ operation: "o", socket: "unix:///s", reason })

const every: Array<HandlerFailure> = [
  new E.InvalidTaskConfig({ issues: [{ field: "config.image", reason: "is required" }] }),
  new E.InvalidPluginConfig({ issues: [{ field: "gc.container", reason: "expected bool" }] }),
  new E.ImagePullError({ image: "x", reason: "timeout", detail: "t" }),
  new E.ImagePullError({ image: "x", reason: "unreachable", detail: "t" }),
  new E.ImagePullError({ image: "x", reason: "not-found", detail: "t" }),
  new E.ImagePullError({ image: "x", reason: "auth", detail: "t" }),
  new E.ImagePullError({ image: "x", reason: "tls", detail: "t" }),
  new E.OomKilled({ taskId: "t", exitCode: 137 }),
  podman(new E.Unavailable({ detail: "d" })),
  podman(new E.Timeout({ millis: 1 })),
  podman(new E.NotFound({ what: "container", id: "c" })),
  podman(new E.NotFound({ what: "image", id: "i" })),
  podman(new E.NotRunning({ id: "c" })),
  podman(new E.Conflict({ detail: "name in use" })),
  podman(new E.Unsupported({ transport: "varlink", what: "w" })),
  podman(new E.Api({ detail: "d" })),
  podman(new E.Decode({ detail: "d" })),
  new E.TaskNotFound({ taskId: "t" }),
  new E.TaskAlreadyExists({ taskId: "t" }),
  new E.TaskStateError({ taskId: "t", detail: "d" }),
  new CtyDecodeError({ offset: 0, detail: "d" }),
  new RpcRequestError(grpc.status.INVALID_ARGUMENT, "bad")
]

describe("status table", () => {
  it("never uses UNAVAILABLE, CANCELLED or OK for a typed error", () => {
    for (const e of every) {
      const m = toStatusMapping(e)
      expect([grpc.status.OK, grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).not.toContain(m.code)
      expect(m.message.length).toBeGreaterThan(0)
    }
  })

  it("config errors are InvalidArgument and name the field", () => {
    expect(toStatusMapping(every[0]!)).toStrictEqual({ code: grpc.status.INVALID_ARGUMENT, message: "invalid task config: config.image: is required" })
    expect(toStatusMapping(every[1]!).message).toMatch(/gc\.container/)
  })

  it("TaskNotFound is NotFound with Go's text", () => {
    expect(toStatusMapping(new E.TaskNotFound({ taskId: "x" }))).toStrictEqual({ code: grpc.status.NOT_FOUND, message: "task not found for given id" })
  })

  it("only retryable failures are recoverable", () => {
    const tagOf = (e: HandlerFailure) =>
      e._tag === "PodmanError" ? `PodmanError:${e.reason._tag}` : e._tag + ("reason" in e ? `:${String(e.reason)}` : "")
    const rec = every.filter((e) => toStatusMapping(e).recoverable === true).map(tagOf)
    expect(rec.sort()).toStrictEqual(["ImagePullError:timeout", "ImagePullError:unreachable", "PodmanError:Timeout", "PodmanError:Unavailable"].sort())
  })

  it("a PodmanError maps by its reason: the same codes the old per-transport errors had", () => {
    const code = (r: E.PodmanErrorReason) => toStatusMapping(podman(r)).code
    expect(code(new E.Unavailable({ detail: "d" }))).toBe(grpc.status.FAILED_PRECONDITION)
    expect(code(new E.Timeout({ millis: 1 }))).toBe(grpc.status.DEADLINE_EXCEEDED)
    expect(code(new E.NotFound({ what: "container", id: "c" }))).toBe(grpc.status.NOT_FOUND)
    expect(code(new E.Unsupported({ transport: "varlink", what: "w" }))).toBe(grpc.status.UNIMPLEMENTED)
    expect(code(new E.Api({ detail: "d" }))).toBe(grpc.status.INTERNAL)
    // Podman refusing the spec is the task's mistake, with Podman's reason
    expect(code(new E.Api({ detail: "unknown capability", invalidInput: true }))).toBe(grpc.status.INVALID_ARGUMENT)
    expect(toStatusMapping(podman(new E.Api({ detail: "unknown capability", invalidInput: true }))).message)
      .toBe("podman refused the task: podman o (unix:///s): unknown capability")
    expect(code(new E.Decode({ detail: "d" }))).toBe(grpc.status.INTERNAL)
    // what the container's state forbids is the caller's precondition, not a driver fault
    expect(code(new E.NotRunning({ id: "c" }))).toBe(grpc.status.FAILED_PRECONDITION)
    expect(code(new E.Conflict({ detail: "d" }))).toBe(grpc.status.FAILED_PRECONDITION)
    expect(toStatusMapping(podman(new E.NotFound({ what: "container", id: "abc" }))).message).toBe("podman o (unix:///s): no such container: abc")
  })

  it("RecoverableError detail bytes match Nomad's encoding", () => {
    const typeUrl = Buffer.from("type.googleapis.com/hashicorp.nomad.plugins.shared.structs.RecoverableError")
    expect(typeUrl.length).toBe(75)
    const want = Buffer.concat([
      Buffer.from("08091204", "hex"), Buffer.from("boom"), Buffer.from("1a510a4b", "hex"), typeUrl, Buffer.from("12020801", "hex")
    ])
    expect(recoverableDetails(9, "boom", true).toString("hex")).toBe(want.toString("hex"))
  })

  it("a defect is INTERNAL, an interrupt CANCELLED", () => {
    expect(causeToStatus(Cause.die(new Error("x"))).code).toBe(grpc.status.INTERNAL)
    expect(causeToStatus(Cause.interrupt()).code).toBe(grpc.status.CANCELLED)
    const s = causeToStatus(Cause.fail(podman(new E.Unavailable({ detail: "d" }))))
    expect(s.code).toBe(grpc.status.FAILED_PRECONDITION)
    expect(s.metadata.get("grpc-status-details-bin")).toHaveLength(1)
  })
})

describe("wire helpers", () => {
  it("hclog timestamps have exactly 6 fractional digits", () => {
    expect(hclogTimestamp(new Date("2026-01-02T03:04:05.123Z"))).toBe("2026-01-02T03:04:05.123000Z")
    const j = JSON.parse(formatHclog({ level: "Warn", message: ["a", { b: 1 }], date: new Date(0), module: "m", annotations: { k: "v" } }))
    expect(j).toStrictEqual({ "@level": "warn", "@message": "a {\"b\":1}", "@timestamp": "1970-01-01T00:00:00.000000Z", "@module": "m", k: "v" })
  })

  it("timestamps: Go zero time for missing, negative-safe nanos; durations", () => {
    expect(toTimestamp(undefined)).toStrictEqual(GO_ZERO_TIME)
    expect(toTimestamp(new Date(-1500))).toStrictEqual({ seconds: -2n, nanos: 500_000_000 })
    expect(toTimestamp(new Date(1234))).toStrictEqual({ seconds: 1n, nanos: 234_000_000 })
    expect(durationToMillis({ seconds: 5n, nanos: 500_000_000 })).toBe(5500)
    expect(durationToMillis(undefined)).toBe(0)
  })
})
