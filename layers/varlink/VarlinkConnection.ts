/**
 * One varlink connection: a stream socket carrying NUL-terminated JSON messages (varlink.org,
 * "Protocol"). A call is `{"method": "iface.Method", "parameters": {...}}` plus the optional flags
 * `more`, `oneway` and `upgrade`; a reply is `{"parameters": {...}}`, `{"error": "iface.Error",
 * "parameters": {...}}`, or, for `more` calls, a series of replies with `"continues": true` ending in
 * one without it.
 *
 * A connection serves one call at a time, in order: varlink has no request ids, so replies are
 * matched to calls by position. A call that times out or is interrupted while its reply is still
 * outstanding leaves the connection out of sync, so the connection is destroyed at once (the pool in
 * VarlinkClient.ts then invalidates it and opens a fresh one).
 *
 * The socket's data handler decodes replies into a Queue that the current call takes from; the
 * end of input or a transport error ends the Queue after the replies already in it.
 *
 * After the reply to an `upgrade` call, the connection stops speaking varlink and becomes a raw
 * byte stream in both directions (used by io.podman's ExecContainer).
 */
import * as net from "node:net"
import { Cause, Duration, Effect, Queue, Scope, Stream } from "effect"
import { VarlinkError, VarlinkTransportError } from "./VarlinkErrors.ts"
import { parseVarlinkAddress, type VarlinkAddress } from "./VarlinkAddress.ts"

/** Parameters of a call or reply: a JSON object. */
export type VarlinkParameters = Readonly<Record<string, unknown>>

/** One decoded reply message. */
export interface VarlinkReplyMessage {
  readonly parameters: VarlinkParameters
  readonly continues: boolean
  readonly error?: string
}

export interface VarlinkCallOptions {
  /** Deadline for the (first) reply. Defaults to the connection's `timeoutMillis`. */
  readonly timeoutMillis?: number
}

export interface VarlinkMoreOptions extends VarlinkCallOptions {
  /**
   * Deadline between two replies after the first one. Undefined: no deadline (a followed log may be
   * silent for hours); the consumer can still interrupt the stream, which closes the connection.
   */
  readonly idleTimeoutMillis?: number
}

/** The raw byte stream an upgraded connection has become. Lives until its Scope closes. */
export interface VarlinkUpgraded {
  /** The parameters of the reply that accepted the upgrade. */
  readonly parameters: VarlinkParameters
  /** Bytes from the peer; ends when the peer closes its side. Starts with any bytes that followed the reply. */
  readonly input: Stream.Stream<Uint8Array, VarlinkTransportError>
  readonly write: (data: Uint8Array) => Effect.Effect<void, VarlinkTransportError>
  /** Half-closes our side (the peer reads EOF). */
  readonly end: Effect.Effect<void>
}

export interface VarlinkConnectionOptions {
  /** Default per-call timeout (connect, and waiting for a reply). */
  readonly timeoutMillis: number
  /** Largest accepted message, in bytes (default 64 MiB). A bigger one is a `malformed` error. */
  readonly maxMessageBytes?: number
}

/** What the socket handler feeds a reader: items, then an end (Done) or a transport error. */
type Inbox<A> = Queue.Queue<A, VarlinkTransportError | Cause.Done>

/** The next item of an inbox, `undefined` at a clean end of input. */
const takeNext = <A>(inbox: Inbox<A>): Effect.Effect<A | undefined, VarlinkTransportError> =>
  Queue.take(inbox).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined)))

/** Ends an inbox: queued items are still delivered, then `error` (or the end of input). */
const finish = <A>(inbox: Inbox<A>, error?: VarlinkTransportError): void => {
  if (error === undefined) Queue.endUnsafe(inbox)
  else Queue.failCauseUnsafe(inbox, Cause.fail(error))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A live varlink connection. Create it with `connect` (scoped); most code should use the pooled
 * `VarlinkClient` instead.
 */
export class VarlinkConnection {
  private pending: Array<Buffer> = []
  private pendingBytes = 0
  private mode: "messages" | "raw" = "messages"
  private upgradeArmed = false
  private socketError: string | undefined
  /** A call was sent whose final reply has not been read yet. */
  private inFlight = false
  private broken = false
  private upgraded = false
  private readonly maxMessageBytes: number

  private constructor(
    readonly address: string,
    private readonly socket: net.Socket,
    readonly timeoutMillis: number,
    maxMessageBytes: number | undefined,
    /** Decoded replies, in order (one reader at a time: the connection's current call). */
    private readonly messages: Inbox<VarlinkReplyMessage>,
    /** Bytes after an upgrade. */
    private readonly raw: Inbox<Uint8Array>
  ) {
    this.maxMessageBytes = maxMessageBytes ?? 64 * 1024 * 1024
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", (e) => {
      this.socketError = e.message
    })
    socket.on("close", () => this.onClose())
  }

  /**
   * Opens a connection; it is closed when the Scope closes (or the connecting fiber is interrupted).
   * Fails with a `connect` or `timeout` transport error.
   */
  static connect(
    address: string,
    options: VarlinkConnectionOptions
  ): Effect.Effect<VarlinkConnection, VarlinkTransportError, Scope.Scope> {
    return Effect.acquireRelease(VarlinkConnection.open(address, options), (c) => c.close)
  }

  /** Like `connect`, but the caller must run `close` itself (used by the pool). */
  static open(address: string, options: VarlinkConnectionOptions): Effect.Effect<VarlinkConnection, VarlinkTransportError> {
    return Effect.suspend(() => {
      const parsed = parseVarlinkAddress(address)
      if (parsed instanceof VarlinkTransportError) return Effect.fail(parsed)
      return Effect.gen(function*() {
        const messages: Inbox<VarlinkReplyMessage> = yield* Queue.unbounded<VarlinkReplyMessage, VarlinkTransportError | Cause.Done>()
        const raw: Inbox<Uint8Array> = yield* Queue.unbounded<Uint8Array, VarlinkTransportError | Cause.Done>()
        return yield* Effect.callback<VarlinkConnection, VarlinkTransportError>((resume) => {
          const socket = openSocket(parsed)
          const onError = (e: Error) => {
            socket.destroy()
            resume(Effect.fail(new VarlinkTransportError({ kind: "connect", address, detail: e.message })))
          }
          socket.once("error", onError)
          socket.once("connect", () => {
            socket.off("error", onError)
            resume(Effect.succeed(new VarlinkConnection(address, socket, options.timeoutMillis, options.maxMessageBytes, messages, raw)))
          })
          // interrupted (e.g. by the timeout below) before the connection was handed out
          return Effect.sync(() => socket.destroy())
        })
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(options.timeoutMillis),
          orElse: () =>
            Effect.fail(new VarlinkTransportError({ kind: "timeout", address, detail: `connect did not finish within ${options.timeoutMillis} ms` }))
        })
      )
    })
  }

  /** True when the connection can take another call (not broken, closed, upgraded or busy). */
  get isReusable(): boolean {
    return !this.broken && !this.upgraded && !this.inFlight && !this.socket.destroyed
  }

  /** Destroys the socket. Idempotent. */
  readonly close: Effect.Effect<void> = Effect.sync(() => this.destroy())

  private destroy() {
    this.broken = true
    this.socket.destroy()
  }

  private transportError(kind: VarlinkTransportError["kind"], detail: string) {
    return new VarlinkTransportError({ kind, address: this.address, detail })
  }

  private onData(chunk: Buffer) {
    if (this.mode === "raw") {
      Queue.offerUnsafe(this.raw, new Uint8Array(chunk))
      return
    }
    let start = 0
    while (start <= chunk.length) {
      const nul = chunk.indexOf(0, start)
      if (nul < 0) {
        if (start < chunk.length) {
          this.pending.push(chunk.subarray(start))
          this.pendingBytes += chunk.length - start
          if (this.pendingBytes > this.maxMessageBytes) {
            this.fatal(this.transportError("malformed", `message exceeds ${this.maxMessageBytes} bytes without a NUL terminator`))
          }
        }
        return
      }
      const part = chunk.subarray(start, nul)
      const whole = this.pending.length > 0 ? Buffer.concat([...this.pending, part]) : part
      this.pending = []
      this.pendingBytes = 0
      start = nul + 1
      const message = this.decode(whole)
      if (message === undefined) return
      // Switch modes BEFORE handing the reply out: the waiting fiber may resume synchronously.
      if (this.upgradeArmed && message.error === undefined) {
        // The rest of the stream is no longer varlink.
        this.upgradeArmed = false
        this.mode = "raw"
        this.upgraded = true
        if (start < chunk.length) Queue.offerUnsafe(this.raw, new Uint8Array(chunk.subarray(start)))
        Queue.offerUnsafe(this.messages, message)
        finish(this.messages, this.transportError("protocol", "connection was upgraded"))
        return
      }
      Queue.offerUnsafe(this.messages, message)
    }
  }

  private decode(bytes: Buffer): VarlinkReplyMessage | undefined {
    let json: unknown
    try {
      json = JSON.parse(bytes.toString("utf8"))
    } catch (e) {
      this.fatal(this.transportError("malformed", `reply is not JSON: ${(e as Error).message}`))
      return undefined
    }
    if (!isRecord(json)) {
      this.fatal(this.transportError("malformed", "reply is not a JSON object"))
      return undefined
    }
    const { parameters, continues, error } = json
    if (parameters !== undefined && parameters !== null && !isRecord(parameters)) {
      this.fatal(this.transportError("malformed", "reply parameters are not an object"))
      return undefined
    }
    if (continues !== undefined && typeof continues !== "boolean") {
      this.fatal(this.transportError("malformed", "reply field continues is not a boolean"))
      return undefined
    }
    if (error !== undefined && typeof error !== "string") {
      this.fatal(this.transportError("malformed", "reply field error is not a string"))
      return undefined
    }
    return {
      parameters: (parameters ?? {}) as VarlinkParameters,
      continues: continues === true,
      ...(error !== undefined ? { error } : {})
    }
  }

  private fatal(error: VarlinkTransportError) {
    finish(this.messages, error)
    finish(this.raw, error)
    this.destroy()
  }

  private onClose() {
    this.broken = true
    if (this.mode === "raw") {
      finish(this.raw)
      return
    }
    const why = this.socketError ? `: ${this.socketError}` : ""
    const detail = this.pendingBytes > 0
      ? `connection closed in the middle of a reply${why}`
      : this.inFlight
      ? `connection closed before the reply${why}`
      : `connection closed${why}`
    finish(this.messages, this.transportError("closed", detail))
    finish(this.raw, this.transportError("closed", detail))
  }

  private send(message: Record<string, unknown>): Effect.Effect<void, VarlinkTransportError> {
    return Effect.callback<void, VarlinkTransportError>((resume) => {
      if (this.broken || this.socket.destroyed) {
        resume(Effect.fail(this.transportError("closed", "connection is closed")))
        return
      }
      const bytes = Buffer.concat([Buffer.from(JSON.stringify(message), "utf8"), Buffer.from([0])])
      this.socket.write(bytes, (err) => {
        resume(err ? Effect.fail(this.transportError("closed", `write failed: ${err.message}`)) : Effect.void)
      })
    })
  }

  private begin(method: string): Effect.Effect<void, VarlinkTransportError> {
    return Effect.suspend(() => {
      if (this.upgraded) return Effect.fail(this.transportError("protocol", `cannot call ${method}: connection was upgraded`))
      if (this.broken || this.socket.destroyed) return Effect.fail(this.transportError("closed", `cannot call ${method}: connection is closed`))
      if (this.inFlight) return Effect.fail(this.transportError("protocol", `cannot call ${method}: a call is already in progress (varlink serves one call at a time per connection)`))
      this.inFlight = true
      return Effect.void
    })
  }

  /** Reads the next reply of `method` within `timeoutMillis` (undefined: no deadline). */
  private nextReply(method: string, timeoutMillis: number | undefined): Effect.Effect<VarlinkReplyMessage, VarlinkTransportError> {
    const read = takeNext(this.messages).pipe(
      Effect.flatMap((m) =>
        m === undefined ? Effect.fail(this.transportError("closed", `connection closed before the reply to ${method}`)) : Effect.succeed(m)
      )
    )
    const timed = timeoutMillis === undefined ? read : read.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(timeoutMillis),
        orElse: () =>
          Effect.suspend(() => {
            this.destroy()
            return Effect.fail(this.transportError("timeout", `no reply to ${method} within ${timeoutMillis} ms`))
          })
      })
    )
    return timed.pipe(
      Effect.tapError(() => Effect.sync(() => this.destroy())),
      Effect.onInterrupt(() => Effect.sync(() => this.destroy()))
    )
  }

  private toError(method: string, reply: VarlinkReplyMessage): VarlinkError {
    return new VarlinkError({ error: reply.error!, method, parameters: reply.parameters })
  }

  /** A plain call: one reply. An error reply fails with `VarlinkError`. */
  call(
    method: string,
    parameters: VarlinkParameters = {},
    options: VarlinkCallOptions = {}
  ): Effect.Effect<VarlinkParameters, VarlinkError | VarlinkTransportError> {
    return Effect.gen({ self: this }, function*() {
      yield* this.begin(method)
      yield* this.send({ method, parameters }).pipe(Effect.onError(() => Effect.sync(() => this.destroy())))
      const reply = yield* this.nextReply(method, options.timeoutMillis ?? this.timeoutMillis)
      if (reply.continues) {
        this.destroy()
        return yield* this.transportError("protocol", `${method}: reply has continues set but the call did not ask for more`)
      }
      this.inFlight = false
      if (reply.error !== undefined) return yield* this.toError(method, reply)
      return reply.parameters
    })
  }

  /**
   * A `more` call: every reply's parameters, ending after the reply without `continues`. An error
   * reply fails the stream with `VarlinkError`. Stopping the stream early closes the connection
   * (the rest of the replies would otherwise be read as answers to the next call).
   */
  callMore(
    method: string,
    parameters: VarlinkParameters = {},
    options: VarlinkMoreOptions = {}
  ): Stream.Stream<VarlinkParameters, VarlinkError | VarlinkTransportError> {
    const start = Effect.gen({ self: this }, function*() {
      yield* this.begin(method)
      yield* this.send({ method, parameters, more: true }).pipe(Effect.onError(() => Effect.sync(() => this.destroy())))
    })
    const replies = Stream.unfold(0, (n: number) =>
      Effect.gen({ self: this }, function*() {
        if (n < 0) return undefined
        const reply = yield* this.nextReply(method, n === 0 ? (options.timeoutMillis ?? this.timeoutMillis) : options.idleTimeoutMillis)
        if (!reply.continues) this.inFlight = false
        if (reply.error !== undefined) return yield* this.toError(method, reply)
        return [reply.parameters, reply.continues ? n + 1 : -1] as const
      }))
    return Stream.fromEffect(start).pipe(
      Stream.flatMap(() => replies),
      Stream.ensuring(Effect.sync(() => {
        if (this.inFlight) this.destroy()
      }))
    )
  }

  /** A `oneway` call: sent, never answered. */
  oneway(method: string, parameters: VarlinkParameters = {}): Effect.Effect<void, VarlinkTransportError> {
    return Effect.gen({ self: this }, function*() {
      yield* this.begin(method)
      this.inFlight = false
      yield* this.send({ method, parameters, oneway: true }).pipe(Effect.onError(() => Effect.sync(() => this.destroy())))
    })
  }

  /**
   * An `upgrade` call. On success the connection becomes a raw byte stream (see `VarlinkUpgraded`)
   * and can take no more calls; closing the connection ends it.
   */
  upgrade(
    method: string,
    parameters: VarlinkParameters = {},
    options: VarlinkCallOptions = {}
  ): Effect.Effect<VarlinkUpgraded, VarlinkError | VarlinkTransportError> {
    return Effect.gen({ self: this }, function*() {
      yield* this.begin(method)
      this.upgradeArmed = true
      yield* this.send({ method, parameters, upgrade: true }).pipe(Effect.onError(() => Effect.sync(() => this.destroy())))
      const reply = yield* this.nextReply(method, options.timeoutMillis ?? this.timeoutMillis)
      this.inFlight = false
      this.upgradeArmed = false
      if (reply.error !== undefined) return yield* this.toError(method, reply)
      const input: Stream.Stream<Uint8Array, VarlinkTransportError> = Stream.fromQueue(this.raw)
      const write = (data: Uint8Array) =>
        Effect.callback<void, VarlinkTransportError>((resume) => {
          if (this.socket.destroyed || !this.socket.writable) {
            resume(Effect.fail(this.transportError("closed", "upgraded connection is closed for writing")))
            return
          }
          this.socket.write(data, (err) => resume(err ? Effect.fail(this.transportError("closed", `write failed: ${err.message}`)) : Effect.void))
        })
      const end = Effect.sync(() => {
        if (!this.socket.destroyed) this.socket.end()
      })
      return { parameters: reply.parameters, input, write, end } satisfies VarlinkUpgraded
    })
  }
}

const openSocket = (address: VarlinkAddress): net.Socket =>
  address._tag === "unix" ? net.createConnection({ path: address.path }) : net.createConnection({ host: address.host, port: address.port })
