/**
 * FAKE `HostFiles` for unit tests of logic: `noHostFiles`, a host where no file of a container
 * exists (as when Podman runs elsewhere), so every read, open, stat and watch fails with NotFound;
 * `mapHostFiles`, a few readable files from a map.
 */
import { Effect, Layer } from "effect"
import { HostFileError } from "../../src/domain/errors.ts"
import { counterFilesOver, HostFiles } from "../../src/services/HostFiles.ts"

const missing = (operation: string) => (path: string) =>
  Effect.fail(new HostFileError({ operation, path, kind: "NotFound", detail: "fake" }))

export const noHostFiles = Layer.succeed(HostFiles, HostFiles.of({
  readText: missing("read"),
  counterFiles: counterFilesOver(missing("read")),
  writeText: missing("write"),
  openForTail: missing("open"),
  identity: missing("stat"),
  watch: missing("watch"),
  prepareWatch: Effect.void
}))

/**
 * A FAKE `HostFiles` whose readable files are the entries of a map the test changes as it goes
 * (e.g. a container's cgroup counters); everything else is missing. Every path read is noted in
 * `tried` when given.
 */
export const mapHostFiles = (files: Map<string, string>, tried?: Array<string>) => {
  const readText = (path: string) => {
    tried?.push(path)
    const text = files.get(path)
    return text === undefined ? missing("read")(path) : Effect.succeed(text)
  }
  return Layer.succeed(HostFiles, HostFiles.of({
    readText,
    counterFiles: counterFilesOver(readText),
    writeText: missing("write"),
    openForTail: missing("open"),
    identity: missing("stat"),
    watch: missing("watch"),
    prepareWatch: Effect.void
  }))
}
