/**
 * The `LogSink` layers: Nomad's FIFOs (plugin mode), the console (CLI `run`), memory (tests,
 * embedding) and discard (the embedding default).
 */
export { type FifoSinkOptions, layerFifo, layerFifoWith, makeFifoSink } from "./fifo.ts"
export { layerConsole, writeWithBackpressure } from "./console.ts"
export { layerMemory, MemoryLogSink } from "./memory.ts"
export { layerDiscard } from "./discard.ts"
