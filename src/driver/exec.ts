/**
 * Running commands inside a task's container: `execTask` (Nomad's script checks: output captured,
 * bounded) and `execStreaming` (`nomad alloc exec`: stdin, terminal resizes, output as it comes).
 */
import { Duration, Effect, Option, Stream } from "effect"
import { PodmanError, Timeout } from "../domain/errors.ts"
import type { ExecResult } from "../domain/results.ts"
import type { ExecInput, ExecOutput } from "../services/Driver.ts"
import type { TaskRegistry } from "./registry.ts"

/** Delay after which the last terminal size of an exec is applied again (see execStreaming). */
const RESIZE_SETTLE = Duration.millis(250)

/** Exec output kept per stream by ExecTask (script checks need only the tail). */
const EXEC_CAPTURE_LIMIT = 1 << 20

export const makeExec = (registry: TaskRegistry) => {
  const execTask = Effect.fn("Driver.execTask")(function*(taskId: string, command: ReadonlyArray<string>, timeout?: Duration.Input) {
    const t = yield* registry.lookup(taskId)
    const run = Effect.scoped(
      Effect.gen(function*() {
        const session = yield* t.client.exec(t.containerId, { command, tty: false, stdin: false })
        const captured = { stdout: [] as Array<Uint8Array>, stderr: [] as Array<Uint8Array>, sizes: { stdout: 0, stderr: 0 } }
        yield* session.output.pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              if (captured.sizes[chunk.stream] >= EXEC_CAPTURE_LIMIT) return
              captured[chunk.stream].push(chunk.data)
              captured.sizes[chunk.stream] += chunk.data.length
            })
          )
        )
        const exitCode = yield* session.exitCode
        return { stdout: Buffer.concat(captured.stdout), stderr: Buffer.concat(captured.stderr), exitCode } satisfies ExecResult
      })
    )
    const limit = timeout === undefined ? undefined : Duration.fromInputUnsafe(timeout)
    if (limit === undefined || Duration.isZero(limit)) return yield* run
    return yield* run.pipe(
      Effect.timeoutOrElse({
        duration: limit,
        orElse: () =>
          Effect.fail(new PodmanError({ operation: `exec in task ${taskId}`, socket: t.client.address, reason: new Timeout({ millis: Duration.toMillis(limit) }) }))
      })
    )
  })

  const execStreaming = (
    taskId: string,
    options: { readonly command: ReadonlyArray<string>; readonly tty: boolean },
    input: Stream.Stream<ExecInput>
  ) =>
    Stream.unwrap(
      Effect.gen(function*() {
        const t = yield* registry.lookup(taskId)
        const session = yield* t.client.exec(t.containerId, { command: options.command, tty: options.tty, stdin: true })
        // Podman applies a resize that arrives while the exec process is still starting only once
        // it runs, i.e. possibly after a later one: the last requested size is applied again a
        // moment later, so the terminal ends up with the size the user has now.
        let latest = Option.none<{ readonly height: number; readonly width: number }>()
        const resize = (size: { readonly height: number; readonly width: number }) =>
          Effect.gen(function*() {
            const mine = Option.some(size)
            latest = mine
            yield* session.resize(size).pipe(Effect.catch((e) => Effect.logDebug(`exec resize failed: ${e.message}`)))
            yield* Effect.sleep(RESIZE_SETTLE).pipe(
              Effect.andThen(Effect.suspend(() => (latest === mine ? session.resize(size).pipe(Effect.ignore) : Effect.void))),
              Effect.forkScoped
            )
          })
        yield* input.pipe(
          Stream.runForEach((msg) =>
            msg._tag === "Stdin"
              ? session.write(msg.data)
              : msg._tag === "StdinClose"
              ? session.closeStdin
              : resize({ height: msg.height, width: msg.width })
          ),
          Effect.catch((e) => Effect.logDebug(`exec input ended: ${e.message}`)),
          Effect.forkScoped
        )
        const output = session.output.pipe(
          Stream.map((c): ExecOutput => (c.stream === "stdout" ? { _tag: "Stdout", data: c.data } : { _tag: "Stderr", data: c.data }))
        )
        return Stream.concat(output, Stream.fromEffect(session.exitCode.pipe(Effect.map((exitCode): ExecOutput => ({ _tag: "Exited", exitCode })))))
      })
    )

  return { execTask, execStreaming }
}
