/**
 * Tailing a k8s-file log through the HostFiles service (live layer on a temporary directory): the
 * lines written just before the exit became known are never lost; an unreadable file is a typed
 * HostFileError, not a defect.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import { canReadFile, tailK8sFile } from "../../src/driver/k8sFileLogs.ts"
import type { HostFiles } from "../../src/services/HostFiles.ts"

const runLive = <A, E>(e: Effect.Effect<A, E, HostFiles>) => Effect.runPromise(e.pipe(Effect.provide(HostFilesLayers.layer)))

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const record = (stream: string, text: string) => `2026-11-28T14:00:00.000000001+00:00 ${stream} F ${text}\n`

describe("tailK8sFile", () => {
  it("reads what was written between an empty read and the exit (exit checked before reading)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ndp-k8s-"))
    dirs.push(dir)
    const file = path.join(dir, "ctr.log")
    writeFileSync(file, record("stdout", "first"))
    let exitedChecks = 0
    // The container "writes its last line and exits" at the moment the tailer asks about the exit
    // for the second time: exactly the window where reading first and checking second loses the line.
    const exited = Effect.sync(() => {
      exitedChecks++
      if (exitedChecks === 2) {
        appendFileSync(file, record("stderr", "last"))
        return true
      }
      return exitedChecks > 2
    })
    const chunks = await runLive(tailK8sFile(file, { exited, pollMillis: 5 }).pipe(Stream.runCollect))
    expect(chunks.map((c) => `${c.stream}:${Buffer.from(c.data).toString()}`)).toEqual(["stdout:first\n", "stderr:last\n"])
  })

  it("follows a growing file and restarts after truncation", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ndp-k8s-"))
    dirs.push(dir)
    const file = path.join(dir, "ctr.log")
    writeFileSync(file, record("stdout", "a") + record("stdout", "b"))
    let step = 0
    const exited = Effect.sync(() => {
      step++
      if (step === 3) writeFileSync(file, record("stdout", "c")) // truncated and rewritten (log_size_max)
      return step > 5
    })
    const chunks = await runLive(tailK8sFile(file, { exited, pollMillis: 5 }).pipe(Stream.runCollect))
    expect(chunks.map((c) => Buffer.from(c.data).toString()).join("")).toBe("a\nb\nc\n")
  })
})

describe("tailK8sFile with since (recovery)", () => {
  it("starts at the end of what is already there and forwards only new records", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ndp-k8s-"))
    dirs.push(dir)
    const file = path.join(dir, "ctr.log")
    writeFileSync(file, record("stdout", "old-1") + record("stdout", "old-2"))
    let step = 0
    const exited = Effect.sync(() => {
      step++
      if (step === 2) appendFileSync(file, `2099-01-01T00:00:00.000000001+00:00 stdout F new\n`)
      return step > 3
    })
    const chunks = await runLive(tailK8sFile(file, { exited, since: new Date(), pollMillis: 5 }).pipe(Stream.runCollect))
    expect(chunks.map((c) => Buffer.from(c.data).toString()).join("")).toBe("new\n")
  })
})

describe("tailK8sFile I/O errors", () => {
  it("a missing file fails the stream with a typed HostFileError; canReadFile says false", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ndp-k8s-"))
    dirs.push(dir)
    const file = path.join(dir, "absent.log")
    const error = await runLive(Effect.flip(tailK8sFile(file, { exited: Effect.succeed(true) }).pipe(Stream.runCollect)))
    expect(error).toMatchObject({ _tag: "HostFileError", operation: "open", path: file, kind: "NotFound" })
    expect(await runLive(canReadFile(file))).toBe(false)
    writeFileSync(file, "")
    expect(await runLive(canReadFile(file))).toBe(true)
  })
})
