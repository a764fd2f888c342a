/**
 * Exit detection over REST (docs/podman.md, "Exits"):
 *
 * 1. Podman on this host: conmon's exit file (layers/conmon): the code 5-7 ms after the process
 *    ends, and no Podman call while the container runs.
 * 2. Otherwise (a remote socket, or the files are not usable here): Podman's `wait` at its default
 *    interval, then one inspect for the OOM flag and the finish time.
 *
 * Not the attach stream, although it ends 6-7 ms after an exit: Podman's attach re-initializes a
 * container that is stopped or exited (Docker compatibility), which resets its recorded exit code
 * to 0. An attach that reaches Podman just after the exit would destroy the very code it waits for,
 * and that race cannot be closed from the client.
 *
 * `mode: "wait"` skips the files (tests of the fallback).
 */
import { Effect, Option } from "effect"
import type { PodmanError } from "../../src/domain/PodmanError.ts"
import type { ContainerExit, ContainerState } from "../../src/services/Podman.ts"
import type { ExitFiles } from "../conmon/ExitFiles.ts"
import { makeLocalExits } from "../conmon/localExits.ts"
import { type ExitProbe, toExitProbe } from "../libpod/decode.ts"
import type { Http } from "./http.ts"

export type ExitMode = "auto" | "wait"

interface ExitDeps {
  readonly http: Http
  readonly guard: <A, E, R>(operation: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PodmanError, R>
  /** Podman runs on this host. */
  readonly local: boolean
  readonly exitFiles: ExitFiles | undefined
  readonly mode: ExitMode
  readonly containerWait: (id: string) => Effect.Effect<number, PodmanError>
}

const enc = encodeURIComponent

export const makeRestExits = ({ http, guard, local, exitFiles, mode, containerWait }: ExitDeps) => {
  const probe = (id: string): Effect.Effect<ExitProbe, PodmanError> =>
    guard("containerInspect", http.call("containerInspect", { method: "GET", path: `/containers/${enc(id)}/json` }, { id, cheap: true })).pipe(
      Effect.flatMap((r) => http.decode("containerInspect", r.text, toExitProbe))
    )

  const files = exitFiles !== undefined && local && mode === "auto" ? makeLocalExits(exitFiles, probe) : undefined

  const viaWait = (id: string): Effect.Effect<ContainerExit, PodmanError> =>
    Effect.gen(function*() {
      const code = yield* containerWait(id)
      const p = yield* probe(id)
      // Running again (restarted by someone else meanwhile): what `wait` saw is the exit.
      return p.running ? { exitCode: code, oomKilled: false, finishedAt: undefined, error: "" } : p.exit
    })

  const awaitExit = (id: string, seen?: Effect.Effect<Option.Option<ContainerState>>): Effect.Effect<ContainerExit, PodmanError> =>
    Effect.gen(function*() {
      if (files !== undefined) {
        const viaFiles = yield* files.awaitExit(id, seen)
        if (Option.isSome(viaFiles)) return viaFiles.value
      }
      return yield* viaWait(id)
    }).pipe(Effect.withSpan("PodmanRest.awaitExit"))

  return { awaitExit }
}
