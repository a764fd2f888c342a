/**
 * Exec over the libpod REST API: `POST /containers/{id}/exec` creates the session, then
 * `POST /exec/{eid}/start` with `Connection: Upgrade` / `Upgrade: tcp` answers `101` and hands over
 * the raw connection (docs/podman.md, "Exec"): writes are the process's stdin, a half-close
 * (`shutdown(SHUT_WR)`) is stdin EOF, reads are 8-byte-framed stdout/stderr (raw with a TTY), and
 * Podman closes the connection when the process exits.
 *
 * Why node:http and not Effect's HttpClient here: the hijacked socket must be opened with
 * `allowHalfOpen: true` so that ending our side (stdin EOF) does not tear down the read side
 * before the process has written its last output; only a `createConnection` hook gives that.
 *
 * The exit code comes from `GET /exec/{eid}/json` once the output has ended (detached exec
 * sessions report `Running:true, ExitCode:0` for 300 s on 4.3, so they are not used).
 */
import * as http from "node:http"
import * as net from "node:net"
import * as tls from "node:tls"
import type { Duplex } from "node:stream"
import { Clock, Deferred, Effect, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import { HttpBody } from "effect/http"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Api, Decode, PodmanError } from "../../src/domain/PodmanError.ts"
import type { ExecOptions, ExecSession, OutputChunk } from "../../src/services/Podman.ts"
import type { Endpoint } from "./address.ts"
import { demuxStream } from "./frames.ts"
import { toCreated, toExecState } from "../libpod/decode.ts"
import { API, type Http } from "./http.ts"

interface ExecDeps {
  readonly http: Http
  readonly endpoint: Endpoint
  readonly guard: <A, E, R>(operation: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PodmanError, R>
}

interface Hijacked {
  readonly socket: Duplex
}

/** Opens a connection to the endpoint that stays writable/readable independently (half-open). */
const connect = (endpoint: Endpoint): Duplex => {
  switch (endpoint._tag) {
    case "unix":
      return net.connect({ path: endpoint.socketPath, allowHalfOpen: true })
    case "tcp":
      return endpoint.tls
        ? tls.connect({ host: endpoint.host, port: endpoint.port, servername: endpoint.host }) // TLS has no half-close: stdin EOF ends the session
        : net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true })
    case "invalid":
      throw new Error(`invalid address: ${endpoint.reason}`)
  }
}

const pathPrefix = (endpoint: Endpoint): string =>
  endpoint._tag === "tcp" ? new URL(endpoint.baseUrl).pathname.replace(/\/+$/, "") : ""

/** `POST /exec/{eid}/start` with the upgrade headers; resolves with the raw socket on 101. */
const hijack = (deps: ExecDeps, execId: string, tty: boolean): Effect.Effect<Hijacked, PodmanError> =>
  Effect.callback<Hijacked, PodmanError>((resume) => {
    const body = JSON.stringify({ Detach: false, Tty: tty })
    let socket: Duplex | undefined
    const req = http.request({
      method: "POST",
      host: deps.endpoint._tag === "tcp" ? deps.endpoint.host : "d",
      path: `${pathPrefix(deps.endpoint)}${API}/exec/${encodeURIComponent(execId)}/start`,
      headers: {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        Connection: "Upgrade",
        Upgrade: "tcp"
      },
      // No agent: with `createConnection` node:http uses our half-open socket for this one request.
      createConnection: () => (socket = connect(deps.endpoint)) as net.Socket
    })
    req.on("upgrade", (_res, sock, head) => {
      // Bytes that arrived with the 101 belong to the stream: put them back in front.
      if (head.length > 0) sock.unshift(head)
      resume(Effect.succeed({ socket: sock }))
    })
    req.on("response", (res) => {
      // Without an upgrade Podman answered with an error (or ignored the upgrade headers).
      const parts: Array<Buffer> = []
      res.on("data", (c: Buffer) => parts.push(c))
      res.on("error", () => undefined)
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8")
        const status = res.statusCode ?? 0
        resume(Effect.fail(
          status >= 200 && status < 300
            ? new PodmanError({ operation: "execStart", socket: deps.http.address, reason: new Decode({ detail: `Podman did not upgrade the connection (answered ${status}, expected 101)` }) })
            : deps.http.statusError("execStart", status, text, execId)
        ))
      })
    })
    req.on("error", (e: NodeJS.ErrnoException) => {
      resume(Effect.fail(deps.http.unavailable("execStart", `${e.code ?? e.name}: ${e.message}`)))
    })
    req.end(body)
    return Effect.sync(() => {
      req.destroy()
      socket?.destroy()
    })
  })

/** `exec` of the PodmanClient: create, start (hijack), and the session living in the caller's Scope. */
export const makeExec = (deps: ExecDeps) =>
  Effect.fn("PodmanRest.exec")(function*(id: string, options: ExecOptions): Effect.fn.Return<ExecSession, PodmanError, Scope.Scope> {
    const { http: h, guard } = deps
    const createBody: Record<string, unknown> = {
      Cmd: options.command,
      AttachStdin: options.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: options.tty
    }
    if (options.env !== undefined) createBody.Env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`)
    if (options.user !== undefined && options.user !== "") createBody.User = options.user
    if (options.workingDir !== undefined && options.workingDir !== "") createBody.WorkingDir = options.workingDir
    const created = yield* guard("execCreate", h.call("execCreate", {
      method: "POST",
      path: `/containers/${encodeURIComponent(id)}/exec`,
      body: HttpBody.jsonUnsafe(createBody)
    }, { id }))
    const { id: execId } = yield* h.decode("execCreate", created.text, toCreated)

    // The connection belongs to the caller's Scope: closing it destroys the socket.
    const { socket } = yield* Effect.uninterruptibleMask((restore) =>
      restore(hijack(deps, execId, options.tty).pipe(h.withTimeout("execStart", h.timeoutMillis))).pipe(
        Effect.tap((c) => Effect.addFinalizer(() => Effect.sync(() => c.socket.destroy())))
      )
    )
    // Errors surface through the output stream / write; never as an unhandled 'error' event.
    socket.on("error", () => undefined)
    const ended = yield* Deferred.make<void>()
    const markEnded = () => Deferred.doneUnsafe(ended, Effect.void)
    socket.once("end", markEnded)
    socket.once("close", markEnded)

    const unavailable = (operation: string) => (e: unknown): PodmanError =>
      h.unavailable(operation, e instanceof Error ? `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}` : String(e))

    let outputTaken = false
    const raw: Stream.Stream<Uint8Array, PodmanError> = NodeStream.fromReadable<Uint8Array, PodmanError>({
      evaluate: () => socket,
      onError: unavailable("execOutput"),
      // The socket also carries stdin; its life is the Scope's, not the output stream's.
      closeOnDone: false
    })
    const output: Stream.Stream<OutputChunk, PodmanError> = Stream.suspend(() => {
      outputTaken = true
      if (options.tty) return raw.pipe(Stream.map((data): OutputChunk => ({ stream: "stdout", data })))
      return demuxStream(raw)
    })

    const write = (data: Uint8Array): Effect.Effect<void, PodmanError> =>
      Effect.callback<void, PodmanError>((resume) => {
        if (socket.destroyed || socket.writableEnded) {
          resume(Effect.fail(h.unavailable("execWrite", "the exec connection is closed for writing")))
          return
        }
        socket.write(data, (err) => resume(err ? Effect.fail(unavailable("execWrite")(err)) : Effect.void))
      })

    const closeStdin: Effect.Effect<void, PodmanError> = Effect.sync(() => {
      if (!socket.destroyed && !socket.writableEnded) socket.end()
    })

    const resize = (size: { readonly height: number; readonly width: number }): Effect.Effect<void, PodmanError> =>
      guard("execResize", h.call("execResize", {
        method: "POST",
        path: `/exec/${encodeURIComponent(execId)}/resize`,
        query: [["h", String(Math.max(1, Math.round(size.height)))], ["w", String(Math.max(1, Math.round(size.width)))]]
      }, { id: execId })).pipe(Effect.asVoid, Effect.withSpan("PodmanRest.execResize"))

    const inspectExit = h.call("execInspect", { method: "GET", path: `/exec/${encodeURIComponent(execId)}/json` }, { id: execId }).pipe(
      Effect.flatMap((r) => h.decode("execInspect", r.text, toExecState))
    )

    const exitCode: Effect.Effect<number, PodmanError> = Effect.gen(function*() {
      // Nobody reads the output: drain it, or the socket never reaches EOF (backpressure).
      if (!outputTaken) yield* Stream.runDrain(output)
      yield* Deferred.await(ended)
      // The session's state is normally final right after EOF; allow a short settling window.
      const deadline = (yield* Clock.currentTimeMillis) + h.timeoutMillis
      const last = yield* inspectExit.pipe(
        Effect.repeat({
          schedule: Schedule.spaced("20 millis"),
          while: (s) => s.running && Clock.currentTimeMillis.pipe(Effect.map((now) => now < deadline))
        })
      )
      if (last.running) {
        return yield* new PodmanError({
          operation: "execInspect",
          socket: h.address,
          reason: new Api({ detail: `exec session ${execId} still running after its output ended` })
        })
      }
      return last.exitCode
    }).pipe(Effect.withSpan("PodmanRest.execExitCode"))

    return { id: execId, output, write, closeStdin, resize, exitCode }
  })
