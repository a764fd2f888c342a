/**
 * Temporary directories for tests, always removed afterwards. They live directly under /tmp with a
 * short prefix: unix socket paths (varlink peers, gRPC sockets, FIFOs next to them) must stay
 * under 108 bytes, and Linux silently truncates longer ones.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { afterAll, afterEach, beforeEach, onTestFinished } from "vitest"

/** A new empty directory `/tmp/<prefix>XXXXXX`; the caller removes it (prefer the helpers below). */
export const makeTempDir = (prefix = "ndp-"): string => mkdtempSync(path.join("/tmp", prefix))

export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true })

/** One directory for the whole test file (call at its top level), removed after its last test. */
export const tempDirForFile = (prefix?: string): string => {
  const dir = makeTempDir(prefix)
  afterAll(() => removeDir(dir))
  return dir
}

/** A fresh directory for every test of the file (call at its top level): read it through the getter. */
export const tempDirPerTest = (prefix?: string): () => string => {
  let dir = ""
  beforeEach(() => {
    dir = makeTempDir(prefix)
  })
  afterEach(() => removeDir(dir))
  return () => dir
}

/** A directory for the running test (call inside it), removed when the test finishes. */
export const tempDirForTest = (prefix?: string): string => {
  const dir = makeTempDir(prefix)
  onTestFinished(() => removeDir(dir))
  return dir
}

/** A directory owned by the current Scope (Effect tests), removed when the Scope closes. */
export const tempDirScoped = (prefix?: string) =>
  Effect.acquireRelease(Effect.sync(() => makeTempDir(prefix)), (dir) => Effect.sync(() => removeDir(dir)))

/** Writes `content` to `dir/name` (creating the directories on the way) and returns the path. */
export const writeFileIn = (dir: string, name: string, content: string | Uint8Array): string => {
  const file = path.join(dir, name)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, content)
  return file
}
