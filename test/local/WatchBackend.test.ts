/**
 * The local watch backend (layers/host-files/watchBackend.ts) on a temporary directory of this
 * machine: Effect's FileSystem `watch`, run with it, reports the same kinds of events as Effect's own
 * Node watch (a created name, a changed file, a removed name), says when the watch is in place, and
 * closes its inotify watch with the stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem, Queue, Stream } from "effect"
import { appendFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Platform from "../../layers/platform.ts"
import { withLocalWatch } from "../../layers/host-files/watchBackend.ts"
import { tempDirScoped } from "../support/tmp.ts"

describe("local watch backend", () => {
  it.live("reports Create, Update and Remove by name, once the watch is in place", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDirScoped("ndp-watch-")
      const events = yield* Queue.unbounded<FileSystem.WatchEvent>()
      const ready = yield* Queue.unbounded<void>()
      yield* fs.watch(dir, { onReady: () => Queue.offerUnsafe(ready, undefined) }).pipe(
        Stream.runForEach((e) => Queue.offer(events, e)),
        withLocalWatch,
        Effect.forkScoped
      )
      yield* Queue.take(ready)
      /**
       * The next event about `name` that is not an Update (a write brings one or more Updates);
       * `update`: the next Update. Each step waits for its event before the next one: the kind of a
       * rename is whether the name exists when the event is handled.
       */
      const next = (name: string, update = false) =>
        Effect.gen(function*() {
          while (true) {
            const e = yield* Queue.take(events)
            if (e.path === name && (e._tag === "Update") === update) return e._tag
          }
        })

      writeFileSync(path.join(dir, "a"), "1")
      expect(yield* next("a")).toBe("Create")
      appendFileSync(path.join(dir, "a"), "2")
      expect(yield* next("a", true)).toBe("Update")
      // a rename: the old name is gone, the new one is there
      renameSync(path.join(dir, "a"), path.join(dir, "b"))
      expect(yield* next("a")).toBe("Remove")
      expect(yield* next("b")).toBe("Create")
      unlinkSync(path.join(dir, "b"))
      expect(yield* next("b")).toBe("Remove")
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))

  it.live("a directory that does not exist fails the stream with a PlatformError", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDirScoped("ndp-watch-")
      const error = yield* fs.watch(path.join(dir, "absent")).pipe(Stream.runDrain, withLocalWatch, Effect.flip)
      expect(error._tag).toBe("PlatformError")
    }).pipe(Effect.scoped, Effect.provide(Platform.layer)))
})
