/**
 * The Nomad FIFO `LogSink` (plugin mode): a task's stdout chunks go to Nomad's stdout FIFO and
 * its stderr chunks to the stderr FIFO (`<alloc>/alloc/logs/.<task>.std{out,err}.fifo`), where
 * the task's `logmon` process reads them into the rotated log files (docs/protocol.md#logs).
 * It also retains a task's logs across plugin restarts (retain.ts: a keeper process holding the
 * FIFOs, the delivered position in a file).
 *
 * ## Opening without blocking: `O_WRONLY | O_NONBLOCK`, retried on ENXIO
 * A plain `open(O_WRONLY)` of a FIFO blocks until a reader exists, in a libuv threadpool thread
 * that cannot be cancelled (four of them freeze every `fs` call of the process). With `O_NONBLOCK`
 * the open returns at once: an fd, or ENXIO while no reader exists, retried with a capped backoff
 * on the event loop. With the task's keeper holding the FIFO read-write there is always a reader.
 * We do not open O_RDWR ourselves: without a keeper a vanished logmon would then be invisible.
 *
 * ## Writing: synchronous, non-blocking, every accepted byte counted
 * Each write is a `write(2)` on the non-blocking fd: it returns at once with the number of bytes
 * the pipe took (a full pipe takes part or nothing: EAGAIN), and the caller's `accepted` hears that
 * count in the same turn of the event loop, before anything else runs. So the driver records its
 * position right after the kernel took the bytes; a plugin crash can fall only between those two
 * system calls. While the pipe is full the writer waits (yielding, then sleeping 1 ms doubling to
 * 50 ms) without holding a thread: a reader that does not read makes the writer wait, never buffer.
 * Each task and stream has its own fd and lock, nothing is shared between tasks.
 *
 * ## Reader goes away: EPIPE, reopen, continue
 * Without a keeper, when logmon exits (agent restart) the next write fails with EPIPE (Node ignores
 * SIGPIPE). The old fd stays open until a new reader's open succeeds, so the pipe, and what logmon
 * had not read yet, lives on for the new reader; the failed bytes are written again (EPIPE means
 * none were taken). With a keeper there is no EPIPE: writes wait until the new logmon reads.
 *
 * ## Discarding
 * `""` and `/dev/null` discard without opening anything. A path that cannot be opened (missing,
 * permission denied, ...) discards that stream with a warning; the task still runs. A regular file
 * given as a log path is appended to. When the plugin config has `disable_log_collection`, the
 * driver must not call `open` with the FIFO paths (they do not exist then).
 *
 * ## Lifetime
 * The fds belong to the Scope passed to `open`: closing it interrupts a pending wait and closes
 * both fds. Nomad's reader sees EOF once the keeper is ended too (the `retain` Scope).
 */
import { Effect, Layer, Semaphore } from "effect"
import * as fs from "node:fs"
import { type LogTarget, type LogWriter, LogSink } from "../../src/services/LogSink.ts"
import type { OutputStream } from "../../src/services/Podman.ts"
import { retainFifoLogs } from "./retain.ts"

/** Tuning of the reconnect loop; the defaults suit Nomad. */
export interface FifoSinkOptions {
  /** First delay between open attempts while the FIFO has no reader. Default 10 ms. */
  readonly retryMinMillis?: number
  /** Upper bound of the (doubling) delay. Default 500 ms. */
  readonly retryMaxMillis?: number
  /** Log a warning (once per wait) when a FIFO has had no reader, or a full pipe no progress, for this long. Default 30 s. */
  readonly warnAfterMillis?: number
}

/** Paths that mean "discard this stream" (Nomad uses /dev/null when `logs { disabled = true }`). */
const isDiscardPath = (path: string): boolean => path === "" || path === "/dev/null"

type OpenResult =
  | { readonly _tag: "Open"; readonly fd: number }
  /** ENXIO: the FIFO exists but nobody has it open for reading yet. */
  | { readonly _tag: "NoReader" }
  /** Anything else (ENOENT, EACCES, EISDIR, ...): give up on this stream. */
  | { readonly _tag: "Unusable"; readonly reason: string }

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const closeQuietly = (fd: number) => {
  try {
    fs.closeSync(fd)
  } catch {
    // already closed
  }
}

/**
 * One non-blocking open attempt. Synchronous on purpose: with O_NONBLOCK the open of a FIFO
 * returns at once (fd or ENXIO), and doing it inline means no fd can leak through an interruption
 * between "opened" and "owned". A path that is not a FIFO is opened for appending.
 */
const tryOpen = (path: string): OpenResult => {
  let fd: number
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    return errnoOf(e) === "ENXIO" ? { _tag: "NoReader" } : { _tag: "Unusable", reason: describe(e) }
  }
  try {
    if (fs.fstatSync(fd).isFIFO()) return { _tag: "Open", fd }
    // Not a FIFO (a regular file or a device given as a log path): append.
    closeQuietly(fd)
    return { _tag: "Open", fd: fs.openSync(path, "a") }
  } catch (e) {
    closeQuietly(fd)
    return { _tag: "Unusable", reason: describe(e) }
  }
}

/** One write(2): the bytes taken, or the errno of the failure. */
const writeSome = (fd: number, data: Uint8Array, from: number): number | string => {
  try {
    return fs.writeSync(fd, data, from, data.length - from)
  } catch (e) {
    return errnoOf(e) ?? describe(e)
  }
}

/** How long the writer waits for a full pipe before the n-th retry: a few yields, then 1, 2, 4 … 50 ms. */
const fullPipePause = (n: number): Effect.Effect<void> => (n < 4 ? Effect.yieldNow : Effect.sleep(Math.min(2 ** (n - 4), 50)))

interface Channel {
  readonly write: (data: Uint8Array, accepted?: (bytes: number) => Effect.Effect<void>) => Effect.Effect<void>
}

const discardChannel: Channel = { write: () => Effect.void }

/**
 * One FIFO (one stream of one task): its fd, a lock serialising opens and writes, and the
 * reconnect loop. Registers its close in the current Scope.
 */
const openChannel = Effect.fnUntraced(function*(path: string, options: Required<FifoSinkOptions>) {
  let fd: number | undefined
  /** After EPIPE: the old fd, kept until the next open succeeds (the pipe keeps what logmon had not read). */
  let stale: number | undefined
  /** Set once the stream is given up (unusable path, unexpected write error) or the Scope closed. */
  let done = false
  const lock = yield* Semaphore.make(1)

  const drop = () => {
    for (const f of [fd, stale]) if (f !== undefined) closeQuietly(f)
    fd = undefined
    stale = undefined
  }

  // Registered before the reconnect fiber is forked, so it runs after that fiber is interrupted.
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      done = true
      drop()
    })
  )

  const giveUp = (reason: string) =>
    Effect.sync(() => {
      done = true
      drop()
    }).pipe(Effect.andThen(Effect.logWarning(`task log stream discarded: ${reason}`)))

  const opened = (r: number) => {
    fd = r
    if (stale !== undefined) closeQuietly(stale)
    stale = undefined
  }

  /** Returns the open fd, waiting (with backoff) for a reader; `undefined` when given up. */
  const ensureOpen: Effect.Effect<number | undefined> = Effect.gen(function*() {
    let delay = options.retryMinMillis
    let waiting = false
    let warned = false
    let since = 0
    while (!done) {
      if (fd !== undefined) return fd
      const result = tryOpen(path)
      switch (result._tag) {
        case "Open":
          opened(result.fd)
          if (waiting) yield* Effect.logDebug("log FIFO reader present, writing")
          return result.fd
        case "Unusable":
          yield* giveUp(`cannot open ${path}: ${result.reason}`)
          return undefined
        case "NoReader":
          if (!waiting) {
            yield* Effect.logDebug("log FIFO has no reader yet, waiting for one")
            since = Date.now()
          } else if (!warned && Date.now() - since > options.warnAfterMillis) {
            // only this task's log forwarding waits; tell the operator once
            yield* Effect.logWarning(`log FIFO has had no reader for ${Math.round((Date.now() - since) / 1000)}s; task output waits`)
            warned = true
          }
          waiting = true
          yield* Effect.sleep(delay)
          delay = Math.min(delay * 2, options.retryMaxMillis)
      }
    }
    return undefined
  })

  const write = (data: Uint8Array, accepted?: (bytes: number) => Effect.Effect<void>): Effect.Effect<void> =>
    Semaphore.withPermits(lock, 1)(Effect.gen(function*() {
      let at = 0
      let full = 0
      let fullSince = 0
      let warned = false
      while (!done && at < data.length) {
        const target = yield* ensureOpen
        if (target === undefined) return
        const r = writeSome(target, data, at)
        if (typeof r === "number") {
          at += r
          full = 0
          if (accepted !== undefined && r > 0) yield* accepted(r)
          continue
        }
        if (r === "EAGAIN") {
          // the pipe is full: the reader is behind (or gone while a keeper holds the FIFO)
          if (full === 0) fullSince = Date.now()
          else if (!warned && Date.now() - fullSince > options.warnAfterMillis) {
            yield* Effect.logWarning(`log FIFO reader has not read for ${Math.round((Date.now() - fullSince) / 1000)}s; task output waits`)
            warned = true
          }
          yield* fullPipePause(full++)
          continue
        }
        if (r === "EPIPE") {
          // logmon went away: keep the pipe until the next reader opens it, then write the rest
          yield* Effect.logInfo("log FIFO reader went away (EPIPE), reopening")
          if (stale !== undefined) closeQuietly(stale)
          stale = target
          fd = undefined
          continue
        }
        return yield* giveUp(`write to ${path} failed: ${r}`)
      }
    }))

  // First attempt inline: a missing path warns right away, an available reader is connected now.
  const first = tryOpen(path)
  if (first._tag === "Unusable") {
    yield* giveUp(`cannot open ${path}: ${first.reason}`)
    return discardChannel
  }
  if (first._tag === "Open") {
    opened(first.fd)
  } else {
    // No reader yet: connect in the background, so `open` (and StartTask) never waits for logmon.
    yield* Effect.forkScoped(Semaphore.withPermits(lock, 1)(ensureOpen))
  }
  return { write } satisfies Channel
})

/** Builds the FIFO sink's service value. */
export const makeFifoSink = (options: FifoSinkOptions = {}): LogSink["Service"] => {
  const resolved: Required<FifoSinkOptions> = {
    retryMinMillis: options.retryMinMillis ?? 10,
    retryMaxMillis: options.retryMaxMillis ?? 500,
    warnAfterMillis: options.warnAfterMillis ?? 30_000
  }
  const channel = (target: LogTarget, stream: OutputStream, path: string) => {
    if (isDiscardPath(path)) return Effect.succeed(discardChannel)
    // every log line of this stream (open, reconnect, give up) names the task, stream and path
    const annotate = Effect.annotateLogs({ task_id: target.taskId, stream, path })
    return openChannel(path, resolved).pipe(
      annotate,
      Effect.map((ch): Channel => ({ write: (data, accepted) => annotate(ch.write(data, accepted)) }))
    )
  }
  return LogSink.of({
    open: (target) =>
      Effect.gen(function*() {
        const stdout = yield* channel(target, "stdout", target.stdoutPath)
        const stderr = yield* channel(target, "stderr", target.stderrPath)
        return {
          write: (chunk, accepted) => (chunk.stream === "stderr" ? stderr : stdout).write(chunk.data, accepted)
        } satisfies LogWriter
      }),
    retain: (target, options) => retainFifoLogs(target, options).pipe(Effect.annotateLogs({ task_id: target.taskId }))
  })
}

/** The Nomad FIFO sink with default tuning. */
export const layerFifo: Layer.Layer<LogSink> = Layer.succeed(LogSink, makeFifoSink())

/** The Nomad FIFO sink with custom reconnect tuning. */
export const layerFifoWith = (options: FifoSinkOptions): Layer.Layer<LogSink> => Layer.succeed(LogSink, makeFifoSink(options))
