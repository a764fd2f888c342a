/**
 * Embedding the driver in a plain Node program with only the public API: run one container,
 * stream its logs to this terminal, wait for it and print how it ended.
 *
 *   PODMAN_SOCKET=unix:///run/podman/podman.sock tsx examples/embed.ts [image]
 */
import { Effect } from "effect"
import { decodeTaskConfig, defaultPluginConfig, Driver, embeddedLayer, LogSinks, makeNomadTask } from "../src/index.ts"

const socket = process.env.PODMAN_SOCKET ?? "unix:///run/podman/podman.sock"
const image = process.argv[2] ?? "localhost/busybox:latest"

const program = Effect.gen(function*() {
  const driver = yield* Driver
  const task = makeNomadTask({ name: "embedded", env: { GREETING: "hello from an embedded driver" } })
  // The config is typed: a misspelt option does not compile, a bad value fails here, before any Podman call.
  const config = yield* decodeTaskConfig({ image, command: "/bin/sh", args: ["-c", "echo $GREETING; echo to-stderr >&2; exit 7"] })
  const started = yield* driver.startTask(task, config)
  const result = yield* driver.waitTask(started.state.taskId)
  yield* driver.destroyTask(started.state.taskId, true)
  return result
})

const layer = embeddedLayer({ ...defaultPluginConfig, socket_path: socket }, LogSinks.layerConsole)

Effect.runPromise(program.pipe(Effect.provide(layer))).then(
  (result) => {
    console.log(`exit code ${result.exitCode}${result.signal ? `, signal ${result.signal}` : ""}${result.oomKilled ? ", OOM killed" : ""}`)
    process.exitCode = result.exitCode
  },
  (error) => {
    console.error(`failed: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 2
  }
)
