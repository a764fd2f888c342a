/**
 * `expect.poll` for Effect tests: re-runs a check (an Effect whose assertions throw or fail) until
 * it passes, and fails with its last error when the timeout is reached. A readiness wait on an
 * observable condition, never a fixed sleep.
 *
 * It waits on the Clock: use it in `it.live` or in a `layer(..., { excludeTestServices: true })`
 * block; under `it.effect`'s TestClock it would wait for a `TestClock.adjust`.
 */
import { type Duration, Effect, Schedule } from "effect"

export interface EventuallyOptions {
  /** Give up after this long (default 10 s). */
  readonly timeout?: Duration.Input
  /** Between two runs of the check (default 20 ms). */
  readonly interval?: Duration.Input
}

export const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, options: EventuallyOptions = {}): Effect.Effect<A, E, R> =>
  check.pipe(
    // failed assertions are defects: sandbox them so that they are retried too
    Effect.sandbox,
    Effect.retry(Schedule.spaced(options.interval ?? "20 millis").pipe(Schedule.upTo({ duration: options.timeout ?? "10 seconds" }))),
    Effect.catch((cause) => Effect.failCause(cause))
  )
