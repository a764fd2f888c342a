/**
 * A log FIFO reader that behaves like Nomad's logmon: the FIFO is created with mode 0600 and read
 * by one `cat` process, one copy until EOF, never reopened (logmon's io.Copy). So a reader that
 * sees EOF while the task still runs has lost everything after it, exactly as Nomad would.
 * Also the alloc-dir layout Nomad's client builds, for tasks that use such FIFOs.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as path from "node:path"
import { makeAllocDirs } from "./nomad/wireTask.ts"

export interface LogmonReader {
  readonly path: string
  readonly process: ChildProcess
  /** Everything read so far. */
  readonly text: () => string
  /** Resolves when the reader saw EOF (and exited). */
  readonly eof: Promise<void>
  /** Whether EOF was seen. */
  readonly ended: () => boolean
  /** Resolves once the text read so far matches (or rejects after the timeout). */
  readonly waitFor: (re: RegExp, timeoutMillis?: number) => Promise<void>
  /** Kills the reader (as a logmon crash would). */
  readonly kill: () => Promise<void>
}

const readers = new Set<LogmonReader>()

/** Starts a logmon-like reader on `fifo` (created when missing). */
export const logmon = (fifo: string, options: { readonly create?: boolean } = {}): LogmonReader => {
  if (options.create !== false) {
    try {
      execFileSync("mkfifo", ["-m", "600", fifo])
    } catch {
      // already there (logmon reuses an existing FIFO)
    }
  }
  const proc = spawn("cat", [fifo], { stdio: ["ignore", "pipe", "inherit"] })
  const parts: Array<Buffer> = []
  const waiters = new Set<() => void>()
  let ended = false
  proc.stdout!.on("data", (b: Buffer) => {
    parts.push(b)
    for (const w of waiters) w()
  })
  const eof = new Promise<void>((resolve) =>
    proc.on("close", () => {
      ended = true
      resolve()
      for (const w of waiters) w()
    })
  )
  const text = () => Buffer.concat(parts).toString("utf8")
  const reader: LogmonReader = {
    path: fifo,
    process: proc,
    text,
    eof,
    ended: () => ended,
    waitFor: (re, timeoutMillis = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(text())) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve()
          } else if (ended) {
            waiters.delete(check)
            clearTimeout(timer)
            reject(new Error(`${fifo}: EOF before ${re}; read: ${JSON.stringify(text().slice(-300))}`))
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`${fifo}: no ${re} within ${timeoutMillis} ms; read: ${JSON.stringify(text().slice(-300))}`))
        }, timeoutMillis)
        waiters.add(check)
        check()
      }),
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
      await eof
    }
  }
  readers.add(reader)
  void eof.then(() => readers.delete(reader))
  return reader
}

/** Kills every reader still running (afterAll). */
export const killLogmons = async () => {
  await Promise.all([...readers].map((r) => r.kill()))
}

/**
 * The directories Nomad's client makes for a task in `allocDir`, and the paths of its log FIFOs
 * (`alloc/logs/.<task>.std{out,err}.fifo`, not created here).
 */
export const allocLayout = (allocDir: string, task: string) => {
  makeAllocDirs(allocDir, task)
  return {
    stdoutFifo: path.join(allocDir, "alloc", "logs", `.${task}.stdout.fifo`),
    stderrFifo: path.join(allocDir, "alloc", "logs", `.${task}.stderr.fifo`),
    privateDir: path.join(allocDir, task, "private")
  }
}

/** The numbered lines `<prefix>0` … `<prefix>{n-1}`, each with its newline. */
export const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}\n`).join("")

/** A shell loop printing `out<i>` to stdout and `err<i>` to stderr, i = 0 … n-1, `pause` seconds apart. */
export const numberedTask = (n: number, pause: string) =>
  `i=0; while [ $i -lt ${n} ]; do echo out$i; echo err$i >&2; i=$((i+1)); sleep ${pause}; done`
