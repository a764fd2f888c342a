/**
 * Collectors for gRPC streams as a Nomad client sees them (server streams such as Fingerprint,
 * TaskStats and TaskEvents; the bidirectional ExecTaskStreaming). Each resolves on an event of the
 * stream (data, end, status, error), never after a guessed delay; the timeouts only bound a test
 * that would otherwise hang.
 */
import * as grpc from "@grpc/grpc-js"

/** Reads the first `n` messages of a server stream, then cancels it. */
export const take = <Res>(stream: grpc.ClientReadableStream<Res>, n: number, timeoutMillis = 10_000): Promise<Array<Res>> =>
  new Promise((resolve, reject) => {
    const out: Array<Res> = []
    const timer = setTimeout(() => {
      stream.cancel()
      reject(new Error(`timed out after ${out.length} of ${n} messages`))
    }, timeoutMillis)
    stream.on("data", (m: Res) => {
      out.push(m)
      if (out.length === n) {
        clearTimeout(timer)
        stream.cancel()
        resolve(out)
      }
    })
    stream.on("error", (e: grpc.ServiceError) => {
      clearTimeout(timer)
      if (e.code !== grpc.status.CANCELLED) reject(e)
    })
    stream.on("end", () => {
      clearTimeout(timer)
      resolve(out)
    })
  })

/** How a server stream ended: its status code (0 = OK), details and the messages before that. */
export interface StreamOutcome<Res> {
  readonly code: number
  readonly details: string
  readonly messages: Array<Res>
}

/**
 * Follows a server stream to its end. `firstMessage` resolves with the first message (so a test
 * can act once the stream is flowing); `ended` with the outcome, or rejects with "still open" when
 * the stream has not ended within `timeoutMillis` (then it is cancelled).
 */
export const follow = <Res>(stream: grpc.ClientReadableStream<Res>, timeoutMillis: number) => {
  const messages: Array<Res> = []
  let onFirst: (m: Res) => void = () => {}
  const firstMessage = new Promise<Res>((resolve) => (onFirst = resolve))
  const ended = new Promise<StreamOutcome<Res>>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel()
      reject(new Error(`stream still open after ${timeoutMillis} ms (${messages.length} messages)`))
    }, timeoutMillis)
    stream.on("data", (m: Res) => {
      if (messages.push(m) === 1) onFirst(m)
    })
    stream.on("error", (e: grpc.ServiceError) => {
      clearTimeout(timer)
      resolve({ code: e.code, details: e.details, messages })
    })
    stream.on("status", (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) {
        clearTimeout(timer)
        resolve({ code: 0, details: s.details, messages })
      }
    })
  })
  return { firstMessage, ended }
}

/** The outcome of a server stream (see `follow`). */
export const streamOutcome = <Res>(stream: grpc.ClientReadableStream<Res>, timeoutMillis: number): Promise<StreamOutcome<Res>> =>
  follow(stream, timeoutMillis).ended

/**
 * Whether a server stream is still open `millis` after this call, then cancels it. The wait is the
 * behaviour under test (Nomad reopens a Fingerprint or TaskEvents stream that ends, in a hot loop),
 * not synchronisation: nothing can signal that something did NOT happen.
 */
export const staysOpenFor = <Res>(stream: grpc.ClientReadableStream<Res>, millis: number): Promise<boolean> =>
  follow(stream, millis).ended.then(() => false, () => true)

/**
 * Collects every message of a bidirectional call (ExecTaskStreaming) until the server ends it:
 * `done` resolves on the end of the stream and rejects on an error status.
 */
export const collectDuplex = <Req, Res>(call: grpc.ClientDuplexStream<Req, Res>) => {
  const messages: Array<Res> = []
  const done = new Promise<Array<Res>>((resolve, reject) => {
    call.on("data", (m: Res) => messages.push(m))
    call.on("end", () => resolve(messages))
    call.on("error", reject)
  })
  return { messages, done }
}
