/**
 * Property: whatever the chunking of the byte stream, a `more` call decodes exactly the replies a
 * (FAKE) peer sent: arbitrary JSON parameters (multi-byte UTF-8 included), split at arbitrary byte
 * positions, delivered in separate writes.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as fc from "fast-check"
import { Effect, Stream } from "effect"
import { VarlinkConnection } from "../../layers/varlink/index.ts"

let dir = ""
let server: net.Server
/** What the fake peer sends for the next call: the byte pieces, written one by one. */
let script: Array<Buffer> = []

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "vlp-"))
  server = net.createServer((socket) => {
    socket.on("error", () => {})
    socket.on("data", async () => {
      for (const piece of script) {
        socket.write(piece)
        await new Promise((r) => setImmediate(r))
      }
    })
  })
  await new Promise<void>((r) => server.listen(path.join(dir, "fake.sock"), r))
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

const params = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })

describe("varlink framing (property, fake peer)", () => {
  it("decodes every reply of a more call whatever the chunk boundaries", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(params, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), async (replies, cuts) => {
        const bytes = Buffer.concat(
          replies.map((p, i) => Buffer.from(JSON.stringify({ parameters: p, ...(i < replies.length - 1 ? { continues: true } : {}) }) + "\0", "utf8"))
        )
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
        script = []
        let prev = 0
        for (const p of [...points, bytes.length]) {
          if (p > prev) script.push(bytes.subarray(prev, p))
          prev = p
        }
        const got = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
          const c = yield* VarlinkConnection.connect(`unix:${path.join(dir, "fake.sock")}`, { timeoutMillis: 2000 })
          return yield* Stream.runCollect(c.callMore("org.example.Many"))
        })))
        expect(got).toEqual(replies.map((p) => JSON.parse(JSON.stringify(p))))
      }),
      { numRuns: 60 }
    )
  })
})
