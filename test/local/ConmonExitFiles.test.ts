/**
 * conmon's exit files (layers/conmon/ExitFiles.ts) on this machine without Podman: a FAKE conmon
 * (a process whose command line has conmon's arguments), an exit directory in a temporary
 * directory, and exit files written the way conmon writes them (a temporary file renamed into
 * place). The real conmon is exercised by test/integration/Exits.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Platform from "../../layers/platform.ts"
import { conmonArgs, makeExitFiles, parseExitCode } from "../../layers/conmon/ExitFiles.ts"
import { makeLocalExits } from "../../layers/conmon/localExits.ts"
import type { ExitProbe } from "../../layers/libpod/decode.ts"
import type { ContainerState } from "../../src/services/Podman.ts"
import { NODE22 } from "../support/processes.ts"
import { tempDirScoped } from "../support/tmp.ts"

const ID = "a".repeat(64)
const OTHER = "b".repeat(64)

/**
 * A process with conmon's arguments on its command line, for the Scope's lifetime: ready once it has
 * said so (its command line is then readable in /proc); it lives while its stdin stays open.
 */
const fakeConmon = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const child = spawn(NODE22, ["-e", "process.stdin.resume(); process.stdout.write('ready\\n')", "--", ...args], {
        stdio: ["pipe", "pipe", "ignore"]
      })
      child.stdout!.once("data", () => resume(Effect.succeed(child)))
    }),
    (child) => Effect.sync(() => void child.kill("SIGKILL"))
  )

/** Writes `<dir>/<id>` as conmon does: a temporary file, renamed into place. */
const writeExit = (dir: string, id: string, code: number) => {
  const tmp = path.join(dir, `${id}.XYZ123`)
  writeFileSync(tmp, String(code))
  renameSync(tmp, path.join(dir, id))
}

describe("conmon's command line and exit file", () => {
  it("finds the container, the exit directory and the bundle directory", () => {
    const args = ["/usr/bin/conmon", "--api-version", "1", "-c", ID, "-u", ID, "-b", "/b/userdata", "--exit-dir", "/run/exits", "--exit-command-arg", "-c"]
    expect(conmonArgs(args.join("\0"))).toEqual({ cid: ID, exitDir: "/run/exits", bundleDir: "/b/userdata" })
    expect(conmonArgs(["conmon", `--cid=${ID}`, "--exit-dir=/x", "--bundle", "/y"].join("\0"))).toEqual({ cid: ID, exitDir: "/x", bundleDir: "/y" })
    expect(conmonArgs("sleep\u0000300")).toEqual({})
  })

  it("reads an exit code, and nothing else", () => {
    expect(parseExitCode("3")).toBe(3)
    expect(parseExitCode("137\n")).toBe(137)
    expect(parseExitCode("-1")).toBe(-1)
    expect(parseExitCode("")).toBeUndefined()
    expect(parseExitCode("12a")).toBeUndefined()
  })
})

describe("ExitFiles", () => {
  it.live("locates a conmon, watches its exit directory and reads the code, the exit time and the OOM marker", () =>
    Effect.gen(function*() {
      const files = yield* makeExitFiles
      const root = yield* tempDirScoped("ndp-conmon-")
      const exits = path.join(root, "exits")
      const bundle = path.join(root, "bundle")
      mkdirSync(exits)
      mkdirSync(bundle)
      const conmon = yield* fakeConmon(["-c", ID, "-b", bundle, "--exit-dir", exits])
      const located = Option.getOrThrow(yield* files.locate(conmon.pid!, ID))
      expect(located).toEqual({ exitDir: exits, bundleDir: bundle })
      expect(Option.isNone(yield* files.locate(conmon.pid!, OTHER))).toBe(true)

      const mine = yield* files.watch(exits, ID).pipe(Effect.map(Option.getOrThrow))
      const theirs = yield* files.watch(exits, OTHER).pipe(Effect.map(Option.getOrThrow))
      expect(Option.isNone(yield* files.read(located, ID))).toBe(true)
      const woken = yield* Effect.forkChild(mine.next)
      writeExit(exits, OTHER, 1)
      writeExit(exits, ID, 7)
      expect(yield* Fiber.join(woken).pipe(Effect.timeout("20 seconds"))).toBe(true)
      const exit = yield* files.read(located, ID).pipe(Effect.map(Option.getOrThrow))
      expect(exit).toMatchObject({ exitCode: 7, oomKilled: false, error: "" })
      expect(exit.finishedAt).toBeInstanceOf(Date)
      expect(yield* theirs.next.pipe(Effect.timeout("20 seconds"))).toBe(true)

      writeFileSync(path.join(bundle, "oom"), "")
      expect((yield* files.read(located, ID).pipe(Effect.map(Option.getOrThrow))).oomKilled).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))

  it.live("a directory that does not exist cannot be watched", () =>
    Effect.gen(function*() {
      const files = yield* makeExitFiles
      expect(Option.isNone(yield* files.watch("/nonexistent/exits", ID))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))
})

/** A running container's state as an inspect shows it. */
const runningState = (conmonPid: number): ContainerState => ({
  status: "running",
  running: true,
  pid: 1,
  conmonPid,
  exitCode: 0,
  oomKilled: false,
  error: "",
  startedAt: new Date(0),
  finishedAt: undefined
})

describe("local exits (makeLocalExits) from an inspect the caller made", () => {
  it.live("finds conmon from it: no inspect of its own once the exit directory is known", () =>
    Effect.gen(function*() {
      const root = yield* tempDirScoped("ndp-localexits-")
      const exits = path.join(root, "exits")
      mkdirSync(exits)
      let probes = 0
      // a FAKE probe: Podman's answer if it were asked (a wrong code, so that asking shows)
      const probe = () =>
        Effect.sync((): ExitProbe => {
          probes++
          return { running: true, conmonPid: 0, exit: { exitCode: 99, oomKilled: false, finishedAt: undefined, error: "" } }
        })
      const local = makeLocalExits(yield* makeExitFiles, probe)
      // the first container of a directory: one inspect once its watch is in place (the directory
      // was not known before, so an exit file deleted before the watch would go unseen); later
      // containers' files are watched before anything is looked at: none
      for (const [id, code, asked] of [[ID, 7, 1], [OTHER, 9, 0]] as const) {
        probes = 0
        const conmon = yield* fakeConmon(["-c", id, "-b", path.join(root, id), "--exit-dir", exits])
        const waiting = yield* Effect.forkChild(local.awaitExit(id, Effect.succeed(Option.some(runningState(conmon.pid!)))))
        writeExit(exits, id, code)
        const exit = yield* Fiber.join(waiting).pipe(Effect.timeout("20 seconds"))
        expect(Option.getOrThrow(exit).exitCode).toBe(code)
        expect(probes).toBe(asked)
      }
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))

  it.live("an inspect from before an exit whose file is gone, conmon gone too: Podman is asked (the transport's fallback)", () =>
    Effect.gen(function*() {
      const root = yield* tempDirScoped("ndp-localexits-")
      const exits = path.join(root, "exits")
      mkdirSync(exits)
      const probe = () =>
        Effect.succeed<ExitProbe>({ running: true, conmonPid: 0, exit: { exitCode: 0, oomKilled: false, finishedAt: undefined, error: "" } })
      const local = makeLocalExits(yield* makeExitFiles, probe)
      // learn the directory from one container
      const first = yield* fakeConmon(["-c", ID, "-b", path.join(root, ID), "--exit-dir", exits])
      const learning = yield* Effect.forkChild(local.awaitExit(ID, Effect.succeed(Option.some(runningState(first.pid!)))))
      writeExit(exits, ID, 1)
      expect(Option.isSome(yield* Fiber.join(learning).pipe(Effect.timeout("20 seconds")))).toBe(true)
      // then a container seen running whose conmon has ended since (exit file written and deleted
      // before the watch): None, so the transport asks Podman
      const gone = yield* Effect.scoped(fakeConmon(["-c", OTHER, "-b", path.join(root, OTHER), "--exit-dir", exits]).pipe(
        Effect.tap((c) => Effect.callback<void>((resume) => void c.once("exit", () => resume(Effect.void)).kill("SIGKILL")))
      ))
      const result = yield* local.awaitExit(OTHER, Effect.succeed(Option.some(runningState(gone.pid!)))).pipe(Effect.timeout("20 seconds"))
      expect(Option.isNone(result)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))
})
