/**
 * Launches a plugin process the way Nomad's go-plugin client does: the
 * agent's environment plus the magic cookie, PLUGIN_MIN/MAX_PORT and PLUGIN_PROTOCOL_VERSIONS=2,
 * cwd `/`, argv0 = the executable, stdout/stderr piped. Then reads the handshake line.
 *
 * The command: `dist/nomad-driver-podman` when it has been built (`npm run build`), else the
 * sources through tsx. Not `node_modules/.bin/tsx src/cli/main.ts` itself: tsx runs the program in
 * a child node process, so a SIGKILL (what go-plugin uses) would hit only the wrapper and orphan
 * the plugin. `node --import <tsx loader> src/cli/main.ts` is one process, like the real binary.
 * `launchPlugin({ entry })` runs another TS entry (tests use a FAKE-driver entry).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readdirSync, rmSync, statSync } from "node:fs"
import * as path from "node:path"
import { REPO_ROOT, tsNodeArgv } from "../processes.ts"

export { REPO_ROOT }
export const MAGIC_COOKIE = "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"

/** The built single executable, if any. */
export const builtPlugin = path.join(REPO_ROOT, "dist/nomad-driver-podman")

/** Newest modification time of the sources the executable is built from. */
export const newestSource = (): number => {
  let newest = 0
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  for (const d of ["src", "layers", "proto/gen"]) if (existsSync(path.join(REPO_ROOT, d))) walk(path.join(REPO_ROOT, d))
  return newest
}

/**
 * [command, ...args] for the real plugin: `dist/nomad-driver-podman` if it exists and is newer
 * than every source file (a stale build would test old code), else the sources.
 * NDP_E2E_PLUGIN=source forces the sources, NDP_E2E_PLUGIN=dist the built executable.
 */
export const pluginCommand = (): ReadonlyArray<string> => {
  const mode = process.env.NDP_E2E_PLUGIN
  if (mode === "dist" && !existsSync(builtPlugin)) throw new Error(`${builtPlugin} is missing: run npm run build`)
  const useDist = mode === "dist" ||
    (mode !== "source" && existsSync(builtPlugin) && statSync(builtPlugin).mtimeMs >= newestSource())
  return useDist ? [builtPlugin] : tsNodeArgv(path.join(REPO_ROOT, "src/cli/main.ts"))
}

export interface Handshake {
  readonly core: string
  readonly app: string
  readonly network: string
  readonly address: string
  readonly protocol: string
  readonly rest: ReadonlyArray<string>
  readonly raw: string
}

export interface LaunchedPlugin {
  readonly child: ChildProcess
  readonly handshake: Handshake
  /** Everything the plugin wrote to stdout (must be the handshake line only). */
  readonly stdout: () => string
  /** stderr lines so far. */
  readonly stderrLines: () => ReadonlyArray<string>
  /** Resolves with the exit code/signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL and wait (idempotent). */
  readonly kill: () => Promise<void>
}

export interface LaunchOptions {
  /** A TS entry file run with tsx instead of the real plugin. */
  readonly entry?: string
  /** [command, ...args] to run instead of the real plugin (e.g. its bundle under plain Node). */
  readonly command?: ReadonlyArray<string>
  readonly env?: Record<string, string | undefined>
  readonly cookie?: string | null
  readonly timeoutMillis?: number
}

export const launchPlugin = (options: LaunchOptions = {}): Promise<LaunchedPlugin> => {
  const argv = options.command !== undefined ? [...options.command] : options.entry ? tsNodeArgv(options.entry) : [...pluginCommand()]
  const env: Record<string, string | undefined> = {
    ...process.env,
    PLUGIN_MIN_PORT: "10000",
    PLUGIN_MAX_PORT: "25000",
    PLUGIN_PROTOCOL_VERSIONS: "2",
    ...options.env
  }
  if (options.cookie !== null) env.NOMAD_PLUGIN_MAGIC_COOKIE = options.cookie ?? MAGIC_COOKIE
  else delete env.NOMAD_PLUGIN_MAGIC_COOKIE
  const child = spawn(argv[0]!, argv.slice(1), { cwd: "/", env, stdio: ["ignore", "pipe", "pipe"], argv0: argv[0]! })
  let out = ""
  let err = ""
  const lines: Array<string> = []
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d))
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d
    const parts = err.split("\n")
    err = parts.pop()!
    lines.push(...parts)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  let socket: string | undefined
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await exited
    // A SIGKILLed plugin cannot remove its socket; Nomad leaves it too, tests do not.
    if (socket !== undefined) rmSync(socket, { force: true })
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill()
      reject(new Error(`no handshake within ${options.timeoutMillis ?? 60_000} ms; stderr:\n${lines.join("\n")}${err}`))
    }, options.timeoutMillis ?? 60_000)
    const onData = () => {
      const nl = out.indexOf("\n")
      if (nl < 0) return
      clearTimeout(timer)
      child.stdout!.off("data", onData)
      const raw = out.slice(0, nl)
      const [core = "", app = "", network = "", address = "", protocol = "", ...rest] = raw.trim().split("|")
      if (network === "unix" && path.isAbsolute(address)) socket = address
      resolve({
        child,
        handshake: { core, app, network, address, protocol, rest, raw },
        stdout: () => out,
        stderrLines: () => [...lines],
        exited,
        kill
      })
    }
    child.stdout!.on("data", onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`plugin exited before the handshake (code ${code}, signal ${signal}); stderr:\n${lines.join("\n")}${err}`))
    })
  })
}
