/**
 * The executable's single entry point.
 *
 * - With NOMAD_PLUGIN_MAGIC_COOKIE in the environment, Nomad started us: serve the plugin protocol
 *   (handshake on stdout, hclog JSON on stderr). This process is the one that serves, as go-plugin
 *   requires: it records this PID and kills it.
 * - Otherwise a human ran us: the CLI (validate, plan, run, doctor, version, help).
 *
 * Everything heavy is imported lazily, so `--help` and the handshake start fast.
 */
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from "./plugin.ts"

const PROGRAM = "nomad-driver-podman"

const writeLine = (stream: NodeJS.WriteStream) => (line: string): void => {
  stream.write(`${line}\n`)
}

const main = async (): Promise<number | undefined> => {
  const cookie = process.env[MAGIC_COOKIE_KEY]
  if (cookie !== undefined) {
    if (cookie !== MAGIC_COOKIE_VALUE) {
      process.stderr.write(
        `This binary is a plugin. These are not meant to be executed directly.\n` +
          `Please execute the program that consumes these plugins, which will\n` +
          `load any plugins automatically (${MAGIC_COOKIE_KEY} has the wrong value).\n`
      )
      return 1
    }
    const { servePlugin } = await import("./plugin.ts")
    await servePlugin()
    return undefined
  }
  // A closed terminal (SIGHUP, a dropped ssh session) or a closed pipe (`plan | head`) makes
  // writes fail asynchronously: `run` must still stop and clean up, so such errors are ignored.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "EIO") throw e
    })
  }
  const { runCli } = await import("./commands.ts")
  // Under node/tsx argv is [node, script, ...]; a single executable application gets the same
  // shape ([exe, exe, ...]), so the user's arguments always start at index 2.
  return runCli(process.argv.slice(2), {
    out: writeLine(process.stdout),
    err: writeLine(process.stderr),
    env: process.env,
    program: PROGRAM
  })
}

main().then(
  (code) => {
    // The CLI is done: exit now, even if a library left a handle open. Plugin mode returns
    // undefined and keeps running until Nomad stops it.
    if (code !== undefined) process.exit(code)
  },
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  }
)
