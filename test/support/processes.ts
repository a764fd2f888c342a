/**
 * Child processes for tests: the project's Node 22 (whatever `node` is on PATH), TS entries run in
 * ONE process through tsx's loader (the `tsx` command runs the program in a second node process,
 * so a signal sent to it would hit only the wrapper), and a runner that collects the output.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..")

/** Node 22 from node_modules (the runtime package scripts/node-runtimes pins for this machine). */
export const NODE22 = path.join(REPO_ROOT, "node_modules/.bin/node")

/** argv that runs a TS entry on Node 22 in a single process: `[node, --import, <tsx loader>, entry]`. */
export const tsNodeArgv = (entry: string): Array<string> => [
  NODE22,
  "--import",
  pathToFileURL(path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs")).href,
  entry
]

/** argv of the CLI from the sources (`nomad-driver-podman` without building it). */
export const cliArgv = (): Array<string> => tsNodeArgv(path.join(REPO_ROOT, "src/cli/main.ts"))

export interface ProcessResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly cwd?: string
  readonly env?: Record<string, string | undefined>
  /** SIGKILL after this long (default 90 s): a hung child fails its test instead of the run. */
  readonly timeoutMillis?: number
  /** Sees the output so far after each chunk, to act at the right moment (e.g. send Ctrl-C). */
  readonly onOutput?: (soFar: { readonly stdout: string; readonly stderr: string }, kill: (signal: NodeJS.Signals) => void) => void
}

/** Runs `argv` to its end and collects its output. */
export const runProcess = (argv: ReadonlyArray<string>, options: RunOptions = {}): Promise<ProcessResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const kill = (s: NodeJS.Signals) => child.kill(s)
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      options.onOutput?.({ stdout, stderr }, kill)
    })
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      options.onOutput?.({ stdout, stderr }, kill)
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMillis ?? 90_000)
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
