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
 * What: `/bin/sh -c 'while [ -p "$1" ]; do sleep 60; done' nomad-driver-podman-log-keeper <fifo>`,
 * started detached (its own session and process group, so no signal meant for the plugin reaches
 * it), with the FIFOs as fds 3 (and 4) and optionally the log file as the next fd. It reads and
 * writes nothing. The loop ends it by itself once the FIFO is gone (Nomad removed the allocation
 * directory), so a keeper whose DestroyTask never came does not live forever. Measured: dash plus
 * its sleeping `sleep`, about 0.4 MB of proportional memory (PSS) per task; a Node process would
 * take some 40 MB.
 *
 * The FIFOs are opened O_RDWR for it: that open never blocks or fails for want of a reader (Linux),
 * and it keeps the pipe (and what is buffered in it) alive while logmon restarts: the plugin's
 * writes then wait for the new reader instead of failing, and nothing written meanwhile is lost.
 *
 * Identity: pid plus the start time from `/proc/<pid>/stat` (a pid alone may be reused), and fd 3
 * must still be the task's FIFO. Only a verified keeper is ever signalled.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { Effect } from "effect"
import type { LogKeeperId } from "../../src/domain/DriverState.ts"

/** The keeper's `$0`: how it shows in `ps`. */
export const KEEPER_TAG = "nomad-driver-podman-log-keeper"

const SCRIPT = 'while [ -p "$1" ]; do sleep 60; done'

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

const closeQuietly = (fd: number) => {
  try {
    fs.closeSync(fd)
  } catch {
    // already closed
  }
}

/** Opens the paths that are FIFOs read-write (never blocks); other paths are skipped. */
const openFifos = (paths: ReadonlyArray<string>): Array<{ readonly path: string; readonly fd: number }> => {
  const out: Array<{ path: string; fd: number }> = []
  for (const path of paths) {
    let fd: number | undefined
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
      if (fs.fstatSync(fd).isFIFO()) out.push({ path, fd })
      else closeQuietly(fd)
    } catch {
      if (fd !== undefined) closeQuietly(fd)
    }
  }
  return out
}

export interface Keeper {
  readonly id: LogKeeperId
  /** The FIFO paths it holds, in fd order from 3. */
  readonly fifos: ReadonlyArray<string>
  /** Whether it also holds a log file (the fd after the FIFOs). */
  readonly holdsFile: boolean
}

/**
 * Starts a keeper holding those of `paths` that are FIFOs, and `fileFd` (an fd of this process)
 * when given. Undefined (with the reason) when there is nothing to hold or it cannot start.
 */
export const startKeeper = (paths: ReadonlyArray<string>, fileFd?: number): Effect.Effect<Keeper | string> =>
  Effect.sync(() => {
    const fifos = openFifos(paths)
    if (fifos.length === 0) return "no FIFO to hold"
    const fds = fifos.map((f) => f.fd)
    try {
      const child = spawn("/bin/sh", ["-c", SCRIPT, KEEPER_TAG, fifos[0]!.path], {
        detached: true,
        stdio: ["ignore", "ignore", "ignore", ...fds, ...(fileFd !== undefined ? [fileFd] : [])],
        cwd: "/"
      })
      child.on("error", () => {})
      const pid = child.pid
      if (pid === undefined) return "the keeper process did not start"
      child.unref()
      children.set(pid, child)
      child.once("exit", () => children.delete(pid))
      const stat = statOf(pid)
      if (stat === undefined) return "the keeper process ended at once"
      return { id: { pid, startTime: stat.startTime }, fifos: fifos.map((f) => f.path), holdsFile: fileFd !== undefined } satisfies Keeper
    } catch (e) {
      return `the keeper process did not start: ${e instanceof Error ? e.message : String(e)}`
    } finally {
      // the child has its own copies now
      for (const fd of fds) closeQuietly(fd)
    }
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
    try {
      process.kill(-k.id.pid, "SIGKILL")
    } catch {
      try {
        process.kill(k.id.pid, "SIGKILL")
      } catch {
        // gone meanwhile
      }
    }
  })
