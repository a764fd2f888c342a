/**
 * Tailing a k8s-file log through the HostFiles service (live layer on a temporary directory): the
 * lines written just before the exit became known are never lost; a rotation the way conmon does
 * it (a new file renamed over the path) loses nothing while the tailer is less than a file behind,
 * and says so when it was more; followed as StartTask does under a small limit, each rotated file is
 * opened by the watch's own thread even while this one is blocked; resuming at a kept position, in
 * a file rotated away meanwhile (the keeper's), and by time when that file is gone; an unreadable
 * file is a typed HostFileError.
 */
import { appendFileSync, linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Logger, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import { type LogPosition, startPosition } from "../../src/domain/LogPosition.ts"
import { type K8sTailOptions, tailK8sFile } from "../../src/driver/k8sFileLogs.ts"
import { followLog, MIN_PENDING } from "../../src/driver/logFollower.ts"
import { DeliveryPlanner, type SourceEvent } from "../../src/driver/logDelivery.ts"
import type { HostFiles } from "../../src/services/HostFiles.ts"

const runLive = <A, E>(e: Effect.Effect<A, E, HostFiles>) => Effect.runPromise(e.pipe(Effect.provide(HostFilesLayers.layer)))

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tempLog = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ndp-k8s-"))
  dirs.push(dir)
  return path.join(dir, "ctr.log")
}

const record = (stream: string, text: string, second = 0) =>
  `2026-11-28T14:00:${String(second).padStart(2, "0")}.000000001+00:00 ${stream} F ${text}\n`

/** conmon's rotation: write the new file next to the old one, rename it over the path. */
const rotate = (file: string, content: string) => {
  writeFileSync(`${file}.tmp`, content)
  renameSync(`${file}.tmp`, file)
}

/**
 * Runs the tail through the planner (as the forwarder does) and returns what each stream received,
 * the final position and the warnings. `onStep(n)` runs at the n-th exit check (the container's
 * "activity"); the container counts as exited from step `exitAt` on.
 */
const run = async (
  file: string,
  options: Partial<K8sTailOptions> & {
    readonly exitAt: number
    readonly onStep?: (n: number) => void
    readonly from?: LogPosition
    /** The container "exits" as soon as this holds of the output so far. */
    readonly exitWhen?: (stdout: string) => boolean
    /** Follow as StartTask does under a small size limit (the file created, the watch's thread opening each new one), then run this. */
    readonly early?: () => void
  }
) => {
  let step = 0
  const out = { stdout: "", stderr: "" }
  const exited = Effect.sync(() => {
    step++
    options.onStep?.(step)
    return step >= options.exitAt || (options.exitWhen?.(out.stdout) ?? false)
  })
  const planner = new DeliveryPlanner(options.from ?? startPosition)
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel === "Warn") warnings.push(String(Array.isArray(message) ? message[0] : message))
  })
  const tailOptions = { path: file, position: options.from ?? startPosition, exited, pollMillis: 2, ...options }
  const early = options.early
  const tail = early === undefined ? tailK8sFile(tailOptions) : Stream.unwrap(Effect.gen(function*() {
    const follower = yield* followLog(file, yield* Effect.scope, { create: true })
    early()
    return tailK8sFile({ ...tailOptions, follower })
  }))
  await runLive(
    tail.pipe(
      Stream.runForEach((e: SourceEvent) =>
        Effect.sync(() => {
          if (e._tag !== "Records") return planner.control(e)
          const { final, writes } = planner.plan(e.records, e.end)
          for (const w of writes) out[w.stream] += Buffer.from(w.data).toString()
          planner.commit(final)
        })
      ),
      Effect.provide(Logger.layer([logger]))
    )
  )
  return { ...out, position: planner.position, warnings }
}

describe("tailK8sFile", () => {
  it("reads what was written between an empty read and the exit (exit checked before reading)", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "first"))
    // The container "writes its last line and exits" at the moment the tailer asks about the exit
    // for the second time: exactly the window where reading first and checking second loses the line.
    const got = await run(file, { exitAt: 2, onStep: (n) => n === 2 && appendFileSync(file, record("stderr", "last")) })
    expect(got).toMatchObject({ stdout: "first\n", stderr: "last\n" })
  })

  it("follows conmon's rotations (a new file renamed over the path) without losing a line", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "a") + record("stderr", "x"))
    const got = await run(file, {
      exitAt: 12,
      onStep: (n) => {
        if (n === 2) appendFileSync(file, record("stdout", "b"))
        if (n === 4) rotate(file, record("stdout", "c") + record("stderr", "y"))
        if (n === 8) rotate(file, record("stdout", "d"))
      }
    })
    expect(got).toMatchObject({ stdout: "a\nb\nc\nd\n", stderr: "x\ny\n", warnings: [] })
  })

  it("a file renamed away with unread lines is read to its end before the next one", async () => {
    const file = tempLog()
    writeFileSync(file, "")
    const got = await run(file, {
      exitAt: 8,
      onStep: (n) => {
        if (n === 2) {
          // the last lines of the old file and the rotation land between two reads
          appendFileSync(file, record("stdout", "old-1") + record("stdout", "old-2"))
          rotate(file, record("stdout", "new"))
        }
      }
    })
    expect(got.stdout).toBe("old-1\nold-2\nnew\n")
  })

  /** Enough records that reading them takes several reads (256 KiB each). */
  const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => record("stdout", `${prefix}${i}`)).join("")

  it(`while it lags a burst by ${MIN_PENDING} rotated files it loses nothing (each is opened when first seen)`, async () => {
    const file = tempLog()
    writeFileSync(file, "")
    const files = ["b", "c", "d"].map((p) => many(p, 10))
    const got = await run(file, {
      exitAt: 100,
      exitWhen: (o) => o.endsWith("d9\n"),
      onStep: (n) => {
        if (n === 1) appendFileSync(file, many("a", 60000)) // ~3.3 MB: several reads
        if (n >= 2 && n <= 4) rotate(file, files[n - 2]!) // while the tailer is still in the first file
      }
    })
    const want = ["a", "b", "c", "d"].map((p) => Array.from({ length: p === "a" ? 60000 : 10 }, (_, i) => `${p}${i}\n`).join("")).join("")
    expect(got.stdout).toBe(want)
    expect(got.warnings).toEqual([])
  })

  it("lagging further, a file renamed away unread is lost, and it says so", async () => {
    const file = tempLog()
    writeFileSync(file, "")
    const got = await run(file, {
      exitAt: 100,
      maxPendingBytes: 1, // three files at most
      exitWhen: (o) => o.endsWith("f6\n"),
      onStep: (n) => {
        if (n === 1) appendFileSync(file, many("a", 60000))
        if (n >= 2 && n <= 6) rotate(file, record("stdout", `f${n}`))
      }
    })
    expect(got.stdout.startsWith("a0\na1\n")).toBe(true)
    expect(got.stdout).toContain("a59999\nf2\nf3\nf4\n")
    expect(got.stdout.endsWith("f6\n")).toBe(true)
    expect(got.stdout).not.toContain("f5")
    expect(got.warnings.join("\n")).toContain("dropped: forwarding fell more than")
  })

  it("followed as StartTask does under a small limit, each rotated file is opened by the watch's thread while this one is blocked", async () => {
    const file = tempLog()
    // this thread busy from the first rotation to the last: only the watch's thread can open the
    // files in between before the next rotation replaces them (the event loop alone keeps the last)
    const busy = (ms: number) => {
      const end = Date.now() + ms
      while (Date.now() < end) { /* blocked */ }
    }
    const got = await run(file, {
      exitAt: 1_000,
      exitWhen: (o) => o.endsWith("f5\n"),
      early: () => {
        appendFileSync(file, record("stdout", "f0"))
        for (let i = 1; i <= 5; i++) {
          busy(50)
          rotate(file, record("stdout", `f${i}`))
        }
      }
    })
    expect(got).toMatchObject({ stdout: "f0\nf1\nf2\nf3\nf4\nf5\n", warnings: [] })
  })

  it("resumes at the kept offsets of the same file", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "1") + record("stderr", "e1") + record("stdout", "2"))
    const first = await run(file, { exitAt: 2 })
    expect(first.stdout).toBe("1\n2\n")
    appendFileSync(file, record("stdout", "3") + record("stderr", "e2"))
    const second = await run(file, { exitAt: 3, from: first.position })
    expect(second).toMatchObject({ stdout: "3\n", stderr: "e2\n" })
  })

  it("resumes in the file the keeper held when Podman rotated the log meanwhile, then goes on", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "1"))
    const first = await run(file, { exitAt: 2 })
    appendFileSync(file, record("stdout", "2")) // written while no plugin ran
    const held = `${file}.held` // what /proc/<keeper>/fd/N opens
    linkSync(file, held)
    rotate(file, record("stdout", "3"))
    const second = await run(file, { exitAt: 6, from: first.position, heldFile: held })
    expect(second).toMatchObject({ stdout: "2\n3\n", warnings: [] })
  })

  it("without the file of the position, resumes by time and warns", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "1", 1) + record("stdout", "2", 2))
    const first = await run(file, { exitAt: 2 })
    rotate(file, record("stdout", "2", 2) + record("stdout", "3", 3)) // the same time again: new to the time cursor only past its count
    const second = await run(file, { exitAt: 3, from: first.position })
    expect(second.stdout).toBe("3\n")
    expect(second.warnings.join("\n")).toContain("resuming by time")
  })

  it("with no kept position (a state from an older plugin) starts at the end of what is there", async () => {
    const file = tempLog()
    writeFileSync(file, record("stdout", "old-1") + record("stdout", "old-2"))
    const since: LogPosition = {
      file: "",
      stdout: { offset: 0, time: 0n, count: 0, partial: 0 },
      stderr: { offset: 0, time: 0n, count: 0, partial: 0 }
    }
    const got = await run(file, { exitAt: 3, position: undefined, from: since, onStep: (n) => n === 2 && appendFileSync(file, record("stdout", "new")) })
    expect(got.stdout).toBe("new\n")
  })
})

describe("tailK8sFile I/O errors", () => {
  it("a missing file fails the stream, and the follower the forwarder starts, with a typed HostFileError", async () => {
    const file = tempLog().replace(/ctr\.log$/, "absent.log")
    const error = await runLive(Effect.flip(tailK8sFile({ path: file, position: startPosition, exited: Effect.succeed(true) }).pipe(Stream.runCollect)))
    expect(error).toMatchObject({ _tag: "HostFileError", operation: "open", path: file, kind: "NotFound" })
    const follow = Effect.scoped(Effect.gen(function*() {
      const follower = yield* followLog(file, yield* Effect.scope, { create: false })
      yield* follower.release
      return follower.path
    }))
    expect(await runLive(Effect.flip(follow))).toMatchObject({ _tag: "HostFileError", operation: "open", path: file, kind: "NotFound" })
    writeFileSync(file, "")
    expect(await runLive(follow)).toBe(file)
  })
})
