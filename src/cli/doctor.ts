/**
 * `doctor`: is this host ready for the driver? For each configured Podman socket (the plugin
 * config's, or `--socket-path`), in order: the file exists, is a socket, can be opened (permission)
 * and answers (something listens); Podman answers the API's ping and `info`, and is recent enough.
 * Each failure is explained with its fix. Only a healthy driver prints its fingerprint (the node
 * attributes Nomad would see); an unhealthy one exits 1 after the explanations.
 */
import { Effect, FileSystem, Option, Stream } from "effect"
import * as net from "node:net"
import { type PluginConfig, resolveSockets, type SocketConfig } from "../domain/PluginConfig.ts"
import { Driver } from "../services/Driver.ts"
import { Podman } from "../services/Podman.ts"
import type { ParsedArgs } from "./args.ts"
import { pluginConfigOf } from "./check.ts"
import type { CliIO } from "./commands.ts"
import { cliLogger } from "./run.ts"

/** The oldest Podman whose REST API the driver speaks (older hosts: the varlink transport). */
const MIN_REST_MAJOR = 2

/** The unix socket path of an address (`unix:///p`, a bare `/p`), or undefined for TCP. */
const unixPath = (address: string): string | undefined => {
  if (address.startsWith("unix://")) return address.slice("unix://".length)
  if (address.startsWith("varlink:unix:")) return address.slice("varlink:unix:".length).split(";")[0]
  if (address.startsWith("/")) return address
  return undefined
}

const serviceHint = (path: string): string =>
  path.startsWith("/run/user/")
    ? "start Podman's API service for that user: systemctl --user enable --now podman.socket (as that user), or podman system service --time=0 &"
    : "start Podman's API service: systemctl enable --now podman.socket (or podman system service --time=0 &)"

/** Why a unix socket cannot be used, with the fix; undefined when it can be opened. */
const socketProblem = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(Effect.result)
    if (info._tag === "Failure") {
      const reason = info.failure.reason._tag
      if (reason === "NotFound") return `no such file ${path}: Podman's API service is not running there (or the path is wrong). Fix: ${serviceHint(path)}`
      if (reason === "PermissionDenied") return `cannot see ${path}: permission denied on a directory above it. Fix: run as root, or use your own rootless socket unix:///run/user/${process.getuid?.() ?? "<uid>"}/podman/podman.sock`
      return `cannot inspect ${path}: ${info.failure.message}`
    }
    if (info.success.type !== "Socket") {
      return `${path} is not a socket (it is a ${info.success.type.toLowerCase()}): --socket-path must name Podman's API socket, e.g. unix:///run/podman/podman.sock`
    }
    const error = yield* Effect.callback<string | undefined>((resume) => {
      const conn = net.createConnection(path)
      conn.once("connect", () => {
        conn.destroy()
        resume(Effect.succeed(undefined))
      })
      conn.once("error", (e: NodeJS.ErrnoException) => resume(Effect.succeed(e.code ?? e.message)))
      return Effect.sync(() => conn.destroy())
    }).pipe(Effect.timeoutOption("5 seconds"), Effect.map(Option.getOrElse(() => "ETIMEDOUT" as string | undefined)))
    switch (error) {
      case undefined:
        return undefined
      case "EACCES":
      case "EPERM":
        return `permission denied on ${path}. Fix: run as root (or as a member of the group owning the socket: ls -l ${path}), or use your own rootless socket unix:///run/user/${process.getuid?.() ?? "<uid>"}/podman/podman.sock`
      case "ECONNREFUSED":
        return `nothing listens on ${path} (a stale socket file: the service stopped). Fix: ${serviceHint(path)}`
      case "ETIMEDOUT":
        return `${path} accepts no connection within 5 s: the service is stuck. Fix: systemctl restart podman.socket podman.service`
      default:
        return `cannot connect to ${path}: ${error}`
    }
  })

/** Checks one socket through the driver's own transport; the problems found, with their fixes. */
const checkSocket = (io: CliIO, socket: SocketConfig) =>
  Effect.gen(function*() {
    io.out(`socket ${socket.name}: ${socket.address}`)
    const path = unixPath(socket.address)
    if (path !== undefined) {
      const problem = yield* socketProblem(path)
      if (problem !== undefined) return [problem]
    }
    const client = yield* (yield* Podman).client(socket.name)
    const ping = yield* client.ping.pipe(Effect.timeout("5 seconds"), Effect.result)
    if (ping._tag === "Failure") {
      return [`the socket opens but Podman's API does not answer (${ping.failure.message}). Is it Podman's API socket? Fix: ${serviceHint(path ?? "")}`]
    }
    io.out(`  ping: ok (${client.capabilities.transport}, API ${ping.success.apiVersion})`)
    const info = yield* client.info.pipe(Effect.timeout("10 seconds"), Effect.result)
    if (info._tag === "Failure") return [`Podman answers the ping but not info: ${info.failure.message}`]
    const i = info.success
    io.out(`  podman: ${i.version} (API ${i.apiVersion}, rootless ${i.rootless}, cgroup ${i.cgroupVersion || "?"}, runtime ${i.ociRuntime || "?"})`)
    const major = Number(/^v?(\d+)/.exec(i.version)?.[1] ?? "0")
    if (client.capabilities.transport === "rest" && major > 0 && major < MIN_REST_MAJOR) {
      return [`Podman ${i.version} is too old for the REST API (${MIN_REST_MAJOR}.0 or later). Fix: upgrade Podman, or use its varlink socket (varlink:unix:/run/podman/io.podman)`]
    }
    return []
  })

export const doctor = (args: ParsedArgs, io: CliIO) =>
  Effect.gen(function*() {
    const plugin: PluginConfig = yield* pluginConfigOf(args, io.env)
    if (args.pluginConfig !== undefined) io.out(`plugin config: ${args.pluginConfig}: valid`)
    const layers = yield* Effect.promise(() => import("../../layers/stacks.ts"))
    return yield* Effect.gen(function*() {
      const problems: Array<string> = []
      for (const socket of resolveSockets(plugin)) {
        for (const p of yield* checkSocket(io, socket)) {
          io.out(`  problem: ${p}`)
          problems.push(p)
        }
      }
      if (problems.length > 0) {
        io.out(`unhealthy: ${problems.length} problem${problems.length === 1 ? "" : "s"} above; Nomad would not place podman tasks on this node`)
        return 1
      }
      const first = yield* Stream.runHead((yield* Driver).fingerprint).pipe(Effect.timeoutOption("30 seconds"))
      const fp = Option.flatten(first)
      if (Option.isNone(fp)) {
        io.out("unhealthy: the driver reported no fingerprint within 30 s")
        return 1
      }
      const { attributes, health, healthDescription } = fp.value
      if (health !== "healthy") {
        io.out(`unhealthy: ${healthDescription ?? health}`)
        return 1
      }
      io.out("attributes:")
      for (const key of Object.keys(attributes).sort()) io.out(`  ${key} = ${String(attributes[key])}`)
      io.out(`health: ${health}${healthDescription ? ` (${healthDescription})` : ""}`)
      return 0
    }).pipe(Effect.provide(layers.cliLayer({ config: plugin })), Effect.provide(cliLogger(io, args.verbose === true)))
  })
