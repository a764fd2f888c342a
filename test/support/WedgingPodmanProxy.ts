/**
 * A FAKE Podman endpoint for tests of deadlines and isolation: a real unix-socket HTTP server that
 * forwards every request to the real Podman service (PODMAN_SOCKET), except the requests a rule
 * picks, which it holds open forever and never answers: a wedged Podman call (as runc hanging in
 * `runc create` wedges the real one). Upgrades (exec, attach) are relayed byte for byte.
 */
import * as http from "node:http"
import * as net from "node:net"
import { rmSync } from "node:fs"
import { Effect } from "effect"
import type { Scope } from "effect"

export interface HeldRequest {
  readonly method: string
  readonly url: string
  readonly body: string
}

export interface WedgingProxy {
  /** `unix://…` of the proxy. */
  readonly address: string
  /** The requests held so far (never answered). */
  readonly held: ReadonlyArray<HeldRequest>
}

/** Requests whose body the rule may read (small JSON bodies only). */
const bodyMatters = (method: string | undefined) => method === "POST"

/**
 * Serves the proxy at `path` for the Scope's lifetime. `wedge` decides per request, from its
 * method, URL and (for POSTs) its body.
 */
export const wedgingPodmanProxy = (
  path: string,
  upstream: string,
  wedge: (request: HeldRequest) => boolean
): Effect.Effect<WedgingProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: http.Server; held: Array<HeldRequest>; sockets: Set<net.Socket> }>((resume) => {
      const held: Array<HeldRequest> = []
      const sockets = new Set<net.Socket>()
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const body = Buffer.concat(chunks)
          const request = { method: req.method ?? "", url: req.url ?? "", body: bodyMatters(req.method) ? body.toString("utf8") : "" }
          if (wedge(request)) {
            held.push(request)
            return // never answered
          }
          const up = http.request({ socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers)
            upRes.pipe(res)
          })
          up.on("error", () => res.destroy())
          res.on("close", () => up.destroy())
          up.end(body)
        })
      })
      server.on("connection", (s) => {
        sockets.add(s)
        s.on("close", () => sockets.delete(s))
      })
      server.on("upgrade", (req, socket, head) => {
        const up = net.connect({ path: upstream }, () => {
          const lines = [`${req.method} ${req.url} HTTP/1.1`]
          for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
          up.write(`${lines.join("\r\n")}\r\n\r\n`)
          if (head.length > 0) up.write(head)
          up.pipe(socket)
          socket.pipe(up)
        })
        up.on("error", () => socket.destroy())
        socket.on("error", () => up.destroy())
      })
      rmSync(path, { force: true })
      server.listen(path, () => resume(Effect.succeed({ server, held, sockets })))
    }),
    ({ server, sockets }) =>
      Effect.callback<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => {
          rmSync(path, { force: true })
          resume(Effect.void)
        })
      })
  ).pipe(Effect.map(({ held }) => ({ address: `unix://${path}`, held })))
