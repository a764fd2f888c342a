/**
 * The live `HostFiles` layer, on Effect's FileSystem (Node's implementation in `layer`; any
 * FileSystem, e.g. effect's in-memory test one, with `layerNoDeps`). PlatformErrors become
 * `HostFileError`s naming the operation, the path and the kind (NotFound, PermissionDenied...).
 */
import { ByteSize, Effect, FileSystem, Layer } from "effect"
import type { PlatformError } from "effect/PlatformError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { HostFileError } from "../../src/domain/errors.ts"
import { HostFiles, type TailFile } from "../../src/services/HostFiles.ts"

const hostFileError = (operation: string, path: string) => (e: PlatformError): HostFileError =>
  new HostFileError({ operation, path, kind: e.reason._tag, detail: e.message })

/** HostFiles over the FileSystem in context. */
export const make = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem

  const readText = (path: string) => fs.readFileString(path).pipe(Effect.mapError(hostFileError("read", path)))

  const writeText = (path: string, text: string) => fs.writeFileString(path, text).pipe(Effect.mapError(hostFileError("write", path)))

  const openForTail = (path: string) =>
    Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(hostFileError("open", path)))
      return {
        readAt: (buffer, offset) => file.read(buffer, { position: BigInt(offset) }).pipe(Effect.mapError(hostFileError("read", path))),
        size: file.stat.pipe(Effect.map((info) => Number(ByteSize.toBigInt(info.size))), Effect.mapError(hostFileError("stat", path)))
      } satisfies TailFile
    })

  return HostFiles.of({ readText, writeText, openForTail })
})

/** HostFiles over the FileSystem the caller provides. */
export const layerNoDeps: Layer.Layer<HostFiles, never, FileSystem.FileSystem> = Layer.effect(HostFiles, make)

/** HostFiles over Node's file system. */
export const layer: Layer.Layer<HostFiles> = layerNoDeps.pipe(Layer.provide(NodeFileSystem.layer))
