/**
 * What one file operation costs this process in CPU: through Effect's FileSystem (a thread-pool hop
 * and a fiber's suspension per call) beside the synchronous `node:fs` call in `Effect.sync`, for the
 * operations the plugin repeats per task: `stat` of a path and of an open descriptor, reading a
 * missing file (an exit file not written yet), and an existence check. The numbers behind the
 * synchronous metadata lookups of layers/host-files/index.ts and the synchronous reads of conmon's
 * files in layers/conmon/ExitFiles.ts. Files on /tmp; the median of 5 rounds of OPS calls each
 * (default 5000), after a warm-up round.
 *
 *   npx tsx bench/fs.ts          (no Podman needed)
 */
import * as NFS from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, FileSystem } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"

const ops = Number(process.env.OPS ?? 5000)
const dir = NFS.mkdtempSync(path.join(tmpdir(), "ndp-fs-bench-"))
const file = path.join(dir, "file")
const missing = path.join(dir, "missing")
NFS.writeFileSync(file, "x".repeat(1000))

const cpuMillis = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const handle = yield* fs.open(file)
  const fd = NFS.openSync(file, "r")
  yield* Effect.addFinalizer(() => Effect.sync(() => NFS.closeSync(fd)))
  const cases: ReadonlyArray<readonly [string, Effect.Effect<unknown>, Effect.Effect<unknown>]> = [
    ["stat of a path", Effect.ignore(fs.stat(file)), Effect.sync(() => NFS.statSync(file, { bigint: true }))],
    ["stat of an open file", Effect.ignore(handle.stat), Effect.sync(() => NFS.fstatSync(fd, { bigint: true }))],
    ["read a missing file", Effect.ignore(fs.readFileString(missing)), Effect.ignore(Effect.try(() => NFS.readFileSync(missing, "latin1")))],
    ["exists (missing)", Effect.ignore(fs.exists(missing)), Effect.sync(() => NFS.existsSync(missing))]
  ]
  const rows: Array<string> = []
  for (const [name, viaEffect, sync] of cases) {
    const perOp = (op: Effect.Effect<unknown>) =>
      Effect.gen(function*() {
        const rounds: Array<number> = []
        for (let r = 0; r < 6; r++) {
          const c0 = cpuMillis()
          for (let i = 0; i < ops; i++) yield* op
          if (r > 0) rounds.push((cpuMillis() - c0) * 1000 / ops)
        }
        return median(rounds)
      })
    const a = yield* perOp(viaEffect)
    const b = yield* perOp(sync)
    rows.push(`| ${name} | ${a.toFixed(1)} µs | ${b.toFixed(1)} µs |`)
  }
  console.log("| operation | Effect FileSystem | node:fs sync |\n|---|---|---|\n" + rows.join("\n"))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))).finally(() => NFS.rmSync(dir, { recursive: true, force: true }))
