/**
 * A log FIFO reader like Nomad's logmon (PROTOCOL.md §7): mkfifo with mode 0600, open the read
 * end (a blocking open, off the event loop) and collect what the driver writes.
 */
import { execFileSync } from "node:child_process"
import { closeSync, constants, createReadStream, openSync, type ReadStream } from "node:fs"

export interface FifoReader {
  readonly path: string
  readonly text: () => string
  /** Resolves once the collected text matches. */
  readonly waitFor: (re: RegExp, timeoutMillis?: number) => Promise<string>
  readonly close: () => void
}

export const openFifo = (path: string): FifoReader => {
  execFileSync("mkfifo", ["-m", "600", path])
  let data = ""
  const waiters = new Set<() => void>()
  // Reopen after EOF (a task restart, or the driver reopening its write end), as logmon does.
  let stream: ReadStream | undefined
  let closed = false
  const open = () => {
    if (closed) return
    stream = createReadStream(path, { encoding: "utf8" })
    stream.on("data", (d) => {
      data += d as string
      for (const w of waiters) w()
    })
    stream.on("end", () => setTimeout(open, 50))
    stream.on("error", () => {})
  }
  open()
  return {
    path,
    text: () => data,
    waitFor: (re, timeoutMillis = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(data)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(data)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`FIFO ${path}: no match for ${re} in ${JSON.stringify(data)}`))
        }, timeoutMillis)
        waiters.add(check)
        check()
      }),
    close: () => {
      closed = true
      // A read end still blocked in open() holds a libuv thread: give it a writer, then EOF.
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {
        // no pending reader
      }
      stream?.destroy()
    }
  }
}
