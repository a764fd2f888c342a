/**
 * Pull progress of the REST transport: which endpoint a pull uses (the Docker-compatible one only
 * for fully qualified references without an explicit tls_verify), and how its per-blob lines fold
 * into reports (a report only when something changed, so the gap between reports is inactivity).
 */
import { describe, expect, it } from "@effect/vitest"
import { compatProgress, isQualified } from "../../layers/podman-rest/images.ts"
import { describeProgress } from "../../src/driver/images.ts"

describe("pull progress", () => {
  it("fully qualified references: a host with a dot or a port, or localhost", () => {
    expect(isQualified("127.0.0.1:5000/test/a:1")).toBe(true)
    expect(isQualified("docker.io/library/busybox")).toBe(true)
    expect(isQualified("localhost/busybox:latest")).toBe(true)
    expect(isQualified("busybox")).toBe(false)
    expect(isQualified("library/busybox:1")).toBe(false)
  })

  it("folds blob states and bytes; repeated lines are no report", () => {
    const fold = compatProgress()
    expect(fold({ status: "Pulling fs layer", id: "a" })).toEqual({ message: "", layers: { done: 0, total: 1 } })
    expect(fold({ status: "Already exists", id: "b" })).toEqual({ message: "", layers: { done: 1, total: 2 } })
    expect(fold({ status: "Downloading", id: "a", progressDetail: { current: 500, total: 2000 } }))
      .toEqual({ message: "", layers: { done: 1, total: 2 }, bytes: { done: 500, total: 2000 } })
    expect(fold({ status: "Downloading", id: "a", progressDetail: { current: 500, total: 2000 } })).toBeUndefined()
    expect(fold({ status: "Download complete", id: "a" })).toEqual({ message: "", layers: { done: 2, total: 2 }, bytes: { done: 2000, total: 2000 } })
    expect(fold({ status: "Download complete", id: "a" })).toBeUndefined()
    expect(fold({ status: "Digest: sha256:x" })).toBeUndefined()
  })

  it("events read layers and MB, or Podman's own line", () => {
    expect(describeProgress("r/a:1", { message: "", layers: { done: 1, total: 3 }, bytes: { done: 1_500_000, total: 40_000_000 } }))
      .toBe("Pulling image r/a:1: layers 1/3, 1.5 MB/40.0 MB")
    expect(describeProgress("r/a:1", { message: "Copying blob sha256:abc" })).toBe("Pulling image r/a:1: Copying blob sha256:abc")
  })
})
