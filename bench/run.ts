/**
 * Benchmarks: the driver against raw Podman, in the same run, on the same private Podman service.
 *
 *   npm run bench            (starts and stops its own sandbox Podman service)
 *
 * 1. task lifecycle: start → exit observed → destroy of a container that exits at once,
 *    driver (Driver.startTask/waitTask/destroyTask) vs raw libpod REST (create/start/wait/delete).
 * 2. exec: a `true` exec through the driver vs raw exec create/start/inspect.
 * 3. the driver's memory: RSS and heap after the runs.
 * Results are printed as a table and written to bench/results/latest.json. Ratios, not absolute
 * times, are what to compare across machines.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as ConfigLayers from "../layers/config/index.ts"
import * as LogSinks from "../layers/log-sink/index.ts"
import { makeNomadTask } from "../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../src/domain/PluginConfig.ts"
import { decodeTaskConfig } from "../src/domain/TaskConfig.ts"
import { driverLayer } from "../layers/stacks.ts"
import { Driver } from "../src/services/Driver.ts"

const root = path.resolve(import.meta.dirname, "..")
const runs = Number(process.env.BENCH_RUNS ?? 15)

const raw = (socketPath: string, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, method, path: `/v4.0.0/libpod${p}`, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        let text = ""
        res.on("data", (c) => (text += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
      }
    )
    req.on("error", reject)
    req.end(body ? JSON.stringify(body) : undefined)
  })

const median = (xs: Array<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

async function main() {
  const dir = `/tmp/ndp-bench-${process.pid}`
  execFileSync("bash", [path.join(root, "test/support/sandbox.sh"), "start", dir, "--no-registry"], { stdio: ["ignore", "ignore", "inherit"] })
  const socketPath = `${dir}/podman.sock`
  try {
    const rt = ManagedRuntime.make(
      driverLayer.pipe(
        Layer.provideMerge(
          Layer.mergeAll(ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: `unix://${socketPath}` }), LogSinks.layerMemory)
        )
      )
    )
    const spec = Effect.runSync(decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/true" }))

    const driverLifecycle = async (i: number) => {
      const task = makeNomadTask({ name: `bench${i}` })
      await rt.runPromise(Driver.use((d) =>
        Effect.gen(function*() {
          yield* d.startTask(task, spec)
          yield* d.waitTask(task.id)
          yield* d.destroyTask(task.id, true)
        })
      ))
    }
    const rawLifecycle = async (i: number) => {
      const created = await raw(socketPath, "POST", "/containers/create", {
        name: `raw${i}-${process.pid}`,
        image: "localhost/busybox:latest",
        command: ["/bin/true"],
        netns: { nsmode: "bridge" }
      })
      const id = JSON.parse(created.text).Id as string
      await raw(socketPath, "POST", `/containers/${id}/start`)
      await raw(socketPath, "POST", `/containers/${id}/wait?condition=stopped&condition=exited&interval=10ms`)
      await raw(socketPath, "GET", `/containers/${id}/json`)
      await raw(socketPath, "DELETE", `/containers/${id}?force=true&timeout=0`)
    }

    // warm-up (image cache, network setup)
    await rawLifecycle(-1)
    await driverLifecycle(-1)

    const d: Array<number> = []
    const r: Array<number> = []
    for (let i = 0; i < runs; i++) {
      // interleave to share machine noise fairly
      r.push(await time(() => rawLifecycle(i)))
      d.push(await time(() => driverLifecycle(i)))
    }

    // exec
    const task = makeNomadTask({ name: "benchexec" })
    await rt.runPromise(Driver.use((dr) => decodeTaskConfig({ image: "localhost/busybox:latest", command: "/bin/sleep", args: ["300"], init: true }).pipe(Effect.flatMap((c) => dr.startTask(task, c)))))
    const info = await rt.runPromise(Driver.use((dr) => dr.inspectTask(task.id)))
    const de: Array<number> = []
    const re: Array<number> = []
    for (let i = 0; i < runs; i++) {
      re.push(await time(async () => {
        const c = await raw(socketPath, "POST", `/containers/${info.containerId}/exec`, { Cmd: ["/bin/true"], AttachStdout: true, AttachStderr: true })
        const eid = JSON.parse(c.text).Id as string
        await raw(socketPath, "POST", `/exec/${eid}/start`, { Detach: false, Tty: false })
        await raw(socketPath, "GET", `/exec/${eid}/json`)
      }))
      de.push(await time(() => rt.runPromise(Driver.use((dr) => dr.execTask(task.id, ["/bin/true"], 10_000)))))
    }
    await rt.runPromise(Driver.use((dr) => dr.destroyTask(task.id, true)))
    await rt.dispose()

    const mem = process.memoryUsage()
    const results = {
      date: new Date().toISOString(),
      runs,
      lifecycle: { rawMedianMs: median(r), driverMedianMs: median(d), ratio: median(d) / median(r) },
      exec: { rawMedianMs: median(re), driverMedianMs: median(de), ratio: median(de) / median(re) },
      memory: { rssMiB: mem.rss / 2 ** 20, heapUsedMiB: mem.heapUsed / 2 ** 20 }
    }
    mkdirSync(path.join(root, "bench/results"), { recursive: true })
    writeFileSync(path.join(root, "bench/results/latest.json"), JSON.stringify(results, null, 2) + "\n")
    const f = (n: number) => n.toFixed(1)
    console.log(`| benchmark (median of ${runs}) | raw Podman REST | driver | ratio |`)
    console.log(`|---|---|---|---|`)
    console.log(`| start → exit → destroy (/bin/true) | ${f(results.lifecycle.rawMedianMs)} ms | ${f(results.lifecycle.driverMedianMs)} ms | ${results.lifecycle.ratio.toFixed(2)} |`)
    console.log(`| exec /bin/true | ${f(results.exec.rawMedianMs)} ms | ${f(results.exec.driverMedianMs)} ms | ${results.exec.ratio.toFixed(2)} |`)
    console.log(`driver process after the runs: RSS ${f(results.memory.rssMiB)} MiB, heap ${f(results.memory.heapUsedMiB)} MiB`)
  } finally {
    execFileSync("bash", [path.join(root, "test/support/sandbox.sh"), "stop", dir], { stdio: "inherit" })
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
