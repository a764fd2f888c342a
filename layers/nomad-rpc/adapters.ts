/**
 * grpc-js handler adapters that run Effect programs: a client cancel (or a deadline) interrupts
 * the handler's fiber; every running handler is tracked so that a plugin shutdown interrupts them
 * all (streams forwarding stats, events, exec output) before the server stops. Every handler runs
 * in a span named after the RPC (`Nomad.StartTask`, …), the parent of the driver's own spans.
 */
import type * as grpc from "@grpc/grpc-js"
import { status as Code } from "@grpc/grpc-js"
import { Cause, Deferred, Effect, Exit, Queue, Stream } from "effect"
import { causeToStatus, type HandlerFailure, RpcRequestError } from "./status.ts"
import { undecodableReason } from "./undecodable.ts"

export type Runner<R> = <A, E>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly onExit: (exit: Exit.Exit<A, E>) => void }
) => (interruptor?: number) => void

/** Keeps the cancel functions of running handlers. */
export class CallTracker<R> {
  private readonly active = new Set<() => void>()
  private closed = false
  constructor(private readonly run: Runner<R>) {}

  /** Runs `effect`; returns its canceller (idempotent). */
  start<A, E>(effect: Effect.Effect<A, E, R>, onExit: (exit: Exit.Exit<A, E>) => void): () => void {
    if (this.closed) {
      onExit(Exit.interrupt() as Exit.Exit<A, E>)
      return () => {}
    }
    let finished = false
    let cancel: (() => void) | undefined
    const entry = () => cancel?.()
    cancel = this.run(effect, {
      onExit: (exit) => {
        finished = true
        this.active.delete(entry)
        onExit(exit)
      }
    })
    if (!finished) this.active.add(entry)
    return entry
  }

  /** Interrupts every running handler; later calls are refused. */
  interruptAll(): void {
    this.closed = true
    for (const c of [...this.active]) c()
    this.active.clear()
  }

  get size() {
    return this.active.size
  }
}

const logFailure = <E>(method: string, cause: Cause.Cause<E>) =>
  (Cause.hasInterruptsOnly(cause)
    ? Effect.logDebug(`${method} interrupted`)
    : Effect.logWarning(`${method} failed: ${causeToStatus(cause as Cause.Cause<HandlerFailure>).details}`)).pipe(
      Effect.annotateLogs({ method })
    )

/** A request that did not decode (undecodable.ts) is the caller's mistake: INVALID_ARGUMENT. */
const rejectUndecodable = (request: unknown): RpcRequestError | undefined => {
  const reason = undecodableReason(request)
  return reason === undefined ? undefined : new RpcRequestError(Code.INVALID_ARGUMENT, reason)
}

/** A unary handler. */
export const unary = <R, Req, Res>(
  tracker: CallTracker<R>,
  method: string,
  handler: (req: Req) => Effect.Effect<Res, HandlerFailure, R>
): grpc.handleUnaryCall<Req, Res> =>
(call, callback) => {
  const rejected = rejectUndecodable(call.request)
  const program = (rejected !== undefined ? Effect.fail(rejected) : handler(call.request)).pipe(
    Effect.tapCause((cause) => logFailure(method, cause)),
    Effect.withSpan(`Nomad.${method}`)
  )
  const cancel = tracker.start(program, (exit) => {
    if (Exit.isSuccess(exit)) callback(null, exit.value)
    else callback(causeToStatus(exit.cause))
  })
  call.on("cancelled", () => cancel())
}

/** Writes one message, waiting for 'drain' when the transport buffer is full. */
const writeTo = <Res>(call: grpc.ServerWritableStream<any, Res> | grpc.ServerDuplexStream<any, Res>) => (msg: Res) =>
  Effect.callback<void>((resume) => {
    if (call.write(msg)) {
      resume(Effect.void)
      return
    }
    const onDrain = () => resume(Effect.void)
    call.once("drain", onDrain)
    return Effect.sync(() => call.removeListener("drain", onDrain))
  })

/** A server-streaming handler; the call ends OK when the stream ends. */
export const serverStream = <R, Req, Res>(
  tracker: CallTracker<R>,
  method: string,
  handler: (req: Req) => Stream.Stream<Res, HandlerFailure, R>
): grpc.handleServerStreamingCall<Req, Res> =>
(call) => {
  const rejected = rejectUndecodable(call.request)
  const program = (rejected !== undefined ? Effect.fail(rejected) : Stream.runForEach(handler(call.request), writeTo(call))).pipe(
    Effect.tapCause((cause) => logFailure(method, cause)),
    Effect.withSpan(`Nomad.${method}`)
  )
  const cancel = tracker.start(program, (exit) => {
    if (call.cancelled) return
    if (Exit.isSuccess(exit)) call.end()
    else call.emit("error", causeToStatus(exit.cause))
  })
  call.on("cancelled", () => cancel())
}

/** A bidi handler: `handler` gets the client's messages as a queue (ends when the client half-closes) and returns the replies. */
export const bidiStream = <R, Req, Res>(
  tracker: CallTracker<R>,
  method: string,
  handler: (input: Queue.Dequeue<Req, Cause.Done>) => Stream.Stream<Res, HandlerFailure, R>
): grpc.handleBidiStreamingCall<Req, Res> =>
(call) => {
  const program = Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Req, Cause.Done>()
    // a message that does not decode ends the call with INVALID_ARGUMENT
    const undecodable = yield* Deferred.make<never, RpcRequestError>()
    call.on("data", (m: Req) => {
      const rejected = rejectUndecodable(m)
      if (rejected === undefined) Queue.offerUnsafe(queue, m)
      else Deferred.doneUnsafe(undecodable, Effect.fail(rejected))
    })
    call.on("end", () => Queue.endUnsafe(queue))
    call.on("error", () => Queue.endUnsafe(queue))
    yield* Effect.raceFirst(Stream.runForEach(handler(queue), writeTo(call)), Deferred.await(undecodable))
  }).pipe(Effect.tapCause((cause) => logFailure(method, cause)), Effect.withSpan(`Nomad.${method}`))
  const cancel = tracker.start(program, (exit) => {
    if (call.cancelled) return
    if (Exit.isSuccess(exit)) call.end()
    else call.emit("error", causeToStatus(exit.cause))
  })
  call.on("cancelled", () => cancel())
}
