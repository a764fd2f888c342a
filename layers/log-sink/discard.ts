/**
 * The discarding `LogSink`: every chunk a task writes is dropped. The default of `embeddedLayer`,
 * so a library never prints a task's output to its host's console unless asked (`layerConsole`).
 */
import { Effect, Layer } from "effect"
import { LogSink } from "../../src/services/LogSink.ts"

const writer = { write: () => Effect.void }

/** A `LogSink` that opens nothing and drops every write. */
export const layerDiscard: Layer.Layer<LogSink> = Layer.succeed(LogSink, LogSink.of({ open: () => Effect.succeed(writer) }))
