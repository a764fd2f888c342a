/**
 * What the benchmark drives and measures: its own sandbox Podman service, raw libpod REST calls,
 * the built plugin executable launched as Nomad launches it and driven over its gRPC socket,
 * Nomad-like task configs (the same container spec for the plugin and for raw Podman), FIFOs, and
 * CPU time / RSS of a process from /proc.
 */
import { execFileSync } from "node:child_process"
import { closeSync, constants, openSync, readdirSync, readFileSync, writeSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import { Effect } from "effect"
import type { ContainerSpec } from "../src/domain/ContainerSpec.ts"
import { makeNomadTask, type NomadTask } from "../src/domain/NomadTask.ts"
import { defaultPluginConfig, pluginConfigSpec } from "../src/domain/PluginConfig.ts"
import { decodeTaskConfig, taskConfigSpec, type TaskConfigInput } from "../src/domain/TaskConfig.ts"
import { translateSync } from "../src/translate/index.ts"
import type { TaskConfig } from "../proto/gen/plugins/drivers/proto/driver.ts"
import { call, connect, type PluginClients } from "../test/support/nomad/clients.ts"
import { ctyEncode } from "../test/support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../test/support/nomad/hcldec.ts"
import { launchPlugin, type LaunchedPlugin } from "../test/support/nomad/launch.ts"
import { makeAllocDirs, wireTaskConfig } from "../test/support/nomad/wireTask.ts"
import { NODE22 } from "../test/support/processes.ts"
// @ts-expect-error the build scripts are plain JavaScript without declarations
import { EXEC_ARGV } from "../scripts/sea.mjs"

export const root = path.resolve(import.meta.dirname, "..")
export const BUSYBOX = "localhost/busybox:latest"

// ---------------------------------------------------------------------------------------------
// The sandbox Podman service
// ---------------------------------------------------------------------------------------------

export interface Sandbox {
  readonly dir: string
  readonly socketPath: string
  readonly servicePid: () => number
  readonly stop: () => void
}

export const startSandbox = (): Sandbox => {
  const dir = `/tmp/ndp-bench-${process.pid}`
  execFileSync("bash", [path.join(root, "test/support/sandbox.sh"), "start", dir, "--no-registry"], { stdio: ["ignore", "ignore", "inherit"] })
  return {
    dir,
    socketPath: `${dir}/podman.sock`,
    servicePid: () => Number(readFileSync(`${dir}/service.pid`, "utf8").trim()),
    stop: () => execFileSync("bash", [path.join(root, "test/support/sandbox.sh"), "stop", dir], { stdio: "inherit" })
  }
}

// ---------------------------------------------------------------------------------------------
// Raw libpod REST, as plain as it gets (node:http, a keep-alive agent)
// ---------------------------------------------------------------------------------------------

export interface Raw {
  readonly request: (method: string, p: string, body?: unknown) => Promise<{ status: number; text: string }>
  /** A streaming GET: resolves with the payload bytes of a framed (logs) body once it ends. */
  readonly streamBytes: (p: string) => Promise<number>
  /** A streaming GET read and discarded until `close` (counts the chunks received). */
  readonly drain: (p: string) => { readonly chunks: () => number; readonly close: () => void }
}

export const makeRaw = (socketPath: string): Raw => {
  const agent = new http.Agent({ keepAlive: true, socketPath } as http.AgentOptions)
  const request = (method: string, p: string, body?: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = http.request(
        {
          agent,
          socketPath,
          method,
          path: `/v4.0.0/libpod${p}`,
          headers: payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}
        },
        (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (c: string) => (text += c))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
        }
      )
      req.on("error", reject)
      req.end(payload)
    })
  const streamBytes = (p: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath, method: "GET", path: `/v4.0.0/libpod${p}` }, (res) => {
        // 8-byte frame headers: count payload bytes only
        let pending: Buffer = Buffer.alloc(0)
        let payload = 0
        let need = -1
        res.on("data", (c: Buffer) => {
          pending = pending.length === 0 ? c : Buffer.concat([pending, c])
          while (true) {
            if (need < 0) {
              if (pending.length < 8) break
              need = pending.readUInt32BE(4)
              pending = pending.subarray(8)
            }
            const take = Math.min(need, pending.length)
            payload += take
            need -= take
            pending = pending.subarray(take)
            if (need > 0) break
            need = -1
          }
        })
        res.on("end", () => resolve(payload))
      })
      req.on("error", reject)
      req.end()
    })
  const drain = (p: string) => {
    let chunks = 0
    const req = http.request({ socketPath, method: "GET", path: `/v4.0.0/libpod${p}` }, (res) => {
      res.on("data", () => void chunks++)
      res.on("error", () => {})
    })
    req.on("error", () => {})
    req.end()
    return { chunks: () => chunks, close: () => void req.destroy() }
  }
  return { request, streamBytes, drain }
}

// ---------------------------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------------------------

const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100

/** User + system CPU seconds of a process so far. */
export const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

/** CPU seconds this machine has spent busy so far, all cores (user, nice, system, irq, softirq, steal in /proc/stat). */
export const machineBusySeconds = (): number => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / TICKS
}

/** Resident set size in MiB. */
export const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

/** Anonymous (private, not file-backed) memory of a process, MiB: heaps and stacks. */
export const anonMiB = (pid: number): number => {
  const m = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

/** Drops a file's pages from the page cache (GNU dd: posix_fadvise DONTNEED of the whole file). */
export const dropFromPageCache = (file: string) =>
  void execFileSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"], { stdio: "ignore" })

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!
}

// ---------------------------------------------------------------------------------------------
// The plugin, as Nomad runs it
// ---------------------------------------------------------------------------------------------

export interface Plugin {
  readonly launched: LaunchedPlugin
  readonly pid: number
  readonly c: PluginClients
  readonly close: () => Promise<void>
}

/**
 * The plugin: the built executable, or — with BENCH_PLUGIN_NODE_FLAGS set (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof`) — its bundle under Node 22 with the executable's V8 flags plus those,
 * to profile what a row measures. The plugin writes a profile when it exits on SIGTERM (`close`).
 */
export const startPlugin = async (socketPath: string, env: Record<string, string | undefined> = {}): Promise<Plugin> => {
  const flags = process.env.BENCH_PLUGIN_NODE_FLAGS
  const command = flags === undefined
    ? undefined
    : [NODE22, ...(EXEC_ARGV as Array<string>), ...flags.split(/\s+/).filter((f) => f !== ""), path.join(root, ".build/bundle.cjs")]
  const launched = await launchPlugin({ env: { NDP_E2E_PLUGIN: "dist", ...env }, timeoutMillis: 60_000, ...(command ? { command } : {}) })
  const c = connect(launched.handshake.address)
  await call(c.base.setConfig.bind(c.base), {
    msgpackConfig: ctyEncode(decodeLikeNomad(pluginConfigSpec, { socket_path: `unix://${socketPath}` })),
    nomadConfig: { driver: { ClientMinPort: 14000, ClientMaxPort: 14512, Topology: undefined } },
    pluginApiVersion: "v0.1.0"
  })
  return {
    launched,
    pid: launched.child.pid!,
    c,
    close: async () => {
      c.close()
      if (command !== undefined) {
        launched.child.kill("SIGTERM")
        await Promise.race([launched.exited, sleep(10_000)])
      }
      await launched.kill()
    }
  }
}

/** One task of the benchmark: its Nomad config (gRPC) and the container spec raw Podman gets. */
export interface BenchTask {
  readonly nomad: NomadTask
  readonly proto: TaskConfig
  /** The same container, as the driver would create it (for raw create). */
  readonly spec: ContainerSpec
}

let seq = 0

/** A Nomad-like task in a fresh allocation directory under `root`, with optional log FIFOs. */
export const benchTask = (
  workDir: string,
  name: string,
  config: TaskConfigInput,
  podman: { readonly rootless: boolean; readonly cgroupVersion: string; readonly cgroupManager: string; readonly apiVersion: string; readonly cpus: number },
  logs?: { readonly stdoutPath: string; readonly stderrPath: string }
): BenchTask => {
  const allocId = crypto.randomUUID()
  const allocDir = path.join(workDir, allocId)
  makeAllocDirs(allocDir, name)
  const id = `${allocId}/${name}/${(++seq).toString(16).padStart(8, "0")}`
  const resources = { cpuShares: 100, memoryMb: 64 }
  const nomad = makeNomadTask({
    id,
    name,
    allocId,
    allocDir,
    jobName: "bench",
    jobId: "bench",
    taskGroupName: "group",
    env: { NOMAD_TASK_NAME: name, NOMAD_ALLOC_ID: allocId },
    resources,
    ...(logs ?? {})
  })
  const proto = wireTaskConfig({
    id,
    name,
    allocId,
    allocDir,
    msgpackDriverConfig: ctyEncode(decodeLikeNomad(taskConfigSpec, config)),
    job: "bench",
    ...(logs ?? {})
  })
  const typed = Effect.runSync(decodeTaskConfig(config))
  const r = translateSync({
    config: typed,
    task: nomad,
    plugin: defaultPluginConfig,
    podman: { rootless: podman.rootless, cgroupVersion: podman.cgroupVersion, cgroupManager: podman.cgroupManager, apiVersion: podman.apiVersion, hostCpus: podman.cpus }
  })
  if (!("spec" in r)) throw new Error(`bench task ${name}: ${JSON.stringify(r.issues)}`)
  const image = typed.image._tag === "registry" ? typed.image.ref : BUSYBOX
  return { nomad, proto, spec: { ...r.spec, image } }
}

// ---------------------------------------------------------------------------------------------
// FIFOs
// ---------------------------------------------------------------------------------------------

/** A FIFO the bench writes one line to at a chosen moment (opened read-write: the open never blocks). */
export const triggerFifo = (file: string) => {
  execFileSync("mkfifo", ["-m", "666", file])
  const fd = openSync(file, constants.O_RDWR | constants.O_NONBLOCK)
  return {
    fire: () => void writeSync(fd, "go\n"),
    close: () => closeSync(fd)
  }
}

/** A log FIFO like logmon's that counts the bytes it receives. */
export const countingFifo = (file: string) => {
  execFileSync("mkfifo", ["-m", "600", file])
  const fd = openSync(file, constants.O_RDWR | constants.O_NONBLOCK)
  const socket = new net.Socket({ fd, readable: true, writable: false })
  let bytes = 0
  let lastAt = 0
  const waiters = new Set<() => void>()
  socket.on("data", (d: Buffer) => {
    bytes += d.length
    lastAt = performance.now()
    for (const w of waiters) w()
  })
  socket.on("error", () => {})
  return {
    path: file,
    bytes: () => bytes,
    lastAt: () => lastAt,
    /** Resolves when `n` bytes have arrived, or with what arrived when nothing came for `idleMillis`. */
    waitFor: (n: number, idleMillis: number) =>
      new Promise<number>((resolve) => {
        let timer: NodeJS.Timeout | undefined
        const done = () => {
          waiters.delete(check)
          if (timer) clearTimeout(timer)
          resolve(bytes)
        }
        const arm = () => {
          if (timer) clearTimeout(timer)
          timer = setTimeout(done, idleMillis)
        }
        const check = () => (bytes >= n ? done() : arm())
        waiters.add(check)
        check()
      }),
    close: () => socket.destroy()
  }
}

/** Podman's `container cleanup` processes (conmon runs one as each container exits) still running. */
const cleanupsRunning = (): number =>
  readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0")
      return argv.includes("cleanup") && argv.includes("container")
    } catch {
      return false
    }
  }).length

/**
 * Waits until the containers removed last have been cleaned up (no `podman container cleanup`
 * left, up to 20 s): their work would otherwise land in the next timed phase.
 */
export const settled = async () => {
  for (let i = 0; i < 400 && cleanupsRunning() > 0; i++) await sleep(50)
}
