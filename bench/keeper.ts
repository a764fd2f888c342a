/**
 * What a task's log keeper costs (layers/log-sink/keeper.ts): starts KEEPERS keepers (default 20)
 * at once, each on its own pair of FIFOs as the FIFO sink does, in 5 rounds, and reports medians:
 * - the machine's CPU per keeper start and stop (all processes, from /proc/stat, over the start and
 *   half a second after it, less an idle half second): process creation is the cost of a keeper;
 * - this process's CPU per keeper start (the plugin's side), beside as many plain
 *   `child_process.spawn` calls of a shell from this same process (what a keeper start cost when
 *   Node started it: the whole process is forked), with 40 MiB of ballast in the heap as a plugin
 *   with tasks has;
 * - the proportional set size (PSS: shared pages split between the processes sharing them) and RSS
 *   of each keeper's processes, from /proc/<pid>/smaps_rollup.
 * Then ends them and checks that no process holds any of the FIFOs any more.
 *
 *   npx tsx bench/keeper.ts          (no Podman needed)
 *
 * Prints a table and writes bench/results/keeper.json.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { type Keeper, startKeeper, stopKeeper } from "../layers/log-sink/keeper.ts"
import { machineBusySeconds } from "./support.ts"

const count = Number(process.env.KEEPERS ?? 20)
const dir = mkdtempSync(path.join(tmpdir(), "ndp-keeper-bench-"))

const kib = (pid: number, field: "Pss" | "Rss"): number => {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)
  return m === null ? 0 : Number(m[1])
}

/** The keeper and its children (the `sleep`). */
const processesOf = (pid: number): Array<number> => {
  const all = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)
  const children = all.filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "latin1")
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid
    } catch {
      return false
    }
  })
  return [pid, ...children]
}

/** Processes (not this one) holding a file of this bench's directory: keepers, and their `sleep`. */
const keepersAlive = (): number =>
  readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid).filter((d) => {
    try {
      return readdirSync(`/proc/${d}/fd`).some((fd) => readlinkSync(`/proc/${d}/fd/${fd}`).startsWith(dir))
    } catch {
      return false
    }
  }).length

/** CPU milliseconds of this process while `run` runs. */
const cpuOf = <A>(run: Effect.Effect<A>) =>
  Effect.gen(function*() {
    const cpu = process.cpuUsage()
    const result = yield* run
    const used = process.cpuUsage(cpu)
    return { result, cpuMs: (used.user + used.system) / 1000 }
  })

/** How long the machine is watched after `run` (a keeper's own work goes on after it answered). */
const SETTLE_MILLIS = 500

/**
 * The machine's busy CPU milliseconds (all processes, /proc/stat) during `run` and SETTLE_MILLIS
 * after it, less what an idle SETTLE_MILLIS just before cost.
 */
const machineOf = <A>(run: Effect.Effect<A>) =>
  Effect.gen(function*() {
    const idleFrom = machineBusySeconds()
    yield* Effect.sleep(SETTLE_MILLIS)
    const idle = machineBusySeconds() - idleFrom
    const from = machineBusySeconds()
    const result = yield* run
    yield* Effect.sleep(SETTLE_MILLIS)
    return { result, busyMs: (machineBusySeconds() - from - idle) * 1000 }
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** 20 plain spawns of a shell (that exits) from this process, all at once. */
const nodeSpawns = Effect.promise(() =>
  Promise.all(Array.from({ length: count }, () =>
    new Promise((resolve) => spawn("/bin/sh", ["-c", "exit 0"], { detached: true, stdio: "ignore" }).once("exit", resolve))
  ))
)

/** A heap like the plugin's with tasks running (fork cost grows with the memory mapped). */
const ballast = Array.from({ length: 40 }, () => Buffer.alloc(1 << 20, 1))

const main = Effect.gen(function*() {
  // the first start also starts the launcher: not part of the steady cost
  const warm = path.join(dir, "warm.fifo")
  execFileSync("mkfifo", ["-m", "600", warm])
  const first = yield* startKeeper([warm])
  if (typeof first !== "string") yield* stopKeeper(first)

  const fifoPairs = Array.from({ length: count }, (_, i) => {
    const fifos = ["stdout", "stderr"].map((s) => path.join(dir, `t${i}.${s}.fifo`))
    for (const f of fifos) execFileSync("mkfifo", ["-m", "600", f])
    return fifos
  })
  const startAll = Effect.forEach(fifoPairs, (fifos) =>
    startKeeper(fifos).pipe(Effect.map((k) => {
      if (typeof k === "string") throw new Error(k)
      return k
    })), { concurrency: "unbounded" })
  const keeperCpu: Array<number> = []
  const keeperMachine: Array<number> = []
  const stopMachine: Array<number> = []
  const spawnCpu: Array<number> = []
  let keepers: Array<Keeper> = []
  for (let round = 0; round < 5; round++) {
    const started = yield* machineOf(cpuOf(startAll))
    keeperCpu.push(started.result.cpuMs)
    keeperMachine.push(started.busyMs)
    keepers = started.result.result
    if (round === 4) break
    stopMachine.push((yield* machineOf(Effect.forEach(keepers, stopKeeper))).busyMs)
    spawnCpu.push((yield* cpuOf(nodeSpawns)).cpuMs)
  }
  let pss = 0
  let rss = 0
  for (const k of keepers) {
    for (const p of processesOf(k.id.pid)) {
      pss += kib(p, "Pss")
      rss += kib(p, "Rss")
    }
  }
  const node = kib(process.pid, "Rss")
  for (const k of keepers) yield* stopKeeper(k)
  for (let tries = 0; tries < 200 && keepersAlive() > 0; tries++) yield* Effect.sleep(10)
  const left = keepersAlive()
  const result = {
    keepers: count,
    pssKiBPerTask: Math.round(pss / count),
    rssKiBPerTask: Math.round(rss / count),
    nodeRssKiBForComparison: node,
    leftAfterStop: left,
    startCpuMsPerKeeper: Number((median(keeperCpu) / count).toFixed(2)),
    machineCpuMsPerKeeperStart: Number((median(keeperMachine) / count).toFixed(2)),
    machineCpuMsPerKeeperStop: Number((median(stopMachine) / count).toFixed(2)),
    nodeSpawnCpuMsPerProcess: Number((median(spawnCpu) / count).toFixed(2)),
    ballastMiB: ballast.length
  }
  console.table(result)
  const out = path.resolve(import.meta.dirname, "results")
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, "keeper.json"), JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2) + "\n")
  if (left > 0) throw new Error(`${left} keepers left after stopKeeper`)
})

Effect.runPromise(main).finally(() => rmSync(dir, { recursive: true, force: true })).catch((e) => {
  console.error(e)
  process.exit(1)
})
