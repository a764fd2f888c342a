/**
 * Exit detection through conmon's files (ExitFiles.ts) for one Podman endpoint on this host, shared
 * by both transports. `awaitExit` answers None when the files cannot be used for this container
 * (no /proc, another mount namespace, a watch that ended): the transport then falls back to asking
 * Podman. Podman is asked once when the task's watch starts (twice for the first container of a
 * directory), and again only if an exit file vanished before it was read. When the caller has
 * inspected the container after its start anyway (`seen`), that inspect replaces the first one.
 *
 * Once one container has shown where conmon writes (its exit directory, and the pattern of its
 * bundle directory), the next container's exit file is watched BEFORE Podman is asked anything:
 * an exit while the Podman service is down (restarting) is still read from the file, even when
 * the first inspect of the task could not be answered.
 */
import { Duration, Effect, Option, Schedule } from "effect"
import type { PodmanError } from "../../src/domain/PodmanError.ts"
import { type ContainerExit, type ContainerState, exitOfState } from "../../src/services/Podman.ts"
import type { ExitProbe } from "../libpod/decode.ts"
import type { ConmonPaths, ExitFiles, ExitFileWatch } from "./ExitFiles.ts"

/**
 * How long a wait goes without an event before it checks that conmon still runs. A lost inotify
 * event (or an exit directory removed under the watch) would otherwise be a task that never ends;
 * conmon outlives the exit file by Podman's cleanup, so a conmon that is gone with no exit seen
 * means: ask Podman.
 */
export const CONMON_CHECK = Duration.minutes(1)

/** Retries of the first inspect while a watch already covers the exit (Podman restarting). */
const PROBE_RETRY = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")])

/** The exit probe of a container state from a whole inspect. */
const probeOfState = (state: ContainerState): ExitProbe => ({ running: state.running, conmonPid: state.conmonPid, exit: exitOfState(state) })

export const makeLocalExits = (files: ExitFiles, probe: (id: string) => Effect.Effect<ExitProbe, PodmanError>) => {
  /** Where the last located conmon wrote: its exit directory and its bundle directory with the id as `{id}`. */
  let known: { readonly exitDir: string; readonly bundleTemplate: string | undefined } | undefined

  const learn = (paths: ConmonPaths, id: string) => {
    known = { exitDir: paths.exitDir, bundleTemplate: paths.bundleDir.includes(id) ? paths.bundleDir.split(id).join("{id}") : undefined }
  }

  /** The paths of a container that has not been located (Podman unreachable): the learnt pattern. */
  const guessPaths = (exitDir: string, id: string): ConmonPaths => ({
    exitDir,
    bundleDir: known?.bundleTemplate !== undefined ? known.bundleTemplate.split("{id}").join(id) : "/nonexistent"
  })

  /** Reads the exit file at every event about it, until it is there. */
  const fromFileOnly = (watch: ExitFileWatch, paths: ConmonPaths, id: string) =>
    Effect.gen(function*() {
      while (true) {
        const exit = yield* files.read(paths, id)
        if (Option.isSome(exit)) return exit.value
        if (!(yield* watch.next)) return yield* Effect.never
      }
    })

  /**
   * The first look at the container: the caller's inspect when it has one (it may be older than the
   * watch: see `locate` below), else an inspect.
   */
  const firstLook = (id: string, seen: Effect.Effect<Option.Option<ContainerState>> | undefined) =>
    seen === undefined
      ? probe(id)
      : Effect.flatMap(seen, Option.match({ onNone: () => probe(id), onSome: (state) => Effect.succeed(probeOfState(state)) }))

  const awaitExit = (
    id: string,
    seen?: Effect.Effect<Option.Option<ContainerState>>
  ): Effect.Effect<Option.Option<ContainerExit>, PodmanError> =>
    Effect.scoped(Effect.gen(function*() {
      const early = known
      let watchedDir = early?.exitDir
      let watch: Option.Option<ExitFileWatch> = watchedDir !== undefined ? yield* files.watch(watchedDir, id) : Option.none()
      if (Option.isNone(watch)) watchedDir = undefined
      // With the file already watched, an unreachable Podman only delays the inspect: the exit
      // itself is read from the file if it comes first.
      let p = Option.isSome(watch) && watchedDir !== undefined
        ? yield* Effect.raceFirst(
          firstLook(id, seen).pipe(Effect.retry({ while: (e) => e.isRetryable, schedule: PROBE_RETRY })),
          fromFileOnly(watch.value, guessPaths(watchedDir, id), id).pipe(
            Effect.map((exit): ExitProbe => ({ running: false, conmonPid: 0, exit }))
          )
        )
        : yield* firstLook(id, seen)
      if (!p.running) return Option.some(p.exit)
      // conmon is looked up after the watch is in place, so a look older than the watch does: the
      // exit file is deleted by Podman's cleanup, which conmon runs (its exit command) and waits
      // for before it ends. A conmon still there means a file not deleted yet (the loop below reads
      // it first); a conmon gone means: ask Podman (the transport's fallback). Should the service
      // itself have cleaned up in between (a stop through the API) while conmon still ran, the
      // loop's conmon check finds conmon gone and asks Podman, at most CONMON_CHECK later.
      const paths = yield* files.locate(p.conmonPid, id)
      if (Option.isNone(paths)) return Option.none()
      learn(paths.value, id)
      if (watchedDir !== paths.value.exitDir || Option.isNone(watch)) {
        watch = yield* files.watch(paths.value.exitDir, id)
        if (Option.isNone(watch)) return Option.none()
        // The exit may have come between the inspect above and this watch (and its file may be
        // gone already): ask once more, now that no later exit can be missed.
        p = yield* probe(id)
        if (!p.running) return Option.some(p.exit)
      }
      const { next } = watch.value
      const conmonPid = p.conmonPid
      while (true) {
        const fromFile = yield* files.read(paths.value, id)
        if (Option.isSome(fromFile)) return fromFile
        const event = yield* next.pipe(Effect.timeoutOption(CONMON_CHECK))
        if (Option.isSome(event) && !event.value) return Option.none()
        const again = yield* files.read(paths.value, id)
        if (Option.isSome(again)) return again
        if (Option.isSome(event)) {
          // An event about the file, and no file: it came and went before it was read. Podman's
          // cleanup deleted it after recording the exit.
          p = yield* probe(id)
          if (!p.running) return Option.some(p.exit)
        } else if (Option.isNone(yield* files.locate(conmonPid, id))) {
          // Quiet, and conmon is gone: whatever happened, Podman knows.
          p = yield* probe(id)
          return p.running ? Option.none() : Option.some(p.exit)
        }
      }
    }))

  return { awaitExit }
}
