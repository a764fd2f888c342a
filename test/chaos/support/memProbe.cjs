// Loaded into the plugin under test with NODE_OPTIONS="--expose-gc --require <this file>" (the
// built executable honours NODE_OPTIONS): on SIGUSR2 it runs a full GC and writes one line
// `ndp-mem {"rss":…,"heapUsed":…}` to stderr, so the chaos suite can measure the plugin's memory
// after a GC without any hook in the product. Test-only.
"use strict"
process.on("SIGUSR2", () => {
  if (typeof globalThis.gc === "function") {
    globalThis.gc()
    globalThis.gc()
  }
  const m = process.memoryUsage()
  process.stderr.write(`ndp-mem ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`)
})
