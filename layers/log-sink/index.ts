/**
 * The `LogSink` layers: Nomad's FIFOs (plugin mode), the console (CLI `run`) and memory (tests,
 * embedding).
 */
export { type FifoSinkOptions, layerFifo, layerFifoWith, makeFifoSink } from "./fifo.ts"
export { layerConsole, writeWithBackpressure } from "./console.ts"
export { layerMemory, MemoryLogSink } from "./memory.ts"
