/**
 * The log keeper (layers/log-sink/keeper.ts) as real processes: what a keeper holds (the FIFOs as
 * fds 3 and 4, the log file after them even once renamed), that it is a fork of the launcher in a
 * process group of its own that waits with no program started (no `sleep`), that one
 * launcher starts them all and a launcher that died is replaced, that a path the launcher's request
 * line cannot carry still gets a keeper, and that stopping a keeper leaves no process holding the
 * FIFO (the reader sees EOF).
 */
import { afterEach, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { findKeeper, heldFilePath, type Keeper, LAUNCHER_TAG, startKeeper, stopKeeper } from "../../layers/log-sink/keeper.ts"
import { tempDirPerTest } from "../support/tmp.ts"

const tempDir = tempDirPerTest("ndp-keeper-")
const started: Array<Keeper> = []
const readers: Array<ChildProcess> = []

afterEach(async () => {
  for (const k of started.splice(0)) await Effect.runPromise(stopKeeper(k))
  for (const r of readers.splice(0)) r.kill("SIGKILL")
})

const fifo = (name: string): string => {
  const p = path.join(tempDir(), name)
  execFileSync("mkfifo", ["-m", "0600", p])
  return p
}

const start = async (paths: ReadonlyArray<string>, fileFd?: number): Promise<Keeper> => {
  const k = await Effect.runPromise(startKeeper(paths, fileFd))
  if (typeof k === "string") throw new Error(k)
  started.push(k)
  return k
}

const link = (pid: number, fd: number) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`)

/** Fields after the command name of /proc/<pid>/stat: [state, ppid, pgrp, session, ...]. */
const statFields = (pid: number): Array<string> | undefined => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    return text.slice(text.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}
const running = (pid: number) => {
  const f = statFields(pid)
  return f !== undefined && f[0] !== "Z"
}

const childrenOf = (pid: number): Array<number> =>
  fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => statFields(p)?.[1] === String(pid))

/** This process's launchers (running children whose $0 is the launcher's tag). */
const launchers = (): Array<number> =>
  fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(LAUNCHER_TAG) &&
        statFields(pid)?.[1] === String(process.pid) && running(pid)
    } catch {
      return false
    }
  })

describe("log keeper (real processes)", () => {
  it("holds both FIFOs as fds 3 and 4 and the log file (renamed since) as fd 5, in its own process group", async () => {
    const out = fifo("out.fifo")
    const err = fifo("err.fifo")
    const log = path.join(tempDir(), "ctr.log")
    fs.writeFileSync(log, "first file\n")
    const fd = fs.openSync(log, "r")
    fs.renameSync(log, `${log}.1`) // as Podman rotates it
    fs.writeFileSync(log, "second file\n")
    const k = await start([out, err], fd)
    fs.closeSync(fd)

    expect(k.fifos).toStrictEqual([out, err])
    expect(link(k.id.pid, 3)).toBe(out)
    expect(link(k.id.pid, 4)).toBe(err)
    expect(fs.readFileSync(heldFilePath(k)!, "utf8")).toBe("first file\n")
    const [, ppid, pgrp] = statFields(k.id.pid)!
    expect(pgrp).toBe(String(k.id.pid))
    // a fork of the launcher (bash here), which reaps it, waiting in a builtin: no `sleep` under it
    expect(launchers()).toContain(Number(ppid))
    await expect.poll(() => statFields(k.id.pid)?.[0]).toBe("S")
    expect(childrenOf(k.id.pid)).toStrictEqual([])
    // found again as RecoverTask finds it
    expect(await Effect.runPromise(findKeeper(k.id, [out, err]))).toStrictEqual({ id: k.id, fifos: [out, err], holdsFile: true })
  })

  it("one FIFO and a file: the file is fd 4; paths that are not FIFOs are not held", async () => {
    const out = fifo("only.fifo")
    const log = path.join(tempDir(), "c.log")
    fs.writeFileSync(log, "x\n")
    const fd = fs.openSync(log, "r")
    const k = await start([out, log], fd)
    fs.closeSync(fd)
    expect(k.fifos).toStrictEqual([out])
    expect(link(k.id.pid, 4)).toBe(log)
    expect(await Effect.runPromise(startKeeper([log, path.join(tempDir(), "missing")]))).toBe("no FIFO to hold")
  })

  it("one launcher starts many keepers at once; a launcher that died is replaced at the next start", async () => {
    const ks = await Promise.all(Array.from({ length: 10 }, (_, i) => start([fifo(`m${i}.fifo`)])))
    expect(new Set(ks.map((k) => k.id.pid)).size).toBe(10)
    const [first] = launchers()
    expect(launchers()).toStrictEqual([first])
    process.kill(first!, "SIGKILL")
    await expect.poll(() => launchers()).toStrictEqual([])
    const k = await start([fifo("after.fifo")])
    expect(running(k.id.pid)).toBe(true)
    expect(launchers()).toHaveLength(1)
    expect(launchers()[0]).not.toBe(first)
    // keepers do not depend on the launcher that started them
    for (const old of ks) expect(running(old.id.pid)).toBe(true)
  })

  it("a FIFO whose path has a newline in it still gets a keeper (started without the launcher)", async () => {
    const odd = fifo("odd\nname.fifo")
    const k = await start([odd])
    expect(link(k.id.pid, 3)).toBe(odd)
  })

  it("stopping it leaves nothing holding the FIFO: the reader sees EOF", async () => {
    const out = fifo("eof.fifo")
    const k = await start([out])
    const cat = spawn("cat", [out], { stdio: ["ignore", "pipe", "ignore"] })
    readers.push(cat)
    const ended = new Promise<void>((resolve) => cat.on("close", () => resolve()))
    // the reader has the FIFO open (else its open would wait for a writer that is gone)
    const opened = () => {
      try {
        return fs.readdirSync(`/proc/${cat.pid}/fd`).some((fd) => link(cat.pid!, Number(fd)) === out)
      } catch {
        return false
      }
    }
    await expect.poll(opened).toBe(true)
    await Effect.runPromise(stopKeeper(k))
    await ended // EOF: the keeper and its `sleep` are gone
    // and reaped by the launcher: no zombie left under the plugin
    await expect.poll(() => fs.existsSync(`/proc/${k.id.pid}`)).toBe(false)
  })
})
