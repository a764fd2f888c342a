/** Parsing Podman's k8s-file log records (what conmon writes). */
import { describe, expect, it } from "vitest"
import { parseK8sRecords } from "../../src/driver/k8sFileLogs.ts"

const text = (chunks: ReturnType<typeof parseK8sRecords>) => chunks.map((c) => `${c.stream}:${Buffer.from(c.data).toString()}`)

describe("parseK8sRecords", () => {
  it("keeps streams apart, joins partial records, merges consecutive records of one stream", () => {
    const log = [
      "2026-11-28T14:48:52.493280165+00:00 stdout F a",
      "2026-11-28T14:48:52.493280165+00:00 stdout P part",
      "2026-11-28T14:48:52.493290000+00:00 stdout F ial",
      "2026-11-28T14:48:52.493370626+00:00 stderr F b",
      "2026-11-28T14:48:52.694436280+00:00 stdout F with  two spaces ",
      "2026-11-28T14:48:52.694436280+00:00 stdout F ",
      ""
    ].join("\n")
    expect(text(parseK8sRecords(log, undefined))).toEqual(["stdout:a\npartial\n", "stderr:b\n", "stdout:with  two spaces \n\n"])
  })
  it("skips records before `since` and lines that are not records", () => {
    const log = [
      "2026-11-28T14:48:50.000000001+00:00 stdout F old",
      "garbage",
      "2026-11-28T15:48:53.000000000+01:00 stdout F new", // the same instant as 14:48:53Z
      "2026-11-28T14:48:54.5+00:00 stderr F newer"
    ].join("\n")
    expect(text(parseK8sRecords(log, Date.parse("2026-11-28T14:48:52Z")))).toEqual(["stdout:new\n", "stderr:newer\n"])
  })
})
