/**
 * A FAKE varlink peer for tests of the varlink client, connection pool and io.podman mapping: a
 * node:net server on a unix socket that hands each NUL-terminated JSON message to a script (or
 * the raw bytes, for framing tests) and counts its sockets, so a test can prove that no
 * connection leaks. Not a varlink implementation: it answers exactly what the test scripts.
 */
import * as net from "node:net"
import * as path from "node:path"
import { Effect } from "effect"

export interface FakeVarlinkPeer {
  /** The socket file. */
  readonly path: string
  /** `unix:<path>`, as a varlink address. */
  readonly address: string
  /** Sockets currently open on the peer side. */
  readonly open: () => number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Highest number of connections open at the same time. */
  readonly maxOpen: () => number
  /** Resolves once no socket is open on the peer side (at once if none is); rejects after `timeoutMillis`. */
  readonly allClosed: (timeoutMillis?: number) => Promise<void>
  /** Destroys the open sockets and stops listening. */
  readonly close: () => Promise<void>
}

export interface FakeVarlinkPeerOptions {
  /** Directory of the socket (a short temporary one: see test/support/tmp.ts). */
  readonly dir: string
  /** Socket file name; default `fake-<n>.sock`. */
  readonly name?: string
  /** Called with each decoded message and the socket to answer on (see `send`). */
  readonly onMessage?: (message: any, socket: net.Socket) => void
  /** Called with each raw chunk instead of decoding messages (framing tests). */
  readonly onData?: (chunk: Buffer, socket: net.Socket) => void
}

let counter = 0

/** Writes one varlink message (JSON + NUL). */
export const send = (socket: net.Socket, message: unknown): boolean => socket.write(JSON.stringify(message) + "\0")

/** An `onMessage` that answers by method name (`io.podman.` prefix dropped); no answer for an unlisted method. */
export const answerByMethod = (
  answers: () => Record<string, ((parameters: any) => unknown) | undefined>,
  seen?: Array<{ readonly method: string; readonly parameters: any }>
) =>
(message: any, socket: net.Socket): void => {
  seen?.push({ method: message.method, parameters: message.parameters })
  const answer = answers()[String(message.method).replace(/^io\.podman\./, "")]
  if (answer) send(socket, answer(message.parameters))
}

export const startFakeVarlinkPeer = (options: FakeVarlinkPeerOptions): Promise<FakeVarlinkPeer> =>
  new Promise((resolve, reject) => {
    const sockPath = path.join(options.dir, options.name ?? `fake-${counter++}.sock`)
    const sockets = new Set<net.Socket>()
    const closedWaiters = new Set<() => void>()
    let accepted = 0
    let maxOpen = 0
    const server = net.createServer((socket) => {
      accepted++
      sockets.add(socket)
      maxOpen = Math.max(maxOpen, sockets.size)
      socket.on("close", () => {
        sockets.delete(socket)
        if (sockets.size === 0) for (const w of closedWaiters) w()
      })
      socket.on("error", () => {})
      if (options.onData) {
        const onData = options.onData
        socket.on("data", (chunk: Buffer) => onData(chunk, socket))
        return
      }
      let buf = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk])
        let nul: number
        while ((nul = buf.indexOf(0)) >= 0) {
          const text = buf.subarray(0, nul).toString()
          buf = buf.subarray(nul + 1)
          options.onMessage?.(JSON.parse(text), socket)
        }
      })
    })
    server.once("error", reject)
    server.listen(sockPath, () =>
      resolve({
        path: sockPath,
        address: `unix:${sockPath}`,
        open: () => sockets.size,
        accepted: () => accepted,
        maxOpen: () => maxOpen,
        allClosed: (timeoutMillis = 2_000) =>
          new Promise<void>((done, fail) => {
            if (sockets.size === 0) return done()
            const timer = setTimeout(() => {
              closedWaiters.delete(waiter)
              fail(new Error(`${sockets.size} socket(s) still open on the fake varlink peer after ${timeoutMillis} ms`))
            }, timeoutMillis)
            const waiter = () => {
              clearTimeout(timer)
              closedWaiters.delete(waiter)
              done()
            }
            closedWaiters.add(waiter)
          }),
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      })
    )
  })

/** The peer as a scoped resource of an Effect test: closed with the Scope. */
export const fakeVarlinkPeer = (options: FakeVarlinkPeerOptions) =>
  Effect.acquireRelease(Effect.promise(() => startFakeVarlinkPeer(options)), (peer) => Effect.promise(() => peer.close()))
