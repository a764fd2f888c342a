// Loaded into the plugin under test with `--expose-gc --require <this file>` (support/plugin.ts,
// `memoryProbe`): on SIGUSR2 it runs full GCs and writes one line
// `ndp-mem {"rss":…,"heapUsed":…}` to stderr, so the chaos suite can measure the plugin's memory
// after a GC without any hook in the product. Test-only.
//
// V8 gives pages back to the system lazily after a GC (its memory reducer runs on a timer), so the
// GCs are spaced out a little before RSS is read.
"use strict"
const { setTimeout: sleep } = require("node:timers/promises")
process.on("SIGUSR2", async () => {
  if (typeof globalThis.gc === "function") {
    for (let i = 0; i < 4; i++) {
      globalThis.gc()
      await sleep(250)
    }
  }
  const m = process.memoryUsage()
  process.stderr.write(`ndp-mem ${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`)
})
