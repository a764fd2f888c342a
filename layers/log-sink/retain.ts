/**
 * Retained logs for the Nomad FIFO sink (src/services/LogSink.ts, `retain`): the task's log keeper
 * (keeper.ts) and its delivered position, kept across plugin restarts.
 *
 * The position lives in `<alloc>/<task>/private/nomad-driver-podman-logs.json`: Nomad's private
 * directory of the task, which is not mounted into the container (invisible to the task) and is
 * removed with the allocation. It is rewritten in place after every accepted write: one `pwrite` of
 * a fixed-size record at offset 0 through an fd kept open, synchronously, in the same turn of the
 * event loop as the FIFO write it records. A plugin crash cannot tear it (the kernel has it once
 * the call returns; no fsync: a machine crash takes the containers too). The record also names the
 * current keeper (it changes when the keeper is handed another log file). What the file cannot be
 * read back into (missing, damaged, another task's) counts as "no position": the driver then
 * forwards from the recovery on (and says so).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Option, Schema } from "effect"
import { LogKeeperId } from "../../src/domain/DriverState.ts"
import { type LogPosition, positionFromJson, positionToJson, startPosition } from "../../src/domain/LogPosition.ts"
import type { LogTarget, RetainedLogs } from "../../src/services/LogSink.ts"
import { findKeeper, heldFilePath, type Keeper, startKeeper, stopKeeper } from "./keeper.ts"

export const POSITION_FILE = "nomad-driver-podman-logs.json"

/** The record is padded to a multiple of this, so a shorter rewrite leaves no stale tail. */
const RECORD_SIZE = 1024

const StoredRecord = Schema.Struct({
  taskId: Schema.String,
  keeper: Schema.optional(LogKeeperId),
  position: Schema.Unknown
})

/** Paths that mean "discard this stream". */
const isDiscard = (p: string): boolean => p === "" || p === "/dev/null"

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

interface Stored {
  readonly keeper: LogKeeperId | undefined
  readonly position: LogPosition | undefined
}

const readStored = (file: string, taskId: string): Stored | undefined => {
  try {
    const raw = JSON.parse(fs.readFileSync(file, "utf8").trimEnd()) as unknown
    const rec = Schema.decodeUnknownOption(StoredRecord)(raw)
    if (Option.isNone(rec) || rec.value.taskId !== taskId) return undefined
    return { keeper: rec.value.keeper, position: Option.getOrUndefined(positionFromJson(rec.value.position)) }
  } catch {
    return undefined
  }
}

/** The FIFO sink's `retain`. */
export const retainFifoLogs = (
  target: LogTarget,
  options: { readonly recover: boolean; readonly keeper: LogKeeperId | undefined }
) =>
  Effect.gen(function*() {
    const fifos = [target.stdoutPath, target.stderrPath].filter((p) => !isDiscard(p))
    const file = target.stateDir !== undefined && target.stateDir !== "" ? path.join(target.stateDir, POSITION_FILE) : undefined
    const stored = options.recover && file !== undefined ? readStored(file, target.taskId) : undefined

    // The keeper: found again (the one the position file names, else the DriverState's), or a new one.
    let keeper: Keeper | undefined
    if (options.recover) {
      for (const id of [stored?.keeper, options.keeper]) {
        if (id === undefined || keeper !== undefined) continue
        keeper = yield* findKeeper(id, fifos)
      }
      if (keeper === undefined && (stored?.keeper ?? options.keeper) !== undefined) {
        yield* Effect.logWarning("the task's log keeper is gone: Nomad's log reader may have stopped; a new keeper is started")
      }
    }
    const heldFile = keeper === undefined ? undefined : heldFilePath(keeper)
    if (keeper === undefined && fifos.length > 0) {
      const started = yield* startKeeper(fifos)
      if (typeof started === "string") yield* Effect.logWarning(`no log keeper for the task's FIFOs (${started}); a plugin crash would end its logs in Nomad`)
      else keeper = started
    }

    // The position record, kept open for the task's lifetime.
    let fd: number | undefined
    let written = ""
    let size = RECORD_SIZE
    let position: LogPosition = stored?.position ?? startPosition
    let warned = false
    /** Rewrites the record; the error text of a failed write (once), else undefined. */
    const writeRecord = (): string | undefined => {
      if (fd === undefined) return undefined
      const text = JSON.stringify({ taskId: target.taskId, keeper: keeper?.id, position: positionToJson(position) })
      if (text === written) return undefined
      if (text.length + 1 > size) size = Math.ceil((text.length + 1) / RECORD_SIZE) * RECORD_SIZE
      try {
        fs.writeSync(fd, Buffer.from(text.padEnd(size - 1, " ") + "\n"), 0, size, 0)
        written = text
        return undefined
      } catch (e) {
        if (warned) return undefined
        warned = true
        return errorText(e)
      }
    }
    const write = Effect.suspend(() => {
      const failed = writeRecord()
      return failed === undefined ? Effect.void : Effect.logWarning(`cannot record the log position in ${file}: ${failed}`)
    })
    if (file !== undefined) {
      try {
        fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600)
      } catch (e) {
        yield* Effect.logWarning(`cannot keep the log position in ${file} (${errorText(e)}): a plugin restart would resume at its own time`)
      }
      yield* write
    }

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        if (keeper !== undefined) yield* stopKeeper(keeper)
        if (fd === undefined || file === undefined) return
        const closing = fd
        yield* Effect.sync(() => {
          fs.closeSync(closing)
          fs.rmSync(file, { force: true })
        }).pipe(Effect.catchDefect((e) => Effect.logDebug(`removing ${file}: ${errorText(e)}`)))
      })
    )

    return {
      keeper: keeper?.id,
      resumeFrom: stored?.position,
      heldFile,
      save: (p) =>
        Effect.suspend(() => {
          position = p
          return write
        }),
      holdFile: (fileFd) =>
        Effect.gen(function*() {
          if (keeper === undefined) return
          const next = yield* startKeeper(keeper.fifos, fileFd)
          if (typeof next === "string") return yield* Effect.logDebug(`log keeper not replaced: ${next}`)
          const previous = keeper
          keeper = next
          // recorded before the previous keeper goes, so a crash in between finds one of them
          yield* write
          yield* stopKeeper(previous)
        })
    } satisfies RetainedLogs
  })
