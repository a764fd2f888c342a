/**
 * A log FIFO reader like Nomad's logmon: mkfifo with mode 0600, then read what the driver writes.
 *
 * Opened O_RDWR | O_NONBLOCK and read through a libuv pipe handle (epoll), so it never holds a
 * libuv threadpool thread: a blocking read-only open would wait in one until a writer appears, and
 * after each EOF (task or plugin restart) the reopen would wait again, so four idle FIFOs would
 * freeze every fs call of the test process. Holding the FIFO read-write also means no EOF between
 * two writers, which is what logmon's immediate reopen amounts to.
 */
import { execFileSync } from "node:child_process"
import { constants, openSync } from "node:fs"
import * as net from "node:net"

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
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK)
  const socket = new net.Socket({ fd, readable: true, writable: false })
  socket.setEncoding("utf8")
  socket.on("data", (d: string) => {
    data += d
    for (const w of waiters) w()
  })
  socket.on("error", () => {})
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
      socket.destroy()
    }
  }
}
