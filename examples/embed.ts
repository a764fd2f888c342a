/**
 * Embedding the driver in a plain Node program with only the public API: run one container,
 * stream its logs to this terminal, wait for it and print how it ended.
 *
 *   PODMAN_SOCKET=unix:///run/podman/podman.sock tsx examples/embed.ts [image]
 */
import { Effect } from "effect"
import { decodeTaskConfig, defaultPluginConfig, Driver, embeddedLayer, failOnOom, LogSinks, makeNomadTask } from "../src/index.ts"

const socket = process.env.PODMAN_SOCKET ?? "unix:///run/podman/podman.sock"
const image = process.argv[2] ?? "localhost/busybox:latest"

const program = Effect.gen(function*() {
  const driver = yield* Driver
  const task = makeNomadTask({ name: "embedded", env: { GREETING: "hello from an embedded driver" } })
  // The config is typed: a misspelt option does not compile, a bad value fails here, before any Podman call.
  const config = yield* decodeTaskConfig({ image, command: "/bin/sh", args: ["-c", "echo $GREETING; echo to-stderr >&2; exit 7"] })
  const started = yield* driver.startTask(task, config)
  const id = started.state.taskId
  // An OOM kill is an exit status to Nomad; here it is a failure (failOnOom turns it into one).
  // The task is destroyed (its container removed) however the wait ends.
  return yield* driver.waitTask(id).pipe(
    Effect.ensuring(Effect.ignore(driver.destroyTask(id, true))),
    Effect.flatMap(failOnOom(id))
  )
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
