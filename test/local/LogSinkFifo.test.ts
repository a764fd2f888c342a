/**
 * The Nomad FIFO log sink (layers/log-sink/fifo.ts) against REAL named pipes (`mkfifo`) read by
 * real reader processes (`cat`), the way logmon reads them: stream separation, ordering,
 * backpressure without blocking the event loop or the libuv threadpool, a reader that goes away
 * and comes back, discard paths, and fds released when the Scope closes.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Effect, Exit, Fiber, Logger, Scope } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { layerFifo, layerFifoWith } from "../../layers/log-sink/fifo.ts"
import { LogSink, type LogTarget, type LogWriter } from "../../src/services/LogSink.ts"
import type { OutputStream } from "../../src/services/Podman.ts"
import { tempDirPerTest } from "../support/tmp.ts"

const tempDir = tempDirPerTest("ndp-logsink-")
const children: Array<ChildProcess> = []
const scopes: Array<Scope.Closeable> = []

afterEach(async () => {
  for (const s of scopes.splice(0)) await Effect.runPromise(Scope.close(s, Exit.void))
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGCONT")
      c.kill("SIGKILL")
    }
  }
})

const fifo = (name: string): string => {
  const p = path.join(tempDir(), name)
  execFileSync("mkfifo", ["-m", "0600", p])
  return p
}

/** A logmon stand-in: a separate process that opens the FIFO for reading and copies it out. */
const reader = (p: string) => {
  const proc = spawn("cat", [p], { stdio: ["ignore", "pipe", "inherit"] })
  children.push(proc)
  const parts: Array<Buffer> = []
  proc.stdout!.on("data", (b: Buffer) => parts.push(b))
  const exited = new Promise<void>((resolve) => proc.on("close", () => resolve()))
  return { proc, exited, text: () => Buffer.concat(parts).toString("utf8"), bytes: () => Buffer.concat(parts).length }
}

/**
 * Several tests check that something does NOT happen (a write stays blocked, no second warning):
 * nothing signals that, so they watch for it during a window. Only for that, never to wait for
 * something that does happen (use expect.poll).
 */
const observeFor = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Opens the sink in a fresh Scope (closed in afterEach unless a test closes it first). */
const open = async (target: Omit<LogTarget, "taskId"> & { taskId?: string }) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const writer = await Effect.runPromise(
    LogSink.use((s) => s.open({ taskId: "t1", ...target })).pipe(Scope.provide(scope), Effect.provide(layerFifo))
  )
  const close = async () => {
    scopes.splice(scopes.indexOf(scope), 1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  return { writer, close }
}

const enc = new TextEncoder()
const write = (w: LogWriter, stream: OutputStream, text: string | Uint8Array) =>
  Effect.runPromise(w.write({ stream, data: typeof text === "string" ? enc.encode(text) : text }))

/** How many fds of this process point at `paths` (from /proc/self/fd). */
const fdsTo = (paths: ReadonlyArray<string>): number =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return paths.includes(fs.readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      return false // the fd of readdir itself, or closed meanwhile
    }
  }).length

/** Counts setInterval ticks, to prove the event loop keeps running. */
const ticker = () => {
  let ticks = 0
  const h = setInterval(() => ticks++, 10)
  return { ticks: () => ticks, stop: () => clearInterval(h) }
}

describe("LogSink FIFO (real named pipes)", () => {
  it("keeps stdout and stderr separate", async () => {
    const out = fifo("out.fifo")
    const err = fifo("err.fifo")
    const rOut = reader(out)
    const rErr = reader(err)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: err })
    for (let i = 0; i < 200; i++) {
      await write(writer, "stdout", `out ${i}\n`)
      await write(writer, "stderr", `err ${i}\n`)
    }
    await close() // closes the write ends: the readers see EOF
    await Promise.all([rOut.exited, rErr.exited])
    expect(rOut.text()).toBe(Array.from({ length: 200 }, (_, i) => `out ${i}\n`).join(""))
    expect(rErr.text()).toBe(Array.from({ length: 200 }, (_, i) => `err ${i}\n`).join(""))
  })

  it("preserves the order of 10k lines", async () => {
    const out = fifo("out.fifo")
    const r = reader(out)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: "" })
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${"x".repeat(i % 97)}\n`)
    // mixed chunking: single lines and batches, as container log frames arrive
    for (let i = 0; i < lines.length;) {
      const n = i % 7 === 0 ? 13 : 1
      await write(writer, "stdout", lines.slice(i, i + n).join(""))
      i += n
    }
    await close()
    await r.exited
    expect(r.text()).toBe(lines.join(""))
  })

  it("waits while the reader does not read (bounded), keeps the event loop running, resumes when it reads", async () => {
    const out = fifo("out.fifo")
    const r = reader(out)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: "" })
    await write(writer, "stdout", "first\n")
    await expect.poll(() => r.text()).toBe("first\n")
    r.proc.kill("SIGSTOP") // the reader stops reading; the pipe fills up

    const chunk = 16 * 1024
    const total = 4 * 1024 * 1024
    let accepted = 0
    const t = ticker()
    const writing = (async () => {
      for (let i = 0; i < total / chunk; i++) {
        await write(writer, "stdout", new Uint8Array(chunk).fill(97 + (i % 26)))
        accepted += chunk
      }
    })()
    await expect.poll(() => accepted).toBeGreaterThan(0)
    await observeFor(600) // the writer stays blocked, the event loop keeps ticking
    const ticksWhileBlocked = t.ticks()
    // blocked: only what fits in the pipe (64 KiB) plus what cat had read before SIGSTOP
    expect(accepted).toBeLessThan(1024 * 1024)
    expect(accepted).toBeGreaterThan(0)
    // the event loop was never blocked (about 60 ticks in 600 ms)
    expect(ticksWhileBlocked).toBeGreaterThan(20)

    r.proc.kill("SIGCONT")
    await writing
    t.stop()
    expect(accepted).toBe(total)
    await close()
    await r.exited
    expect(r.bytes()).toBe("first\n".length + total)
    // content and order: each 16 KiB block is one letter, cycling a..z
    const text = r.text().slice("first\n".length)
    for (let i = 0; i < total / chunk; i++) expect(text.charCodeAt(i * chunk)).toBe(97 + (i % 26))
  })

  it("survives the reader going away (EPIPE) and resumes with a new reader", async () => {
    const out = fifo("out.fifo")
    const a = reader(out)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: "" })
    const before = Array.from({ length: 100 }, (_, i) => `a ${i}\n`).join("")
    await write(writer, "stdout", before)
    await expect.poll(() => a.text()).toBe(before)
    a.proc.kill("SIGKILL") // logmon dies with the agent
    await a.exited

    // This write meets EPIPE (no reader), so the sink reopens and waits for a reader.
    const t = ticker()
    let resumed = false
    const pending = write(writer, "stdout", "b 0\n").then(() => (resumed = true))
    await observeFor(300) // no reader: the write must not complete (nor fail)
    expect(resumed).toBe(false)
    expect(t.ticks()).toBeGreaterThan(0) // the event loop ran meanwhile (how often depends on the load)
    t.stop()

    const b = reader(out) // the new logmon
    await pending
    for (let i = 1; i < 100; i++) await write(writer, "stdout", `b ${i}\n`)
    await close()
    await b.exited
    expect(b.text()).toBe(Array.from({ length: 100 }, (_, i) => `b ${i}\n`).join(""))
    expect(process.exitCode ?? 0).toBe(0) // no SIGPIPE death, obviously, since we are still here
  })

  it("with the task's keeper: a reader that goes away and comes back gets everything written meanwhile, EOF only after the Scope", async () => {
    const out = fifo("kept.fifo")
    const a = reader(out)
    const scope = await Effect.runPromise(Scope.make())
    scopes.push(scope)
    const target = { taskId: "t1", stdoutPath: out, stderrPath: "", stateDir: tempDir() }
    const writer = await Effect.runPromise(
      LogSink.use((s) =>
        Effect.gen(function*() {
          const retained = yield* s.retain!(target, { recover: false, keeper: undefined })
          expect(retained.keeper).toBeDefined()
          return yield* s.open(target)
        })
      ).pipe(Scope.provide(scope), Effect.provide(layerFifo))
    )
    await write(writer, "stdout", "a 0\n")
    await expect.poll(() => a.text()).toBe("a 0\n")
    a.proc.kill("SIGKILL") // logmon dies with the agent
    await a.exited
    // the keeper holds the pipe: these writes complete (into the pipe's buffer) without any reader
    const meanwhile = Array.from({ length: 100 }, (_, i) => `b ${i}\n`).join("")
    await write(writer, "stdout", meanwhile)
    const b = reader(out) // the new logmon
    await write(writer, "stdout", "c 0\n")
    await expect.poll(() => b.text()).toBe(meanwhile + "c 0\n")
    // the keeper and our fd end with the Scope (DestroyTask): the reader sees EOF then
    scopes.splice(scopes.indexOf(scope), 1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await b.exited
    expect(b.text()).toBe(meanwhile + "c 0\n")
  })

  it("opening FIFOs that have no reader blocks neither the event loop nor the libuv threadpool", async () => {
    // 6 tasks = 12 FIFOs without readers: a blocking open would pin all 4 threadpool threads.
    const paths = Array.from({ length: 6 }, (_, i) => [fifo(`o${i}.fifo`), fifo(`e${i}.fifo`)] as const)
    const t0 = Date.now()
    const sinks = []
    for (const [o, e] of paths) sinks.push(await open({ stdoutPath: o, stderrPath: e, taskId: o }))
    expect(Date.now() - t0).toBeLessThan(1000)

    // writes wait for a reader, in the background
    const t = ticker()
    const done: Array<boolean> = sinks.map(() => false)
    const writes = sinks.map((s, i) => write(s.writer, "stdout", `hello ${i}\n`).then(() => (done[i] = true)))
    // threadpool work still completes promptly
    const fsStart = Date.now()
    await Promise.all(Array.from({ length: 8 }, () => fs.promises.readFile("/proc/self/status")))
    expect(Date.now() - fsStart).toBeLessThan(1000)
    await observeFor(300) // no reader: no write completes
    expect(done.every((d) => !d)).toBe(true)
    expect(t.ticks()).toBeGreaterThan(10)
    t.stop()

    // a reader appears for task 0 only: its write completes, the others keep waiting
    const r = reader(paths[0]![0])
    await writes[0]
    expect(done.slice(1).every((d) => !d)).toBe(true)
    await sinks[0]!.close()
    await r.exited
    expect(r.text()).toBe("hello 0\n")

    // closing the other scopes interrupts their pending reconnects; no fd stays open
    for (const s of sinks.slice(1)) await s.close()
    expect(fdsTo(paths.flat())).toBe(0)
  })

  it("an interrupted write returns promptly and the Scope still releases the fds", async () => {
    const out = fifo("out.fifo")
    const r = reader(out)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: "" })
    await write(writer, "stdout", "x\n")
    await expect.poll(() => r.text()).toBe("x\n")
    r.proc.kill("SIGSTOP")
    // 64 KiB chunks into a 64 KiB pipe nobody reads: the first fills it, the second cannot finish
    let begun = 0
    let finished = 0
    const chunk = Effect.sync(() => begun++).pipe(
      Effect.andThen(writer.write({ stream: "stdout", data: new Uint8Array(65536) })),
      Effect.andThen(Effect.sync(() => finished++))
    )
    const fiber = Effect.runFork(Effect.forever(chunk))
    await expect.poll(() => begun >= 2 && begun > finished).toBe(true)
    const t0 = Date.now()
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Date.now() - t0).toBeLessThan(200)
    await close()
    await expect.poll(() => fdsTo([out])).toBe(0)
  })

  it("discards /dev/null and empty paths without opening anything", async () => {
    const before = fs.readdirSync("/proc/self/fd").length
    const { writer, close } = await open({ stdoutPath: "/dev/null", stderrPath: "" })
    for (let i = 0; i < 100; i++) {
      await write(writer, "stdout", "gone\n")
      await write(writer, "stderr", "gone\n")
    }
    expect(fs.readdirSync("/proc/self/fd").length).toBe(before)
    await close()
  })

  it("discards a missing path with a warning and keeps the other stream", async () => {
    const err = fifo("err.fifo")
    const r = reader(err)
    const missing = path.join(tempDir(), "does-not-exist.fifo")
    const logs: Array<{ level: string; message: string }> = []
    const capture = Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel, message: [message].flat().map(String).join(" ") })
    })
    const scope = await Effect.runPromise(Scope.make())
    scopes.push(scope)
    const writer = await Effect.runPromise(
      LogSink.use((s) => s.open({ taskId: "t1", stdoutPath: missing, stderrPath: err })).pipe(
        Scope.provide(scope),
        Effect.provide(layerFifo),
        Effect.provide(Logger.layer([capture]))
      )
    )
    await write(writer, "stdout", "lost\n")
    await write(writer, "stderr", "kept\n")
    expect(logs.some((l) => l.level === "Warn" && l.message.includes(missing))).toBe(true)
    expect(fs.existsSync(missing)).toBe(false) // never created
    scopes.splice(scopes.indexOf(scope), 1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await r.exited
    expect(r.text()).toBe("kept\n")
  })

  it("warns once when a FIFO has no reader for too long, then connects when one appears", async () => {
    const out = fifo("out.fifo")
    const logs: Array<{ level: string; message: string }> = []
    const capture = Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel, message: [message].flat().map(String).join(" ") })
    })
    const scope = await Effect.runPromise(Scope.make())
    scopes.push(scope)
    const writer = await Effect.runPromise(
      LogSink.use((s) => s.open({ taskId: "t1", stdoutPath: out, stderrPath: "" })).pipe(
        Scope.provide(scope),
        Effect.provide(layerFifoWith({ retryMinMillis: 5, retryMaxMillis: 20, warnAfterMillis: 100 })),
        Effect.provide(Logger.layer([capture]))
      )
    )
    const warnings = () => logs.filter((l) => l.level === "Warn" && l.message.includes("no reader"))
    await expect.poll(warnings).toHaveLength(1)
    await observeFor(300) // three times warnAfterMillis: still one warning
    expect(warnings()).toHaveLength(1)
    const r = reader(out)
    await write(writer, "stdout", "late\n")
    scopes.splice(scopes.indexOf(scope), 1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await r.exited
    expect(r.text()).toBe("late\n")
  })

  it("appends to a regular file given as a log path", async () => {
    const file = path.join(tempDir(), "task.log")
    fs.writeFileSync(file, "existing\n")
    const { writer, close } = await open({ stdoutPath: file, stderrPath: file })
    await write(writer, "stdout", "one\n")
    await write(writer, "stderr", "two\n")
    await close()
    expect(fs.readFileSync(file, "utf8")).toBe("existing\none\ntwo\n")
  })

  it("closing the Scope closes the fds (reader sees EOF)", async () => {
    const out = fifo("out.fifo")
    const err = fifo("err.fifo")
    const rOut = reader(out)
    const rErr = reader(err)
    expect(fdsTo([out, err])).toBe(0)
    const { writer, close } = await open({ stdoutPath: out, stderrPath: err })
    await write(writer, "stdout", "o\n")
    await write(writer, "stderr", "e\n")
    expect(fdsTo([out, err])).toBe(2)
    await close()
    await expect.poll(() => fdsTo([out, err])).toBe(0)
    await Promise.all([rOut.exited, rErr.exited]) // EOF reached both readers
    expect(rOut.text()).toBe("o\n")
    expect(rErr.text()).toBe("e\n")
  })
})
