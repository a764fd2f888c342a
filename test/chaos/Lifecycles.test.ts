/**
 * Randomized lifecycles (support/lifecycle.ts) driven over gRPC against the plugin executable on the
 * chaos suite's private Podman, with plugin SIGKILLs (then a fresh plugin and RecoverTask of every
 * live task, as Nomad does) and Podman service restarts (SIGTERM or SIGKILL of the service)
 * interleaved at seeded points.
 *
 * Asserted: 0 wrong exit codes, 0 containers left behind (storage-only ones included), 0 plugin
 * crashes, 0 RPCs unanswered within their deadline, every RecoverTask answered OK, SignalTask of
 * an exited task FAILED_PRECONDITION (never INTERNAL), ExecTask exit codes right.
 */
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TaskHandle } from "../../proto/gen/plugins/drivers/proto/driver.ts"
import { take } from "../support/nomad/grpcStreams.ts"
import { makeTempDir, removeDir } from "../support/tmp.ts"
import {
  allowedExitCodes, behaviourConfig, pluginGone, podmanOutage, prng, randomBehaviour, type StopSignal
} from "./support/lifecycle.ts"
import { ChaosPlugin, type Outcome, REAPER_BOUND_MILLIS, rpc } from "./support/plugin.ts"
import { leftoversOf, removeContainers, restartPodman } from "./support/sandbox.ts"
import { settings } from "./support/settings.ts"
import { Tally } from "./support/tally.ts"
import { chaosAllocId, wireTask } from "./support/tasks.ts"

const root = makeTempDir("ndp-life-")
const tally = new Tally("lifecycles")
const allocs = new Set<string>()
let plugin: ChaosPlugin

/** The plugin and what Nomad would do around it: recover every live task after a relaunch. */
const control = {
  ready: Promise.resolve() as Promise<void>,
  generation: 0,
  /** Handles of the tasks started and not yet destroyed (what Nomad would hand RecoverTask). */
  live: new Map<string, TaskHandle>(),
  /** Tasks whose DestroyTask was sent: a kill may come after the removal and before the answer. */
  destroying: new Set<string>(),
  recoveries: 0
}

/**
 * Nomad's own retry delay for a call that failed because Podman was down (its client retries with
 * backoff): part of the client being modelled, not a wait for something the test could observe.
 */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(3000, 250 * 2 ** attempt)))

type DriverMethod = "startTask" | "waitTask" | "stopTask" | "destroyTask" | "inspectTask" | "signalTask" | "execTask" | "recoverTask"

/**
 * One RPC as Nomad makes it: retried when the plugin went away (after it is back and has
 * recovered), and, for `retryOutage`, while Podman is down; unanswered calls are counted.
 */
const call = async <Res>(method: DriverMethod, req: unknown, deadlineMillis: number, retryOutage: boolean): Promise<Outcome<Res>> => {
  let last: Outcome<Res> | undefined
  for (let attempt = 0; attempt < 10; attempt++) {
    await control.ready
    const generation = control.generation
    const d = plugin.clients.driver as unknown as Record<DriverMethod, Function>
    const r: Outcome<Res> = await rpc(d[method].bind(plugin.clients.driver) as never, req, deadlineMillis)
    last = r
    if (r.ok) return r
    if (r.unanswered) {
      tally.add("unanswered-rpc", `${method} after ${r.millis} ms`)
      return r
    }
    if (pluginGone(r.code) || control.generation !== generation) continue
    if (retryOutage && podmanOutage(r.code, r.details)) {
      await backoff(attempt)
      continue
    }
    return r
  }
  return last!
}


const lifecycle = async (index: number): Promise<void> => {
  const r = prng(settings.seed * 100_003 + index)
  const b = randomBehaviour(r)
  const allocId = chaosAllocId()
  allocs.add(allocId)
  const name = `t${index}`
  let task = wireTask(root, { name, allocId, config: behaviourConfig(b) })

  // StartTask, retried with a new task id (as Nomad's restart does) while the failure is recoverable
  let started: Outcome<{ handle?: TaskHandle }> | undefined
  for (let attempt = 0; attempt < 8; attempt++) {
    started = await call("startTask", { task }, 60_000, false)
    if (started.ok) break
    if (started.unanswered) return
    if (/already in use/.test(started.details)) tally.add("start-blocked-by-leftover", started.details)
    if (!(podmanOutage(started.code, started.details) || /already in use/.test(started.details))) break
    await backoff(attempt)
    task = { ...task, id: `${allocId}/${name}/${globalThis.crypto.randomUUID().slice(0, 8)}` }
  }
  if (!started?.ok) {
    tally.add("start-failed", `${b.kind}: ${started?.ok === false ? `${grpc.status[started.code]} ${started.details}` : "?"}`)
    return
  }
  control.live.set(task.id, started.value.handle!)
  tally.add(`started:${b.kind}`)
  const taskId = task.id

  // Nomad keeps a WaitTask open from the start
  const waiting = call<{ result?: { exitCode: number }; err: string }>("waitTask", { taskId }, 300_000, false)

  let usr1 = false
  for (let i = r.int(0, 3); i > 0; i--) {
    const action = r.pick(["inspect", "stats", "signal", "exec"] as const)
    if (action === "inspect") {
      const s = await call("inspectTask", { taskId }, 30_000, true)
      tally.add(`inspect→${s.ok ? "OK" : grpc.status[s.code]}`, s.ok ? undefined : s.details)
    } else if (action === "stats") {
      // a client closed by a plugin kill refuses the stream at once: the plugin is gone
      const samples = await Promise.resolve()
        .then(() => take(plugin.clients.driver.taskStats({ taskId, collectionInterval: { seconds: 1n, nanos: 0 } }), 1, 15_000))
        .catch((e: grpc.ServiceError | Error) => ("code" in e ? grpc.status[e.code] : "no-sample"))
      tally.add(`stats→${Array.isArray(samples) ? (samples.length > 0 ? "sample" : "ended") : samples}`)
    } else if (action === "signal") {
      const s = await call("signalTask", { taskId, signal: "SIGUSR1" }, 30_000, true)
      if (s.ok) usr1 = true
      tally.add(`signal→${s.ok ? "OK" : grpc.status[s.code]}`, s.ok ? undefined : s.details)
    } else {
      const k = r.int(0, 9)
      const e = await call<{ result?: { exitCode: number } }>("execTask", {
        taskId, command: ["/bin/sh", "-c", `exit ${k}`], timeout: { seconds: 10n, nanos: 0 }
      }, 30_000, true)
      // A task that exits by itself may end during the exec, which takes the exec'd process with it (137).
      const execAllowed = b.kind === "exit" ? [k, 137] : [k]
      if (e.ok && !execAllowed.includes(e.value.result?.exitCode ?? -1)) {
        tally.add("wrong-exec-exit-code", `${e.value.result?.exitCode} for ${k}`)
      }
      tally.add(`exec→${e.ok ? "OK" : grpc.status[e.code]}`, e.ok ? undefined : e.details)
    }
  }

  // the ending
  const ending = b.kind === "exit" && r.next() < 0.4 ? "self" : r.next() < 0.25 ? "destroy" : "stop"
  let signal: StopSignal | "destroy" | undefined
  if (ending === "stop") {
    const s = r.pick(["SIGTERM", "SIGINT", "SIGKILL"] as const)
    signal = s
    const timeout = r.pick([0, 0.5, 1, 2])
    const stop = await call("stopTask", {
      taskId, signal: s, timeout: { seconds: BigInt(Math.floor(timeout)), nanos: (timeout % 1) * 1e9 }
    }, 60_000, true)
    tally.add(`stop→${stop.ok ? "OK" : grpc.status[stop.code]}`, stop.ok ? undefined : stop.details)
  } else if (ending === "destroy") {
    signal = "destroy"
  }
  if (ending === "destroy") {
    control.destroying.add(taskId)
    const destroyed = await call("destroyTask", { taskId, force: true }, 60_000, true)
    tally.add(`destroy-running→${destroyed.ok ? "OK" : grpc.status[destroyed.code]}`, destroyed.ok ? undefined : destroyed.details)
  }

  const result = await waiting
  const allowed = allowedExitCodes(b, signal, usr1)
  if (!result.ok) {
    tally.add(`wait→${grpc.status[result.code]}`, result.details)
    if (!result.unanswered) tally.add("wrong-exit-code", `${b.kind}/${String(signal)}: WaitTask failed: ${result.details}`)
  } else {
    const code = result.value.result?.exitCode ?? NaN
    if (!allowed.has(code)) {
      tally.add("wrong-exit-code", `${b.kind}/${String(signal)}${usr1 ? "/usr1" : ""}: ${code} not in {${[...allowed].join(",")}} (${result.value.err})`)
    } else tally.add("exit-code-right")
  }

  // an exited task refuses signals with FAILED_PRECONDITION, never INTERNAL
  if (ending !== "destroy" && r.next() < 0.3) {
    const s = await call("signalTask", { taskId, signal: "SIGUSR1" }, 30_000, true)
    tally.add(`signal-exited→${s.ok ? "OK" : grpc.status[s.code]}`, s.ok ? undefined : s.details)
    if (!s.ok && s.code === grpc.status.INTERNAL) tally.add("signal-exited-internal", s.details)
  }

  if (ending !== "destroy") {
    control.destroying.add(taskId)
    const destroyed = await call("destroyTask", { taskId, force: true }, 60_000, true)
    tally.add(`destroy→${destroyed.ok ? "OK" : grpc.status[destroyed.code]}`, destroyed.ok ? undefined : destroyed.details)
  }
  control.live.delete(taskId)
  control.destroying.delete(taskId)
}

/** Kills the plugin, starts a fresh one and recovers every live task before anything else runs. */
const killPlugin = async () => {
  let done!: () => void
  control.ready = new Promise((resolve) => (done = resolve))
  try {
    await plugin.killAndRelaunch()
    control.generation++
    for (const [taskId, handle] of control.live) {
      let outcome: Outcome<unknown> | undefined
      for (let attempt = 0; attempt < 8; attempt++) {
        const d = plugin.clients.driver
        outcome = await rpc(d.recoverTask.bind(d), { taskId, handle }, 60_000)
        if (outcome.ok || !podmanOutage(outcome.code, outcome.details)) break
        await backoff(attempt)
      }
      control.recoveries++
      // the container of a task being destroyed may be gone already: NOT_FOUND is the true answer
      const gone = !outcome!.ok && outcome!.code === grpc.status.NOT_FOUND && control.destroying.has(taskId)
      tally.add(
        gone ? "recover-while-destroying→NOT_FOUND" : `recover→${outcome!.ok ? "OK" : grpc.status[outcome!.code]}`,
        outcome!.ok ? undefined : outcome!.details
      )
    }
    tally.add("plugin-kills")
  } finally {
    done()
  }
}

beforeAll(async () => {
  plugin = await ChaosPlugin.start()
}, 120_000)

afterAll(async () => {
  await plugin?.kill()
  removeDir(root)
}, 300_000)

describe("randomized lifecycles with plugin kills and Podman restarts", () => {
  it("exit codes are true, nothing leaks, hangs or crashes", async () => {
    const n = settings.lifecycles
    // the chaos events, at seeded points of the run (after that many lifecycles have begun)
    const r = prng(settings.seed)
    const events = [
      ...Array.from({ length: settings.pluginKills }, () => ({ at: r.int(1, Math.max(1, n - 1)), what: "kill" as const })),
      ...Array.from({ length: settings.podmanRestarts }, () => ({ at: r.int(1, Math.max(1, n - 1)), what: r.pick(["TERM", "KILL"] as const) }))
    ].sort((a, b) => a.at - b.at)

    // lifecycles begun so far; the monkey waits for a count, woken as each lifecycle begins
    let begun = 0
    let finished = false
    const waiters: Array<{ readonly at: number; readonly wake: () => void }> = []
    const wake = () => {
      for (const w of waiters.filter((w) => finished || begun >= w.at)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.wake()
      }
    }
    const reached = (at: number) => new Promise<void>((resolve) => {
      waiters.push({ at, wake: resolve })
      wake()
    })
    const monkey = (async () => {
      for (const e of events) {
        await reached(e.at)
        if (finished) return
        if (e.what === "kill") await killPlugin()
        else {
          await restartPodman(e.what)
          tally.add(`podman-restarts-${e.what}`)
        }
      }
    })()
    await Promise.all(Array.from({ length: settings.concurrency }, async () => {
      while (begun < n) {
        const index = begun++
        wake()
        await lifecycle(index)
      }
    }))
    finished = true
    wake()
    await monkey

    // what is left of our allocations once every task is destroyed (eventual removal may take a while)
    const left = await leftoversOf(allocs, REAPER_BOUND_MILLIS)
    for (const ct of left) tally.add(ct.external ? "leaked-storage-container" : "leaked-container", `${ct.names[0]} (${ct.state})`)
    await removeContainers(left.map((ct) => ct.id))

    tally.report({ lifecycles: n, events: events.map((e) => `${e.what}@${e.at}`), recoveries: control.recoveries, crashes: plugin.crashes })
    expect(plugin.crashes).toEqual([])
    tally.assertNone("wrong-exit-code")
    tally.assertNone("wrong-exec-exit-code")
    tally.assertNone("unanswered-rpc")
    tally.assertNone("leaked-container")
    tally.assertNone("leaked-storage-container")
    tally.assertNone("start-blocked-by-leftover")
    tally.assertNone("start-failed")
    tally.assertNone("signal-exited-internal")
    for (const kind of tally.counts.keys()) {
      if (kind.startsWith("recover→") && kind !== "recover→OK") tally.assertNone(kind)
      if (/→INTERNAL$/.test(kind)) tally.assertNone(kind)
    }
  }, 3_600_000)
})
