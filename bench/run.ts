/**
 * The benchmark: the plugin executable as a Nomad client runs it (dist/nomad-driver-podman,
 * launched with go-plugin's environment, driven over its gRPC socket) against raw Podman REST
 * calls, interleaved in the same run on the same private Podman service (its own sandbox).
 *
 *   npm run bench          (builds the executable first when it is older than the sources)
 *
 * Rows (issue 8's table; README, "Performance"):
 *  1. StartTask of a local image vs raw create + start of the same container spec (medians);
 *     on Podman's default network (bridge) and without a network.
 *  2. process exit → WaitTask answers vs raw `wait` (Podman's default interval): the process exits
 *     when the bench writes to a FIFO it reads, so the moment of the exit is known.
 *  3. Podman service CPU over 10 s with 20 running tasks while the plugin is idle (Nomad's
 *     Fingerprint stream open) vs the same 20 containers with no plugin. (Every CPU figure over 10 s
 *     is the median of five 10 s windows in a row.)
 *  4. plugin RSS idle and with 100 running tasks (steady state: the median over 20 s, from 15 s after
 *     the starts), bare Node 22 for scale; the executable dropped from the page cache first.
 *  5. 20 concurrent StartTasks vs 20 concurrent raw create + start (medians of 8 rounds; each side
 *     goes first in every other round, and each timed phase waits until Podman's cleanup of the
 *     containers removed before it has finished). Also saved: the plugin's CPU per StartTask, the
 *     machine's busy CPU during each side's rounds (Podman's service, conmon, runc, netavark...),
 *     and the plugin's share of it. Then the same with each task's stdout and stderr FIFOs open by
 *     a reader, as Nomad's logmon has them (row "concurrent-logs", no target): the plugin's log
 *     keepers and forwarders are then part of it, as in Nomad.
 *  6. TaskStats of 20 tasks (1 s interval) over 10 s: the CPU it costs (plugin + Podman service, each
 *     beyond its idle with the same tasks) vs the service CPU (beyond idle) of Podman's own batched
 *     stats stream of the same 20 containers.
 *  7. a 70 MB burst of output: bytes lost on the way to the task's log FIFO, and the rate vs
 *     Podman's logs API (follow).
 * Results: a table on stdout and bench/results/latest.json. Ratios are what compares across
 * machines; the absolute numbers are this machine's (2 cores, shared with other work).
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { call } from "../test/support/nomad/clients.ts"
import { builtPlugin, newestSource } from "../test/support/nomad/launch.ts"
import { NODE22 } from "../test/support/processes.ts"
import {
  anonMiB, benchTask, BUSYBOX, countingFifo, cpuSeconds, dropFromPageCache, machineBusySeconds, makeRaw, median, type Plugin, root, rssMiB, sleep,
  startPlugin,
  settled, startSandbox, triggerFifo, type BenchTask
} from "./support.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
/** Rounds of 20 concurrent starts (each side first in every other round). */
const CONCURRENT_ROUNDS = 8
/**
 * BENCH_ROWS=start,exit,concurrent,concurrent-logs,stats,rss,logs runs only those (results are then not saved);
 * BENCH_VERBOSE=1 prints each CPU window; BENCH_CONCURRENT_NETWORK=none runs the concurrent row's
 * containers without a network (no netavark: the machine is then CPU-bound on both sides, and the
 * plugin's own cost shows alone; results are then not saved).
 */
const ONLY = process.env.BENCH_ROWS?.split(",").map((s) => s.trim()).filter((s) => s !== "")
const want = (row: string) => ONLY === undefined || ONLY.includes(row)
const CONCURRENT_NETWORK = process.env.BENCH_CONCURRENT_NETWORK === "none" ? { network_mode: "none" } : {}

interface Row {
  readonly row: string
  readonly plugin: string
  readonly raw: string
  readonly ratio: string
  readonly target: string
  readonly values: Record<string, number>
}

const f1 = (n: number) => n.toFixed(1)
const f2 = (n: number) => n.toFixed(2)

/** dist/nomad-driver-podman, rebuilt when a source is newer. */
const ensureBuilt = () => {
  if (existsSync(builtPlugin) && statSync(builtPlugin).mtimeMs >= newestSource()) return
  process.stderr.write("bench: building the executable (node scripts/build.mjs)\n")
  execFileSync(NODE22, [path.join(root, "scripts/build.mjs")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
}

/** RSS of a bare Node 22 process that does nothing (the floor any Node program starts from). */
const bareNodeRss = async () => {
  const child = spawn(NODE22, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
  await sleep(1500)
  const rss = rssMiB(child.pid!)
  child.kill("SIGKILL")
  return rss
}

/** CPU seconds of `pids` over `millis`: the median of `windows` such windows in a row (default 5). */
const cpuOver = async (pids: ReadonlyArray<number>, millis: number, windows = 5) => {
  const each: Array<Array<number>> = pids.map(() => [])
  for (let w = 0; w < windows; w++) {
    const before = pids.map(cpuSeconds)
    await sleep(millis)
    pids.forEach((p, i) => each[i]!.push(cpuSeconds(p) - before[i]!))
  }
  if (process.env.BENCH_VERBOSE !== undefined) process.stderr.write(`bench: CPU s per window of ${pids.join(", ")}: ${JSON.stringify(each)}\n`)
  return each.map(median)
}

const inParallel = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }))
  return out
}

async function main() {
  ensureBuilt()
  const sandbox = startSandbox()
  const work = mkdtempSync("/tmp/ndp-bw-")
  const rows: Array<Row> = []
  let plugin: Plugin | undefined
  try {
    const raw = makeRaw(sandbox.socketPath)
    const info = JSON.parse((await raw.request("GET", "/info")).text)
    const facts = {
      rootless: info.host.security.rootless as boolean,
      cgroupVersion: info.host.cgroupVersion as string,
      cgroupManager: info.host.cgroupManager as string,
      apiVersion: info.version.APIVersion as string,
      cpus: info.host.cpus as number
    }
    const service = sandbox.servicePid()
    const task = (name: string, config: Record<string, unknown>, logs?: { stdoutPath: string; stderrPath: string }) =>
      benchTask(work, name, { image: BUSYBOX, ...config } as never, facts, logs)

    const bare = await bareNodeRss()
    // RSS counts the executable's pages the kernel maps, and how many depends on how the file came
    // into the page cache (it maps cached neighbours of each page touched, and whole large folios
    // after a sequential read of the file): measured as after a reboot, with only what the plugin
    // itself reads in. Row 4 also gives the anonymous memory, which does not depend on it.
    dropFromPageCache(builtPlugin)
    plugin = await startPlugin(sandbox.socketPath)
    const p = plugin
    const c = p.c
    // Nomad keeps the Fingerprint stream open for the plugin's whole life.
    const fingerprints = c.driver.fingerprint({})
    fingerprints.on("data", () => {})
    fingerprints.on("error", () => {})
    await sleep(3000)
    const idleRss = rssMiB(p.pid)
    const idleAnon = anonMiB(p.pid)

    const start = (t: BenchTask) => call(c.driver.startTask.bind(c.driver), { task: t.proto })
    const destroy = (t: BenchTask) => call(c.driver.destroyTask.bind(c.driver), { taskId: t.nomad.id, force: true })
    const wait = (t: BenchTask) => call(c.driver.waitTask.bind(c.driver), { taskId: t.nomad.id })
    let rawSeq = 0
    const rawCreate = async (t: BenchTask) => {
      const r = await raw.request("POST", "/containers/create", { ...t.spec, name: `raw${rawSeq++}-${t.spec.name}` })
      if (r.status >= 300) throw new Error(`raw create: ${r.status} ${r.text}`)
      return JSON.parse(r.text).Id as string
    }
    const rawStart = (id: string) => raw.request("POST", `/containers/${id}/start`)
    const rawRemove = (id: string) => raw.request("DELETE", `/containers/${id}?force=true&timeout=0`)
    const running = async (id: string) => {
      for (;;) {
        const s = JSON.parse((await raw.request("GET", `/containers/${id}/json`)).text).State
        if (s.Running) return
        await sleep(20)
      }
    }
    const time = async (f: () => Promise<unknown>) => {
      const t0 = performance.now()
      await f()
      return performance.now() - t0
    }

    // 1. StartTask vs create + start -------------------------------------------------------------
    if (want("start")) for (const [label, network] of [["bridge", {}], ["none", { network_mode: "none" }]] as const) {
      const cfg = { command: "/bin/sleep", args: ["3600"], ...network }
      // warm-up: Podman's network setup, the plugin's first facts
      const w = task("warm", cfg)
      await start(w)
      await destroy(w)
      const ws = await rawCreate(task("warm", cfg))
      await rawStart(ws)
      await rawRemove(ws)
      const pt: Array<number> = []
      const rt: Array<number> = []
      for (let i = 0; i < RUNS; i++) {
        const a = task(`start${i}`, cfg)
        const b = task(`start${i}`, cfg)
        let id = ""
        rt.push(await time(async () => {
          id = await rawCreate(b)
          await rawStart(id)
        }))
        pt.push(await time(() => start(a)))
        await destroy(a)
        await rawRemove(id)
      }
      const pm = median(pt)
      const rm = median(rt)
      rows.push({
        row: `StartTask (local image, ${label === "bridge" ? "Podman's default network" : "no network"}) vs create + start`,
        plugin: `${f1(pm)} ms`,
        raw: `${f1(rm)} ms`,
        ratio: `${f2(pm / rm)}×`,
        target: "≤ 1.05×",
        values: { pluginMs: pm, rawMs: rm, ratio: pm / rm }
      })
    }

    // 2. exit → WaitTask ---------------------------------------------------------------------------
    if (want("exit")) {
      const cfg = { command: "/bin/sh", args: ["-c", "read x < /alloc/trig; exit 3"], network_mode: "none" }
      const pl: Array<number> = []
      const rl: Array<number> = []
      for (let i = 0; i < Math.min(RUNS, 10); i++) {
        const a = task(`exit${i}`, cfg)
        const ta = triggerFifo(path.join(a.nomad.allocDir, "alloc", "trig"))
        await start(a)
        const b = task(`exit${i}`, cfg)
        const tb = triggerFifo(path.join(b.nomad.allocDir, "alloc", "trig"))
        const id = await rawCreate(b)
        await rawStart(id)
        await running(id)
        await sleep(300) // both shells reach `read`, the plugin's watcher is set up
        const answer = wait(a)
        await sleep(200)
        let t0 = performance.now()
        ta.fire()
        const r = await answer
        pl.push(performance.now() - t0)
        if (r.result?.exitCode !== 3) throw new Error(`WaitTask answered ${JSON.stringify(r.result)}`)
        const rawWait = raw.request("POST", `/containers/${id}/wait?condition=stopped&condition=exited`)
        await sleep(200)
        t0 = performance.now()
        tb.fire()
        await rawWait
        rl.push(performance.now() - t0)
        ta.close()
        tb.close()
        await destroy(a)
        await rawRemove(id)
      }
      rows.push({
        row: "process exit → WaitTask answers",
        plugin: `${f1(median(pl))} ms`,
        raw: `\`wait\`: ${f1(median(rl))} ms`,
        ratio: "",
        target: "≤ 30 ms",
        values: { pluginMs: median(pl), rawWaitMs: median(rl) }
      })
    }

    // 5. 20 concurrent StartTasks ------------------------------------------------------------------
    // 5b. the same with each task's stdout and stderr FIFOs open by a reader, as Nomad's logmon has
    // them: the plugin's log keepers and forwarders are then part of it, as in Nomad
    for (const withLogs of [false, true]) {
      if (!want(withLogs ? "concurrent-logs" : "concurrent")) continue
      const cfg = { command: "/bin/sleep", args: ["3600"], ...CONCURRENT_NETWORK }
      const pt: Array<number> = []
      const rt: Array<number> = []
      /** The plugin's CPU ms per StartTask in each round. */
      const pluginCpu: Array<number> = []
      /** The machine's busy CPU seconds during each round of each side, and the plugin's part of it. */
      const machineRaw: Array<number> = []
      const machinePlugin: Array<number> = []
      const pluginShare: Array<number> = []
      const rawRound = async (i: number) => {
        const rawTasks = Array.from({ length: 20 }, (_, j) => task(`conc${i}-${j}`, cfg))
        let ids: Array<string> = []
        await settled()
        const m0 = machineBusySeconds()
        rt.push(await time(async () => {
          ids = await Promise.all(rawTasks.map(async (t) => {
            const id = await rawCreate(t)
            await rawStart(id)
            return id
          }))
        }))
        machineRaw.push(machineBusySeconds() - m0)
        await inParallel(ids, 5, rawRemove)
      }
      const pluginRound = async (i: number) => {
        const readers = withLogs
          ? Array.from({ length: 20 }, (_, j) => [
            countingFifo(path.join(work, `conc${i}-${j}.stdout.fifo`)),
            countingFifo(path.join(work, `conc${i}-${j}.stderr.fifo`))
          ] as const)
          : []
        const ts = Array.from({ length: 20 }, (_, j) => {
          const fifos = readers[j]
          return task(`conc${i}-${j}`, cfg, fifos !== undefined ? { stdoutPath: fifos[0].path, stderrPath: fifos[1].path } : undefined)
        })
        await settled()
        const cpu0 = cpuSeconds(p.pid)
        const m0 = machineBusySeconds()
        pt.push(await time(() => Promise.all(ts.map(start))))
        const used = cpuSeconds(p.pid) - cpu0
        const machine = machineBusySeconds() - m0
        pluginCpu.push(used * 1000 / 20)
        machinePlugin.push(machine)
        pluginShare.push(used / machine)
        await inParallel(ts, 5, destroy)
        for (const r of readers.flat()) r.close()
      }
      // each side goes first in every other round, and starts once the last removals are cleaned up
      for (let i = 0; i < CONCURRENT_ROUNDS; i++) {
        if (i % 2 === 0) {
          await rawRound(i)
          await pluginRound(i)
        } else {
          await pluginRound(i)
          await rawRound(i)
        }
      }
      if (process.env.BENCH_VERBOSE !== undefined) {
        process.stderr.write(
          `bench: 20 concurrent${withLogs ? " with log FIFOs" : ""}, plugin ms ${pt.map(f1)}, raw ms ${rt.map(f1)}, plugin CPU ms per start ${pluginCpu.map(f1)}, ` +
            `machine busy s plugin ${machinePlugin.map(f2)} raw ${machineRaw.map(f2)}, plugin's share ${pluginShare.map(f2)}\n`
        )
      }
      const pm = median(pt)
      const rm = median(rt)
      rows.push({
        row: withLogs
          ? "20 concurrent StartTasks with log FIFOs (as in Nomad) vs 20 raw create + start"
          : "20 concurrent StartTasks vs 20 raw create + start",
        plugin: `${f1(pm)} ms`,
        raw: `${f1(rm)} ms`,
        ratio: `${f2(pm / rm)}×`,
        target: withLogs ? "(no target)" : "≤ 1.05× (keep)",
        values: {
          pluginMs: pm,
          rawMs: rm,
          ratio: pm / rm,
          pluginCpuMsPerStart: median(pluginCpu),
          machineBusySecondsPlugin: median(machinePlugin),
          machineBusySecondsRaw: median(machineRaw),
          pluginShareOfMachineCpu: median(pluginShare)
        }
      })
    }

    // 3 and 6. 20 running tasks: idle Podman CPU, then TaskStats --------------------------------------
    if (want("stats")) {
      const cfg = { command: "/bin/sleep", args: ["3600"] }
      const ts = Array.from({ length: 20 }, (_, j) => task(`idle${j}`, cfg))
      await inParallel(ts, 5, start)
      await sleep(3000)
      const [serviceIdle, pluginIdle] = await cpuOver([service, p.pid], 10_000)
      const streams = ts.map((t) => {
        const s = c.driver.taskStats({ taskId: t.nomad.id, collectionInterval: { seconds: 1n, nanos: 0 } })
        s.on("data", () => {})
        s.on("error", () => {})
        return s
      })
      await sleep(3000)
      const [serviceStats, pluginStats] = await cpuOver([service, p.pid], 10_000)
      for (const s of streams) s.cancel()
      await inParallel(ts, 5, destroy)

      const rawTasks = Array.from({ length: 20 }, (_, j) => task(`idle${j}`, cfg))
      const ids = await inParallel(rawTasks, 5, async (t) => {
        const id = await rawCreate(t)
        await rawStart(id)
        return id
      })
      await sleep(3000)
      const [serviceRaw] = await cpuOver([service], 10_000)
      // Podman's own stats of the same 20 containers, as a client gets them: one batched stream
      const rawStats = raw.drain(`/containers/stats?stream=true&interval=1&${ids.map((id) => `containers=${id}`).join("&")}`)
      await sleep(3000)
      const [serviceRawStats] = await cpuOver([service], 10_000)
      if (rawStats.chunks() < 5) throw new Error(`raw stats stream: ${rawStats.chunks()} chunks`)
      rawStats.close()
      await inParallel(ids, 5, rawRemove)
      rows.push({
        row: "plugin CPU, 20 running tasks, plugin idle (10 s)",
        plugin: `${f2(pluginIdle!)} s`,
        raw: "",
        ratio: "",
        target: "(no target)",
        values: { pluginCpuSeconds: pluginIdle! }
      })
      rows.push({
        row: "Podman service CPU, 20 running tasks, plugin idle (10 s)",
        plugin: `${f2(serviceIdle!)} s`,
        raw: `${f2(serviceRaw!)} s`,
        ratio: "",
        target: "≤ 0.1 s",
        values: { serviceCpuSeconds: serviceIdle!, rawServiceCpuSeconds: serviceRaw!, pluginCpuSeconds: pluginIdle! }
      })
      // The plugin reads local containers' cgroups itself, so the service does no work for it. What
      // TaskStats costs: the CPU the plugin and the service spend beyond their idle (the same 20
      // tasks, no TaskStats, just before), compared with what the service spends beyond its idle
      // producing the same samples for a raw client.
      const pluginCost = Math.max(0, pluginStats! - pluginIdle!)
      const serviceCost = Math.max(0, serviceStats! - serviceIdle!)
      const statsCost = pluginCost + serviceCost
      const rawCost = Math.max(0, serviceRawStats! - serviceRaw!)
      rows.push({
        row: "TaskStats of 20 tasks (1 s, 10 s): CPU beyond idle, plugin + service vs Podman's stats stream",
        plugin: `${f2(pluginCost)} + ${f2(serviceCost)} s`,
        raw: `${f2(rawCost)} s`,
        ratio: f2(statsCost / rawCost),
        target: "≤ 0.5 (keep)",
        values: {
          pluginCpuSeconds: pluginStats!,
          pluginIdleCpuSeconds: pluginIdle!,
          serviceCpuSeconds: serviceStats!,
          serviceIdleCpuSeconds: serviceIdle!,
          rawStatsServiceCpuSeconds: serviceRawStats!,
          rawIdleServiceCpuSeconds: serviceRaw!,
          ratio: statsCost / rawCost
        }
      })
    }

    // 4. RSS with 100 running tasks ----------------------------------------------------------------
    if (want("rss")) {
      const cfg = { command: "/bin/sleep", args: ["3600"], network_mode: "none" }
      const ts = Array.from({ length: 100 }, (_, j) => task(`many${j}`, cfg))
      await inParallel(ts, 10, start)
      // Steady state, not the burst of starts: V8 collects the starts' garbage within ~15 s (RSS
      // right after the starts is ~10 MiB higher); then the median of 20 samples a second apart.
      await sleep(15_000)
      const samples: Array<[number, number]> = []
      for (let k = 0; k < 20; k++) {
        samples.push([rssMiB(p.pid), anonMiB(p.pid)])
        await sleep(1000)
      }
      const busyRss = median(samples.map(([r]) => r))
      const busyAnon = median(samples.map(([, a]) => a))
      await inParallel(ts, 10, destroy)
      rows.push({
        row: "plugin RSS idle / with 100 running tasks",
        plugin: `${f1(idleRss)} / ${f1(busyRss)} MiB`,
        raw: `(bare Node 22: ${f1(bare)})`,
        ratio: "",
        target: "≤ 70 / ≤ 90 MiB",
        values: { idleRssMiB: idleRss, busyRssMiB: busyRss, idleAnonMiB: idleAnon, busyAnonMiB: busyAnon, bareNodeRssMiB: bare }
      })
      rows.push({
        row: "plugin anonymous memory (heaps, stacks) idle / with 100 running tasks",
        plugin: `${f1(idleAnon)} / ${f1(busyAnon)} MiB`,
        raw: "",
        ratio: "",
        target: "(no target)",
        values: { idleAnonMiB: idleAnon, busyAnonMiB: busyAnon }
      })
    }

    // 7. 70 MB log burst ---------------------------------------------------------------------------
    if (want("logs")) {
      const total = 70_000_000
      const line = "0123456789".repeat(9) + "abcdefgh"
      const cfg = { command: "/bin/sh", args: ["-c", `yes ${line} | head -c ${total}`], network_mode: "none" }
      const logs = path.join(work, "logs")
      mkdirSync(logs, { recursive: true })
      const out = countingFifo(path.join(logs, "burst.stdout"))
      const err = countingFifo(path.join(logs, "burst.stderr"))
      const a = task("burst", cfg, { stdoutPath: out.path, stderrPath: err.path })
      const t0 = performance.now()
      await start(a)
      const got = await out.waitFor(total, 15_000)
      const pluginSeconds = (out.lastAt() - t0) / 1000
      await wait(a)
      await destroy(a)
      out.close()
      err.close()

      const b = task("burst", cfg)
      const id = await rawCreate(b)
      const r0 = performance.now()
      await rawStart(id)
      const rawBytes = await raw.streamBytes(`/containers/${id}/logs?follow=true&stdout=true&stderr=true`)
      const rawSeconds = (performance.now() - r0) / 1000
      await rawRemove(id)
      const pluginRate = got / pluginSeconds / 1e6
      const rawRate = rawBytes / rawSeconds / 1e6
      rows.push({
        row: "70 MB log burst: bytes lost / rate vs logs API",
        plugin: `${total - got} lost, ${f1(pluginRate)} MB/s`,
        raw: `logs API: ${total - rawBytes} lost, ${f1(rawRate)} MB/s`,
        ratio: `${f2(pluginRate / rawRate)}×`,
        target: "0 lost (keep)",
        values: { pluginLostBytes: total - got, pluginMBps: pluginRate, rawLostBytes: total - rawBytes, rawMBps: rawRate }
      })
    }

    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.versions.node, podman: info.version.Version as string },
      runs: RUNS,
      rows
    }
    if (ONLY === undefined && process.env.BENCH_CONCURRENT_NETWORK === undefined) {
      mkdirSync(path.join(root, "bench/results"), { recursive: true })
      writeFileSync(path.join(root, "bench/results/latest.json"), JSON.stringify(results, null, 2) + "\n")
    }
    console.log("| | plugin | raw Podman | ratio | target |")
    console.log("|---|---|---|---|---|")
    for (const r of rows) console.log(`| ${r.row} | ${r.plugin} | ${r.raw} | ${r.ratio} | ${r.target} |`)
  } finally {
    await plugin?.close()
    sandbox.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
