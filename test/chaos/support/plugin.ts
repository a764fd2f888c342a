/**
 * The plugin under chaos: the built executable (or the sources when no fresh build exists,
 * test/support/nomad/launch.ts), launched exactly as Nomad launches it; configured for the chaos
 * sandbox; SIGKILLed and relaunched on demand. For memory readings (`memoryProbe`), the same
 * plugin code with the memory probe (memProbe.cjs) loaded: the executable ignores NODE_OPTIONS and
 * takes no Node flags, so the probe runs the build's bundle under the same Node and the same V8
 * flags as the executable bakes in (scripts/sea.mjs), plus --expose-gc.
 * Every RPC goes through `rpc`, which bounds it with a deadline and says how it ended, so an
 * unanswered call is counted, never waited for.
 */
import * as grpc from "@grpc/grpc-js"
import { existsSync } from "node:fs"
import * as path from "node:path"
// @ts-expect-error the build scripts are plain JavaScript without declarations
import { EXEC_ARGV } from "../../../scripts/sea.mjs"
import { pluginConfigSpec } from "../../../src/domain/PluginConfig.ts"
import { connect, type PluginClients, type UnaryFn } from "../../support/nomad/clients.ts"
import { ctyEncode } from "../../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../../support/nomad/hcldec.ts"
import { builtPlugin, launchPlugin, type LaunchedPlugin, pluginCommand, REPO_ROOT } from "../../support/nomad/launch.ts"
import { chaosSandbox } from "./sandbox.ts"

const probe = path.join(import.meta.dirname, "memProbe.cjs")

/** The plugin with the memory probe: the built bundle under plain Node when the build is fresh, else the sources. */
const probedCommand = (): { readonly command?: ReadonlyArray<string>; readonly env?: Record<string, string> } => {
  const flags = [...EXEC_ARGV, "--expose-gc", "--require", probe]
  if (pluginCommand()[0] !== builtPlugin) return { env: { NODE_OPTIONS: flags.join(" ") } }
  const bundle = path.join(REPO_ROOT, ".build/bundle.cjs")
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`)
  return { command: [process.execPath, ...flags, bundle] }
}

/**
 * The dangling-container reaper, quicker than its defaults (5m, 5m) so that a removal cut short by
 * a plugin kill is finished within a run: a leftover is gone at most REAPER_BOUND_MILLIS after its
 * last task ended (the grace, one period and the removal itself).
 */
const REAPER = { period: "5s", creation_grace: "30s" }
export const REAPER_BOUND_MILLIS = 90_000

/** How one RPC ended. `unanswered`: no answer before the client's deadline. */
export type Outcome<Res> =
  | { readonly ok: true; readonly value: Res; readonly millis: number }
  | { readonly ok: false; readonly code: grpc.status; readonly details: string; readonly millis: number; readonly unanswered: boolean }

/**
 * A unary call bounded by `deadlineMillis`. A client closed by a plugin kill refuses the call at
 * once ("Channel has been shut down"): that is the plugin gone (UNAVAILABLE), as for Nomad.
 */
export const rpc = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req, deadlineMillis: number): Promise<Outcome<Res>> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const refused = (e: unknown) =>
      resolve({ ok: false, code: grpc.status.UNAVAILABLE, details: e instanceof Error ? e.message : String(e), millis: Date.now() - t0, unanswered: false })
    try {
      callUnary(fn, req, deadlineMillis, t0, resolve)
    } catch (e) {
      refused(e)
    }
  })

const callUnary = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req, deadlineMillis: number, t0: number, resolve: (o: Outcome<Res>) => void) =>
  fn(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMillis }, (err, res) => {
      const millis = Date.now() - t0
      if (err === null) resolve({ ok: true, value: res, millis })
      else {
        // the client's own deadline (the server maps a Podman timeout to DEADLINE_EXCEEDED too)
        const unanswered = err.code === grpc.status.DEADLINE_EXCEEDED && millis >= deadlineMillis - 50
        resolve({ ok: false, code: err.code, details: err.details ?? err.message, millis, unanswered })
      }
    })

export interface MemoryReading {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

export class ChaosPlugin {
  private launched!: LaunchedPlugin
  clients!: PluginClients
  /** Plugin exits we did not cause. */
  crashes: Array<string> = []
  private killing = false

  private constructor(private readonly memoryProbe: boolean) {}

  /** `memoryProbe`: the plugin answers `memory()` (see the module comment). */
  static async start(options: { readonly memoryProbe?: boolean } = {}): Promise<ChaosPlugin> {
    const p = new ChaosPlugin(options.memoryProbe === true)
    await p.launch()
    return p
  }

  /** The plugin's gRPC socket path. */
  get address(): string {
    return this.launched.handshake.address
  }

  get pid(): number {
    return this.launched.child.pid ?? -1
  }

  get stderrLines(): ReadonlyArray<string> {
    return this.launched.stderrLines()
  }

  private async launch(): Promise<void> {
    this.launched = await launchPlugin({ timeoutMillis: 60_000, ...(this.memoryProbe ? probedCommand() : {}) })
    const launched = this.launched
    void launched.exited.then(({ code, signal }) => {
      if (!this.killing || this.launched !== launched) {
        this.crashes.push(`exited with code ${code}, signal ${signal}; last stderr: ${launched.stderrLines().slice(-3).join(" | ")}`)
      }
    })
    this.clients = connect(launched.handshake.address)
    const set = await rpc(this.clients.base.setConfig.bind(this.clients.base), {
      msgpackConfig: ctyEncode(decodeLikeNomad(pluginConfigSpec, { socket_path: chaosSandbox().socket, gc: { dangling_containers: REAPER } })),
      nomadConfig: { driver: { ClientMinPort: 14000, ClientMaxPort: 14512, Topology: undefined } },
      pluginApiVersion: "v0.1.0"
    }, 30_000)
    if (!set.ok) throw new Error(`SetConfig failed: ${set.details}`)
  }

  /** SIGKILL (what go-plugin does to a plugin that must go) and a fresh instance, configured. */
  async killAndRelaunch(): Promise<void> {
    await this.kill()
    this.killing = false
    await this.launch()
  }

  async kill(): Promise<void> {
    this.killing = true
    this.clients.close()
    await this.launched.kill()
  }

  /** The plugin's memory after a full GC (memProbe.cjs answers SIGUSR2). */
  async memory(): Promise<MemoryReading> {
    const before = this.launched.stderrLines().length
    const answer = () => this.launched.stderrLines().slice(before).find((l) => l.startsWith("ndp-mem "))
    const stderr = this.launched.child.stderr!
    const line = await new Promise<string>((resolve, reject) => {
      // each chunk of stderr is a chance that the answer's line is complete; a plugin that ends
      // first cannot answer (a plugin that hangs is the test's timeout)
      const done = () => {
        stderr.off("data", onData)
        this.launched.child.off("exit", onExit)
      }
      const onData = () => {
        const found = answer()
        if (found === undefined) return
        done()
        resolve(found)
      }
      const onExit = () => {
        done()
        reject(new Error("the plugin ended before it answered the memory probe"))
      }
      stderr.on("data", onData)
      this.launched.child.once("exit", onExit)
      process.kill(this.pid, "SIGUSR2")
    })
    return JSON.parse(line.slice("ndp-mem ".length)) as MemoryReading
  }

  /** Bytes the plugin has written to stderr so far (its log). */
  get logBytes(): number {
    return this.launched.stderrLines().reduce((n, l) => n + l.length + 1, 0)
  }
}
