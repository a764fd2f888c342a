#!/usr/bin/env node
/**
 * Start-up time of built executables, run interleaved so that machine load hits all of them alike:
 * `version`, `validate examples/hello.nomad.hcl` (loads the HCL parser) and the time until the
 * plugin-mode handshake line (as Nomad starts the plugin). Prints medians and minimums of wall-clock
 * and CPU time (GNU time, /usr/bin/time, must be installed).
 * Used for the code-cache decision written in scripts/build.mjs.
 *
 * Usage: node scripts/startup-bench.mjs [--runs N] EXECUTABLE...
 *   e.g. node scripts/build.mjs --code-cache && cp dist/nomad-driver-podman /tmp/with-cache
 *        node scripts/build.mjs && node scripts/startup-bench.mjs /tmp/with-cache dist/nomad-driver-podman
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const argv = process.argv.slice(2)
const runsAt = argv.indexOf("--runs")
const runs = runsAt >= 0 ? Number(argv.splice(runsAt, 2)[1]) : 21
const exes = argv.map((e) => path.resolve(e))
if (exes.length === 0) {
  process.stderr.write("usage: node scripts/startup-bench.mjs [--runs N] EXECUTABLE...\n")
  process.exit(64)
}
const COOKIE = "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"

/**
 * Wall-clock milliseconds until the process exits, or (firstLine) until its first stdout line, and
 * the CPU time (user + sys) it used by then, which machine load disturbs less. CPU time comes from
 * GNU time for a process that exits, from /proc/PID/stat for one stopped at its first line.
 */
const time = (exe, args, env, firstLine) =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6
    const [cmd, cmdArgs] = firstLine ? [exe, args] : ["/usr/bin/time", ["-f", "cpu %U %S", exe, ...args]]
    const child = spawn(cmd, cmdArgs, { env: { PATH: "/usr/bin:/bin", ...env }, cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => {
      out += d
      if (firstLine && out.includes("\n")) {
        const wall = elapsed()
        const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ")
        // fields 14 and 15 (utime, stime) in clock ticks of 10 ms; index from field 3 on
        resolve({ wall, cpu: (Number(stat[11]) + Number(stat[12])) * 10 })
        child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (d) => (err += d))
    child.on("error", reject)
    child.on("exit", (code) => {
      if (firstLine) return
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err)
      if (code !== 0 || !m) reject(new Error(`${exe} ${args.join(" ")} exited ${code}: ${err}`))
      else resolve({ wall: elapsed(), cpu: (Number(m[1]) + Number(m[2])) * 1000 })
    })
  })

const cases = {
  version: (exe) => time(exe, ["version"], {}, false),
  "validate (HCL)": (exe) => time(exe, ["validate", "examples/hello.nomad.hcl"], {}, false),
  "plugin handshake": (exe) => time(exe, [], { NOMAD_PLUGIN_MAGIC_COOKIE: COOKIE }, true)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const [name, measure] of Object.entries(cases)) {
  const samples = new Map(exes.map((e) => [e, []]))
  for (let i = 0; i < runs; i++) for (const e of exes) samples.get(e).push(await measure(e))
  for (const e of exes) {
    const s = samples.get(e)
    const wall = s.map((x) => x.wall)
    const cpu = s.map((x) => x.cpu)
    process.stdout.write(
      `${name.padEnd(17)} ${path.relative(process.cwd(), e).padEnd(40)} wall median ${median(wall).toFixed(0)} ms (min ${Math.min(...wall).toFixed(0)}), cpu median ${median(cpu).toFixed(0)} ms (min ${Math.min(...cpu).toFixed(0)})\n`
    )
  }
}
