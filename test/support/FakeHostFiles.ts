/**
 * A FAKE `HostFiles` for unit tests of logic: a host where no file of a container exists (as when
 * Podman runs elsewhere), so every read, open, stat and watch fails with NotFound.
 */
import { Effect, Layer } from "effect"
import { HostFileError } from "../../src/domain/errors.ts"
import { HostFiles } from "../../src/services/HostFiles.ts"

const missing = (operation: string) => (path: string) =>
  Effect.fail(new HostFileError({ operation, path, kind: "NotFound", detail: "fake" }))

export const noHostFiles = Layer.succeed(HostFiles, HostFiles.of({
  readText: missing("read"),
  writeText: missing("write"),
  openForTail: missing("open"),
  identity: missing("stat"),
  watch: missing("watch"),
  prepareWatch: Effect.void
}))
