/**
 * The logs-API path (remote sockets, journald: no file to tail) across a restart of the Podman
 * service: the forwarder's log stream breaks, reconnects with backoff and resumes exactly where it
 * stopped. Real Podman, the real FIFO sink (with its keeper), logmon-like readers that copy each
 * FIFO once until EOF: every line arrives exactly once, in order, on each stream.
 *
 * The restart must not disturb the other test files, so this file runs its own private Podman
 * service (test/support/sandbox.sh, `service-stop` and `service-start`). The transport is the REST client with
 * `local` turned off, which is what makes the driver use the logs API instead of the k8s-file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as HostFilesLayers from "../../layers/host-files/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import * as Platform from "../../layers/platform.ts"
import * as PodmanLayers from "../../layers/podman/index.ts"
import { makeRestClient } from "../../layers/podman-rest/index.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import * as DriverCore from "../../src/driver/DriverCore.ts"
import { Driver } from "../../src/services/Driver.ts"
import { cfg } from "../support/driver.ts"
import { allocLayout, killLogmons, logmon, numbered, numberedTask } from "../support/logmon.ts"
import { makeTempDir, removeDir } from "../support/tmp.ts"

const script = path.resolve(import.meta.dirname, "../support/sandbox.sh")
let sandbox = ""
const root = makeTempDir("ndp-logs-api-")

beforeAll(() => {
  // short path: the socket path must stay under 108 bytes
  sandbox = mkdtempSync("/tmp/ndp-api-")
  rmSync(sandbox, { recursive: true })
  execFileSync("bash", [script, "start", sandbox, "--no-registry"], { stdio: ["ignore", "ignore", "inherit"] })
})

afterAll(async () => {
  await killLogmons()
  if (sandbox !== "") execFileSync("bash", [script, "stop", sandbox], { stdio: "inherit" })
  removeDir(root)
})

/** The REST transport, but not `local`: the driver reads logs through the API. */
const remoteRest: PodmanLayers.ClientFactory = (options) =>
  makeRestClient(options).pipe(Effect.map((client) => ({ ...client, local: false })))

const driver = Layer.suspend(() =>
  DriverCore.layer.pipe(
    Layer.provideMerge(PodmanLayers.layer({ rest: remoteRest })),
    Layer.provide(Layer.mergeAll(
      ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: `unix://${sandbox}/podman.sock` }),
      LogSinks.layerFifo,
      HostFilesLayers.layer,
      Platform.layer
    ))
  )
)

describe("logs API path", () => {
  it.live("a Podman service restart mid-way: every line exactly once on each stream, to readers that never reopen", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const allocDir = path.join(root, crypto.randomUUID())
      const fifos = allocLayout(allocDir, "chatty")
      const out = logmon(fifos.stdoutFifo)
      const err = logmon(fifos.stderrFifo)
      const task = makeNomadTask({ name: "chatty", allocDir, stdoutPath: fifos.stdoutFifo, stderrPath: fifos.stderrFifo })
      const n = 150
      yield* d.startTask(task, cfg({ image: "localhost/busybox:latest", command: "/bin/sh", args: ["-c", numberedTask(n, "0.02")], network_mode: "none" }))
      yield* Effect.promise(() => out.waitFor(/out20\n/))
      // the service goes away and comes back while the task keeps printing
      execFileSync("bash", [script, "service-stop", sandbox], { stdio: ["ignore", "ignore", "inherit"] })
      execFileSync("bash", [script, "service-start", sandbox], { stdio: ["ignore", "ignore", "inherit"] })
      const exit = yield* d.waitTask(task.id)
      expect(exit.exitCode).toBe(0)
      yield* d.destroyTask(task.id, false)
      // the keeper is gone and the last lines are written: the readers see EOF now
      yield* Effect.promise(() => Promise.all([out.eof, err.eof]))
      expect(out.text()).toBe(numbered("out", n))
      expect(err.text()).toBe(numbered("err", n))
    }).pipe(Effect.provide(driver)), 120_000)
})
