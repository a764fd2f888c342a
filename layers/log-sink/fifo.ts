/**
 * The Nomad FIFO `LogSink` (plugin mode): a task's stdout chunks go to Nomad's stdout FIFO and
 * its stderr chunks to the stderr FIFO (`<alloc>/alloc/logs/.<task>.std{out,err}.fifo`), where
 * the task's `logmon` process reads them into the rotated log files (docs/protocol.md#logs).
 *
 * ## Opening without blocking: `O_WRONLY | O_NONBLOCK`, retried on ENXIO
 * A plain `open(O_WRONLY)` of a FIFO blocks until a reader exists. `fs.open` runs that on a libuv
 * threadpool thread (4 by default, shared with every `fs`/`dns`/`crypto` call of the process), so
 * four tasks whose logmon is slow or gone would freeze all file I/O of the plugin, and a thread
 * blocked in `open()` cannot be cancelled. So the FIFO is opened with `O_NONBLOCK`, which never
 * blocks: it fails with ENXIO while no reader exists, and we retry with a capped exponential
 * backoff (a cheap syscall on the event loop itself, no threadpool involved). The open is done
 * eagerly when the sink is opened (so logmon's blocking reader open returns and logmon sees EOF
 * when the task ends), and again lazily whenever the FIFO has to be reopened.
 *
 * We do NOT open it `O_RDWR` (which Linux allows for FIFOs and which never blocks): the plugin
 * would then be a reader itself, so a vanished logmon would be invisible (no EPIPE, no ENXIO) and
 * the pipe would silently fill; it is also undefined by POSIX. The price of `O_WRONLY` is that
 * bytes still sitting in the pipe buffer when logmon goes away are lost (at most 64 KiB), which
 * matches what Nomad's own drivers do.
 *
 * ## Writing: backpressure, one chunk in flight
 * The opened fd is wrapped in a `net.Socket` (libuv pipe handle, as Node does for a piped
 * stdout): writes are non-blocking, epoll-driven, and never use the threadpool. Each `write`
 * waits for its chunk's completion callback (the kernel accepted all of it) before returning, so
 * at most one chunk per stream is held in memory and a reader that does not read makes the
 * writer wait, not buffer. A stuck reader only stalls the fiber writing that task's logs: each
 * task and stream has its own fd and lock, nothing is shared between tasks.
 *
 * ## Reader goes away: EPIPE, reopen, continue
 * When logmon exits (agent restart) the next write fails with EPIPE. Node ignores SIGPIPE
 * (it installs SIG_IGN at start-up), so this arrives as an error code on the write, not as a
 * signal. We then close the fd, reopen with the ENXIO backoff until the new logmon's reader
 * appears, and write the failed chunk again (a partial line may repeat; nothing after it is lost).
 *
 * ## Discarding
 * `""` and `/dev/null` discard without opening anything. A path that cannot be opened (missing,
 * permission denied, ...) discards that stream with a warning; the task still runs. When the
 * plugin config has `disable_log_collection`, the driver must not call `open` with the FIFO paths
 * (they do not exist then); that decision is the driver's, not this sink's.
 *
 * ## Lifetime
 * The fds belong to the Scope passed to `open`: closing it interrupts a pending reconnect and
 * closes both fds (so logmon sees EOF). A write interrupted mid-flight leaves its chunk queued in
 * the socket; it is dropped when the Scope closes.
 */
import { Effect, Layer, type Scope, Semaphore } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import type { Writable } from "node:stream"
import { type LogTarget, type LogWriter, LogSink } from "../../src/services/LogSink.ts"
import type { OutputStream } from "../../src/services/Podman.ts"

/** Tuning of the reconnect loop; the defaults suit Nomad. */
export interface FifoSinkOptions {
  /** First delay between open attempts while the FIFO has no reader. Default 10 ms. */
  readonly retryMinMillis?: number
  /** Upper bound of the (doubling) delay. Default 500 ms. */
  readonly retryMaxMillis?: number
  /** Log a warning (once per wait) when a FIFO has had no reader for this long. Default 30 s. */
  readonly warnAfterMillis?: number
}

/** Paths that mean "discard this stream" (Nomad uses /dev/null when `logs { disabled = true }`). */
const isDiscardPath = (path: string): boolean => path === "" || path === "/dev/null"

type OpenResult =
  | { readonly _tag: "Open"; readonly out: Writable }
  /** ENXIO: the FIFO exists but nobody has it open for reading yet. */
  | { readonly _tag: "NoReader" }
  /** Anything else (ENOENT, EACCES, EISDIR, ...): give up on this stream. */
  | { readonly _tag: "Unusable"; readonly reason: string }

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * One non-blocking open attempt. Synchronous on purpose: with O_NONBLOCK the open of a FIFO
 * returns at once (fd or ENXIO), and doing it inline means no fd can leak through an interruption
 * between "opened" and "owned".
 */
const tryOpen = (path: string): OpenResult => {
  let fd: number
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    return errnoOf(e) === "ENXIO" ? { _tag: "NoReader" } : { _tag: "Unusable", reason: describe(e) }
  }
  try {
    if (fs.fstatSync(fd).isFIFO()) {
      // libuv pipe handle: non-blocking writes, EPIPE/EAGAIN handled on the event loop.
      return { _tag: "Open", out: new net.Socket({ fd, readable: false, writable: true }) }
    }
    // Not a FIFO (a regular file or a device given as a log path): append through fs writes.
    fs.closeSync(fd)
    fd = fs.openSync(path, "a")
    return { _tag: "Open", out: fs.createWriteStream(path, { fd, autoClose: true }) }
  } catch (e) {
    try {
      fs.closeSync(fd)
    } catch {
      // already closed
    }
    return { _tag: "Unusable", reason: describe(e) }
  }
}

/** Writes one chunk and waits until it has been handed to the kernel; returns the error if any. */
const writeChunk = (out: Writable, data: Uint8Array): Effect.Effect<Error | undefined> =>
  Effect.callback<Error | undefined>((resume) => {
    let active = true
    out.write(data, (err) => {
      if (!active) return
      active = false
      resume(Effect.succeed(err ?? undefined))
    })
    return Effect.sync(() => {
      active = false
    })
  })

/** A swallowing 'error' listener: errors are read from the write callbacks instead. */
const ignoreError = () => {}

interface Channel {
  readonly write: (data: Uint8Array) => Effect.Effect<void>
}

const discardChannel: Channel = { write: () => Effect.void }

/**
 * One FIFO (one stream of one task): its fd, a lock serialising opens and writes, and the
 * reconnect loop. Registers its close in the current Scope.
 */
const openChannel = Effect.fnUntraced(function*(path: string, options: Required<FifoSinkOptions>) {
  let out: Writable | undefined
  /** Set once the stream is given up (unusable path, unexpected write error) or the Scope closed. */
  let done = false
  const lock = yield* Semaphore.make(1)

  const drop = () => {
    if (out !== undefined) {
      out.destroy()
      out = undefined
    }
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

  /** Returns the open writable, waiting (with backoff) for a reader; `undefined` when given up. */
  const ensureOpen: Effect.Effect<Writable | undefined> = Effect.gen(function*() {
    let delay = options.retryMinMillis
    let waiting = false
    let warned = false
    let since = 0
    while (!done) {
      if (out !== undefined) return out
      const result = tryOpen(path)
      switch (result._tag) {
        case "Open":
          out = result.out
          out.on("error", ignoreError)
          if (waiting) yield* Effect.logDebug("log FIFO reader present, writing")
          return out
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

  const write = (data: Uint8Array): Effect.Effect<void> =>
    Semaphore.withPermits(lock, 1)(Effect.gen(function*() {
      while (!done) {
        const target = yield* ensureOpen
        if (target === undefined) return
        const err = yield* writeChunk(target, data)
        if (err === undefined) return
        if (out === target) drop()
        if (done) return // the Scope closed under us
        if (errnoOf(err) === "EPIPE") {
          // logmon went away (agent restart): wait for the next reader and resend this chunk
          yield* Effect.logInfo("log FIFO reader went away (EPIPE), reopening")
          continue
        }
        return yield* giveUp(`write to ${path} failed: ${describe(err)}`)
      }
    }))

  // First attempt inline: a missing path warns right away, an available reader is connected now.
  const first = tryOpen(path)
  if (first._tag === "Unusable") {
    yield* giveUp(`cannot open ${path}: ${first.reason}`)
    return discardChannel
  }
  if (first._tag === "Open") {
    out = first.out
    out.on("error", ignoreError)
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
  const channel = (target: LogTarget, stream: OutputStream, path: string): Effect.Effect<Channel, never, Scope.Scope> => {
    if (isDiscardPath(path)) return Effect.succeed(discardChannel)
    // every log line of this stream (open, reconnect, give up) names the task, stream and path
    const annotate = Effect.annotateLogs({ task_id: target.taskId, stream, path })
    return openChannel(path, resolved).pipe(
      annotate,
      Effect.map((ch): Channel => ({ write: (data) => annotate(ch.write(data)) }))
    )
  }
  return LogSink.of({
    open: (target) =>
      Effect.gen(function*() {
        const stdout = yield* channel(target, "stdout", target.stdoutPath)
        const stderr = yield* channel(target, "stderr", target.stderrPath)
        return {
          write: (chunk) => (chunk.stream === "stderr" ? stderr : stdout).write(chunk.data)
        } satisfies LogWriter
      })
  })
}

/** The Nomad FIFO sink with default tuning. */
export const layerFifo: Layer.Layer<LogSink> = Layer.succeed(LogSink, makeFifoSink())

/** The Nomad FIFO sink with custom reconnect tuning. */
export const layerFifoWith = (options: FifoSinkOptions): Layer.Layer<LogSink> => Layer.succeed(LogSink, makeFifoSink(options))
