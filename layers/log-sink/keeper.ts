/**
 * The log keeper: a tiny process per task that holds the task's log FIFOs open (and the Podman log
 * file being read) from StartTask to DestroyTask, outliving the plugin.
 *
 * Why: Nomad's logmon copies each FIFO until EOF and does not reopen it until the task restarts
 * (docs/protocol.md, "Logs"). EOF comes when the last writer closes. If the plugin were the only
 * writer, a plugin crash would end the task's logs in Nomad for good, even after RecoverTask. The
 * keeper is a second holder that a plugin crash does not touch; the plugin closes its own fds and
 * ends the keeper at DestroyTask, after the last lines, and logmon sees EOF then.
 *
 * What: a shell process in a process group of its own (so no signal meant for the plugin's group
 * reaches it, and ending the group ends all of it). It opens the FIFOs as fds 3 (and 4) and the log
 * file (a `/proc/<plugin>/fd/<n>` path: the very file the plugin has open, even if renamed since) as
 * the next fd, answers `<request> <pid>` (or `<request> -` when an open failed) on its stdout, lets
 * go of stdout, and then reads and writes nothing. Its loop ends it by itself once the FIFO is gone
 * (Nomad removed the allocation directory), so a keeper whose DestroyTask never came does not live
 * forever.
 *
 * Who starts it: the launcher, one small bash per plugin process (started at the first keeper,
 * ended by the end of its stdin when the plugin exits), which forks a keeper for each request line
 * and reaps it when it ends. A keeper is thus one fork of a small process and no program started:
 * in `ps` it shows as a child of the launcher, with the launcher's command line
 * (`bash -c ... nomad-driver-podman-keeper-launcher`). Without bash, the launcher is a POSIX sh and
 * each keeper `setsid /bin/sh -c KEEPER nomad-driver-podman-log-keeper <fifo> [<fifo>] [<file>]
 * <request>` waiting in `sleep`: four programs started instead of none. Process creation is what a
 * keeper costs: measured on a 2-core VM (`npx tsx bench/keeper.ts`), the machine's CPU per keeper
 * start was 23 ms with `setsid`, sh and `sleep`, and is 8.5 ms as a fork; about 270 KiB of
 * proportional memory (PSS) per task, where a Node process would take some 40 MB.
 *
 * Starting a process from Node forks the whole plugin (some 90 MiB mapped): ~5 ms in which the event
 * loop stands still, twice per task (the FIFOs at StartTask, the log file when it is first read), in
 * the middle of concurrent StartTasks. Asking the launcher costs the plugin one pipe write. Paths the
 * request line cannot carry (a newline or the separator in them), or no launcher, start the keeper
 * from Node directly (the sh keeper).
 *
 * The FIFOs are opened O_RDWR (`<>`): that open never blocks or fails for want of a reader (Linux),
 * and it keeps the pipe (and what is buffered in it) alive while logmon restarts: the plugin's
 * writes then wait for the new reader instead of failing, and nothing written meanwhile is lost.
 *
 * Identity: pid plus the start time from `/proc/<pid>/stat` (a pid alone may be reused), and fd 3
 * must still be the task's FIFO. Only a verified keeper is ever signalled.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import type { Socket } from "node:net"
import { Effect } from "effect"
import type { LogKeeperId } from "../../src/domain/DriverState.ts"

/** The keeper's `$0`: how it shows in `ps`. */
export const KEEPER_TAG = "nomad-driver-podman-log-keeper"
/** The launcher's `$0`. */
export const LAUNCHER_TAG = "nomad-driver-podman-keeper-launcher"

/**
 * The keeper's script: $1 [$2] FIFOs, $3 the file or "", $4 the request; fds 3.. in that order.
 * `self` is how the script names its own pid, `idle` how it waits a minute.
 */
const keeperScript = (self: string, idle: string) =>
  [
    'command exec 3<>"$1" || { echo "$4 -"; exit 1; }',
    "n=4",
    'if [ -n "$2" ]; then command exec 4<>"$2" || { echo "$4 -"; exit 1; }; n=5; fi',
    'if [ -n "$3" ]; then if [ $n = 4 ]; then command exec 4<"$3"; else command exec 5<"$3"; fi || { echo "$4 -"; exit 1; }; fi',
    `echo "$4 ${self}"`,
    "exec >/dev/null",
    `while [ -p "$1" ]; do ${idle}; done`
  ].join("\n")

/** A keeper on its own: a shell of its own, waiting in `sleep`. */
const KEEPER = keeperScript("$$", "sleep 60")

/** Request lines: fifo, fifo or "", file or "", request id, separated by US (0x1f). */
const SEP = "\x1f"

/**
 * The launcher in bash: each keeper is a fork of it (a background function, put in a process group
 * of its own by job control, `set -m`), with no program started: no `setsid`, no shell, no `sleep`.
 * It waits in `read -t 60` on fd 9, a FIFO that the launcher opened read-write and unlinked at once:
 * nobody can write to it and it never reaches EOF (every holder is a writer), so the read returns
 * only at its timeout. Should that fd not be there, the read fails at once and `sleep` waits instead.
 */
const BASH_LAUNCHER = [
  "d=$(mktemp -d) && mkfifo \"$d/idle\" && exec 9<>\"$d/idle\"",
  '[ -n "$d" ] && rm -rf "$d"',
  `keeper() {\n${keeperScript("$BASHPID", 'read -t 60 -u 9; [ $? -gt 128 ] || sleep 60')}\n}`,
  "set -m",
  "while IFS=$'\\037' read -r a b c d rest; do",
  '  keeper "$a" "$b" "$c" "$d" </dev/null 2>/dev/null &',
  "done"
].join("\n")

/**
 * The launcher in a POSIX sh (no bash on the machine): each keeper is `$1` in a shell of its own,
 * in its own session through `setsid` (without it the keeper would share the launcher's process
 * group, and ending it would leave its `sleep` holding the FIFO for up to a minute).
 */
const SH_LAUNCHER = [
  "S=",
  "command -v setsid >/dev/null 2>&1 && S=setsid",
  "US=$(printf '\\037')",
  'while IFS=$US read -r a b c d rest; do',
  `  $S /bin/sh -c "$1" ${KEEPER_TAG} "$a" "$b" "$c" "$d" </dev/null 2>/dev/null &`,
  "done"
].join("\n")

/** How long a keeper may take to answer before it counts as not started (it is ended if it answers later). */
const ANSWER_MILLIS = 10_000

/** Children started by this process, so that their exit is reaped (and `kill` has the handle). */
const children = new Map<number, ChildProcess>()

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and the state (field 3). */
const statOf = (pid: number): { readonly startTime: string; readonly state: string } | undefined => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    // the command name (field 2) is in parentheses and may contain spaces: split after it
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    const state = fields[0]
    const startTime = fields[19]
    return state !== undefined && startTime !== undefined ? { startTime, state } : undefined
  } catch {
    return undefined
  }
}

const linkOf = (path: string): string | undefined => {
  try {
    return fs.readlinkSync(path).replace(/ \(deleted\)$/, "")
  } catch {
    return undefined
  }
}

const isFifo = (path: string): boolean => {
  try {
    return fs.statSync(path).isFIFO()
  } catch {
    return false
  }
}

export interface Keeper {
  readonly id: LogKeeperId
  /** The FIFO paths it holds, in fd order from 3. */
  readonly fifos: ReadonlyArray<string>
  /** Whether it also holds a log file (the fd after the FIFOs). */
  readonly holdsFile: boolean
}

/**
 * What became of one request: the keeper's pid; "failed" (it could not open what it was given, or
 * did not answer in time); "ended" (the process carrying the answers ended first: worth a retry).
 */
type Outcome = number | "failed" | "ended"

/**
 * A process whose stdout carries keepers' answers (`<request> <pid>` or `<request> -`, one per
 * line): the launcher, or a keeper started directly. Requests not answered when it ends come out
 * "ended".
 */
class Answers {
  private readonly waiting = new Map<string, (outcome: Outcome) => void>()
  private buffered = ""
  /** The child's stdout: a pipe, referenced (keeps this process alive) only while answers are awaited. */
  private readonly out: Socket
  ended = false

  constructor(child: ChildProcess) {
    this.out = child.stdout as Socket
    this.out.setEncoding("latin1")
    this.out.on("data", (chunk: string) => {
      const lines = (this.buffered + chunk).split("\n")
      this.buffered = lines.pop()!
      for (const line of lines) {
        const [request, pid] = line.split(" ")
        const answer = this.waiting.get(request!)
        if (answer === undefined) {
          // answered after its requester gave up: not wanted any more
          if (pid !== undefined && /^\d+$/.test(pid)) killGroup(Number(pid))
          continue
        }
        this.forget(request!)
        answer(pid !== undefined && /^\d+$/.test(pid) ? Number(pid) : "failed")
      }
    })
    this.out.on("error", () => {})
    child.on("error", () => this.end())
    child.once("exit", () => this.end())
    this.out.unref()
  }

  /** Waits for the answer to `request`, sent by `send`. */
  await(request: string, send: () => void): Effect.Effect<Outcome> {
    return Effect.callback<Outcome>((resume) => {
      if (this.ended) return resume(Effect.succeed("ended"))
      this.waiting.set(request, (pid) => resume(Effect.succeed(pid)))
      // an answer pending keeps the process alive (a CLI run could end meanwhile otherwise)
      this.out.ref()
      send()
      return Effect.sync(() => this.forget(request))
    }).pipe(Effect.timeoutOrElse({ duration: ANSWER_MILLIS, orElse: () => Effect.succeed("failed" as const) }))
  }

  private forget(request: string) {
    this.waiting.delete(request)
    if (this.waiting.size === 0) this.out.unref()
  }

  private end() {
    if (this.ended) return
    this.ended = true
    for (const [request, answer] of this.waiting) {
      this.forget(request)
      answer("ended")
    }
  }
}

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone meanwhile
    }
  }
}

const track = (child: ChildProcess): ChildProcess => {
  child.on("error", () => {})
  const pid = child.pid
  if (pid !== undefined) {
    children.set(pid, child)
    child.once("exit", () => children.delete(pid))
  }
  child.unref()
  return child
}

/** The launcher of this process, started at the first keeper and again if it ended. */
let launcher: { readonly answers: Answers; readonly write: (line: string) => void } | undefined

/**
 * The launcher: the bash one where there is bash (a keeper is a fork, and bash reaps a keeper the
 * moment it ends, where dash reaps only at its next fork: a keeper ended at DestroyTask would stay a
 * zombie until the next keeper starts), else the sh one.
 */
const launcherArgs = (): readonly [string, ReadonlyArray<string>] =>
  fs.existsSync("/bin/bash")
    ? ["/bin/bash", ["-c", BASH_LAUNCHER, LAUNCHER_TAG]]
    : ["/bin/sh", ["-c", SH_LAUNCHER, LAUNCHER_TAG, KEEPER]]

/** What keepers and the launcher need of the environment: the PATH (sleep, setsid), nothing else. */
const keeperEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" })

const launcherNow = (): typeof launcher => {
  if (launcher !== undefined && !launcher.answers.ended) return launcher
  try {
    const [shell, args] = launcherArgs()
    const child = track(spawn(shell, args, {
      stdio: ["pipe", "pipe", "ignore"],
      cwd: "/",
      env: keeperEnv()
    }))
    if (child.pid === undefined) return undefined
    const stdin = child.stdin!
    stdin.on("error", () => {})
    ;(stdin as Socket).unref()
    const answers = new Answers(child)
    launcher = { answers, write: (line) => stdin.write(line) }
    return launcher
  } catch {
    return undefined
  }
}

let requests = 0

/** Starts the keeper script for `args` ($1..$3) from Node directly: forks this process. */
const launchDirectly = (args: readonly [string, string, string], request: string): Effect.Effect<Outcome> =>
  Effect.suspend(() => {
    try {
      const child = track(spawn("/bin/sh", ["-c", KEEPER, KEEPER_TAG, ...args, request], {
        detached: true,
        stdio: ["ignore", "pipe", "ignore"],
        cwd: "/",
        env: keeperEnv()
      }))
      return child.pid === undefined ? Effect.succeed("failed" as const) : new Answers(child).await(request, () => {})
    } catch {
      return Effect.succeed("failed" as const)
    }
  })

/**
 * Starts the keeper script for `args` ($1..$3) and waits for its answer: through the launcher (a
 * second one if the first ended before answering: it may have died unnoticed yet), else directly.
 */
const launch = (args: readonly [string, string, string]): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    const request = String(++requests)
    const carried = args.every((a) => !a.includes("\n") && !a.includes(SEP))
    let outcome: Outcome = "ended"
    for (let attempt = 0; carried && attempt < 2 && outcome === "ended"; attempt++) {
      const via = launcherNow()
      if (via === undefined) break
      outcome = yield* via.answers.await(request, () => via.write([...args, request].join(SEP) + "\n"))
    }
    if (outcome === "ended") outcome = yield* launchDirectly(args, request)
    return typeof outcome === "number" ? outcome : undefined
  })

/**
 * Starts a keeper holding those of `paths` that are FIFOs, and `fileFd` (an fd of this process, kept
 * open until this completes) when given. The reason instead when there is nothing to hold or it
 * cannot start.
 */
export const startKeeper = (paths: ReadonlyArray<string>, fileFd?: number): Effect.Effect<Keeper | string> =>
  Effect.gen(function*() {
    const fifos = paths.filter(isFifo).slice(0, 2)
    if (fifos.length === 0) return "no FIFO to hold"
    const file = fileFd !== undefined ? `/proc/${process.pid}/fd/${fileFd}` : ""
    const pid = yield* launch([fifos[0]!, fifos[1] ?? "", file])
    if (pid === undefined) return "the keeper process did not start (or could not open the FIFOs)"
    const stat = statOf(pid)
    if (stat === undefined || stat.state === "Z") return "the keeper process ended at once"
    return { id: { pid, startTime: stat.startTime }, fifos, holdsFile: fileFd !== undefined } satisfies Keeper
  })

/**
 * The keeper with this identity if it is alive and still holds `fifos[0]` as fd 3: a keeper started
 * by an earlier plugin instance, found again at RecoverTask.
 */
export const findKeeper = (id: LogKeeperId, paths: ReadonlyArray<string>): Effect.Effect<Keeper | undefined> =>
  Effect.sync(() => {
    const stat = statOf(id.pid)
    if (stat === undefined || stat.startTime !== id.startTime || stat.state === "Z") return undefined
    const fifos: Array<string> = []
    for (let fd = 3; fd < 3 + paths.length; fd++) {
      const link = linkOf(`/proc/${id.pid}/fd/${fd}`)
      if (link === undefined || !paths.includes(link)) break
      fifos.push(link)
    }
    if (fifos.length === 0) return undefined
    const holdsFile = linkOf(`/proc/${id.pid}/fd/${3 + fifos.length}`) !== undefined
    return { id, fifos, holdsFile } satisfies Keeper
  })

/** A path that opens the log file the keeper holds (through /proc), if it holds one. */
export const heldFilePath = (k: Keeper): string | undefined =>
  k.holdsFile ? `/proc/${k.id.pid}/fd/${3 + k.fifos.length}` : undefined

/** Ends the keeper (its whole process group) if it is still the process it was. */
export const stopKeeper = (k: Keeper): Effect.Effect<void> =>
  Effect.sync(() => {
    const stat = statOf(k.id.pid)
    if (stat === undefined || stat.startTime !== k.id.startTime) return
    killGroup(k.id.pid)
  })
