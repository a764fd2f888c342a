/**
 * Randomized task lifecycles, as Nomad drives them: StartTask (retried like Nomad's restarts when
 * the failure is recoverable), a WaitTask kept open from the start, a few of InspectTask,
 * TaskStats, SignalTask and ExecTask, then an ending (the task exits by itself; StopTask with
 * SIGTERM/SIGINT/SIGKILL and a 0–2 s timeout; a forced DestroyTask of the running task), and
 * DestroyTask. Each task's behaviour (exit code, traps, ignored signals, an init process) fixes the
 * exit codes WaitTask may answer; anything else is a wrong exit code.
 */
import * as grpc from "@grpc/grpc-js"

/** A small seeded PRNG (mulberry32): every lifecycle's choices follow from the seed and its index. */
export const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(next() * xs.length)]!
  }
}
export type Prng = ReturnType<typeof prng>

export type Kind = "exit" | "trap" | "ignore" | "init"
export type StopSignal = "SIGTERM" | "SIGINT" | "SIGKILL"

/** What the task does, and so which exit codes are right. */
export interface Behaviour {
  readonly kind: Kind
  /** exit: the code it exits with by itself, after `delaySeconds`. */
  readonly code: number
  readonly delaySeconds: number
  /** trap: the codes its SIGTERM and SIGINT traps exit with. */
  readonly termCode: number
  readonly intCode: number
}

export const randomBehaviour = (r: Prng): Behaviour => ({
  kind: r.pick(["exit", "exit", "trap", "ignore", "init"] as const),
  code: r.int(0, 255),
  delaySeconds: r.pick([0, 0.5, 1, 2, 3]),
  termCode: r.int(1, 125),
  intCode: r.int(1, 125)
})

/** The task config of a behaviour (busybox `sh` as PID 1, or under catatonit for `init`). */
export const behaviourConfig = (b: Behaviour): Record<string, unknown> => {
  const loop = "echo ready; while :; do sleep 0.1; done"
  const script = b.kind === "exit"
    ? `sleep ${b.delaySeconds}; exit ${b.code}`
    : b.kind === "trap"
    ? `trap 'exit ${b.termCode}' TERM; trap 'exit ${b.intCode}' INT; trap 'echo usr1' USR1; ${loop}`
    : b.kind === "ignore"
    ? `trap '' TERM INT; trap 'echo usr1' USR1; ${loop}`
    : loop
  return {
    image: "localhost/busybox:latest",
    command: "/bin/sh",
    args: ["-c", script],
    ...(b.kind === "init" ? { init: true } : {})
  }
}

/**
 * The exit codes WaitTask may answer after a stop with `signal` (undefined: no stop, the task ends
 * by itself or is killed by DestroyTask). A PID 1 shell ignores signals it has no trap for, so the
 * stop escalates to SIGKILL (137); a trap installed a moment after the signal arrives loses the
 * race the same way. Under catatonit the shell dies of the signal (128 + n).
 */
export const allowedExitCodes = (b: Behaviour, signal: StopSignal | "destroy" | undefined, usr1: boolean): ReadonlySet<number> => {
  const out = new Set<number>()
  // catatonit forwards SIGUSR1 to the shell, which dies of it (138), unless a stop reaches
  // catatonit first: SignalTask's answer does not wait for the death, so the stop's codes below
  if (b.kind === "init" && usr1) out.add(138)
  if (b.kind === "exit") out.add(b.code)
  if (signal === undefined) return out
  out.add(137)
  if (signal === "SIGTERM") {
    if (b.kind === "trap") out.add(b.termCode)
    if (b.kind === "init") out.add(143)
  }
  if (signal === "SIGINT") {
    if (b.kind === "trap") out.add(b.intCode)
    if (b.kind === "init") out.add(130)
    // busybox sh as PID 1, waiting for its foreground `sleep`, dies of SIGINT (raw `podman kill -s
    // INT` of `sh -c 'sleep 3; exit 0'` gives 130 too)
    if (b.kind === "exit") out.add(130)
  }
  return out
}

/** RPC failures that mean "the plugin went away": retried once it is back (and has recovered). */
export const pluginGone = (code: grpc.status): boolean =>
  code === grpc.status.UNAVAILABLE || code === grpc.status.CANCELLED

/** Failures Nomad retries (a Podman outage: FAILED_PRECONDITION with a recoverable detail, or a timeout). */
export const podmanOutage = (code: grpc.status, details: string): boolean =>
  (code === grpc.status.FAILED_PRECONDITION && /podman is unavailable|ECONN|EPIPE|socket hang up/i.test(details)) ||
  code === grpc.status.DEADLINE_EXCEEDED
