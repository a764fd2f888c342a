/**
 * Setup file of the projects that must run without Podman (`unit`, `property`, `local`): a test
 * there that reaches for Podman fails at once instead of passing only on a machine that has it.
 *  - the sandbox's environment (PODMAN_SOCKET, SANDBOX_*) is removed from the worker, so no test
 *    can find the suite's private Podman service when `npm test` runs every project together;
 *  - a connection to a Podman socket (the sandbox's, any socket under /run, any socket named
 *    *podman* outside /tmp) is refused with an error naming this file;
 *  - spawning the `podman` binary is refused the same way.
 * Fakes on unix sockets under /tmp (varlink peers, gRPC servers, HTTP servers) stay allowed, whatever
 * their socket's name.
 */
import { ChildProcess } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"

const sandboxSocket = (process.env.PODMAN_SOCKET ?? "").replace(/^unix:\/\//, "")
for (const key of Object.keys(process.env)) {
  if (key === "PODMAN_SOCKET" || key === "CONTAINER_HOST" || key.startsWith("SANDBOX_")) delete process.env[key]
}

const refuse = (what: string): never => {
  throw new Error(`${what}: this test project runs without Podman (test/support/noPodman.ts); move the test to test/integration`)
}

/** The sandbox's socket, any socket under /run (system and user Podman), any *podman* socket outside /tmp. */
const isPodmanSocket = (p: string): boolean => {
  const abs = path.resolve(p)
  return (sandboxSocket !== "" && abs === path.resolve(sandboxSocket)) ||
    /^\/(var\/)?run\//.test(abs) ||
    (!abs.startsWith("/tmp/") && /podman/.test(path.basename(abs)))
}

// Every client connection (net, http, grpc-js, undici) ends in Socket#connect.
const connect = net.Socket.prototype.connect as (...args: Array<unknown>) => net.Socket
net.Socket.prototype.connect = function(this: net.Socket, ...args: Array<unknown>) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  const socketPath = typeof first === "string" ? first : (first as { path?: unknown } | null)?.path
  if (typeof socketPath === "string" && isPodmanSocket(socketPath)) refuse(`connect to ${socketPath}`)
  return connect.apply(this, args)
} as typeof net.Socket.prototype.connect

// spawn, exec, execFile and fork all start their child through ChildProcess#spawn.
// (an internal method, so not in Node's types)
const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, options: { file?: string }) => unknown }
const spawn = proto.spawn
proto.spawn = function(options) {
  if (options.file !== undefined && path.basename(options.file) === "podman") refuse(`spawn ${options.file}`)
  return spawn.call(this, options)
}
