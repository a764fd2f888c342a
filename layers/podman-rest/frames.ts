/**
 * The Docker/libpod multiplexed stream format ("application/vnd.docker.raw-stream").
 *
 * libpod frames container logs (always, even with a TTY: docs/podman.md, "Logs") and non-TTY exec
 * output as `[stream, 0, 0, 0, length (uint32 big-endian)]` followed by `length` payload bytes.
 * Stream 1 is stdout and 2 is stderr; 0 (stdin echo) is treated as stdout and 3 (Podman's own
 * "system error" stream) as stderr, as the Docker CLI does.
 *
 * HTTP chunks do not respect frame boundaries: a header or a payload may be split over any
 * number of chunks, so the demuxer keeps state between chunks. Payload is emitted as soon as it
 * arrives (a partial frame gives a partial chunk), so a long line is not held back.
 */
import { Array as Arr, Stream } from "effect"
import type { OutputChunk, OutputStream } from "../../src/services/Podman.ts"

const HEADER = 8

const streamOf = (b: number): OutputStream => (b === 2 || b === 3 ? "stderr" : "stdout")

/** A stateful frame demuxer. Feed it chunks in order; it returns the payload pieces found so far. */
export class FrameDemuxer {
  /** Header bytes collected so far (a header may be split across chunks). */
  private readonly header = new Uint8Array(HEADER)
  private headerFill = 0
  /** Payload bytes still expected for the current frame. */
  private remaining = 0
  private current: OutputStream = "stdout"
  /** With `wholeFrames`: the pieces of the current frame's payload. */
  private pieces: Array<Uint8Array> = []

  constructor(private readonly options: { readonly wholeFrames?: boolean } = {}) {}

  /** Demultiplexes one chunk. The returned `data` views share memory with `chunk`. */
  push(chunk: Uint8Array): Array<OutputChunk> {
    const out: Array<OutputChunk> = []
    let i = 0
    while (i < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER - this.headerFill, chunk.length - i)
        this.header.set(chunk.subarray(i, i + take), this.headerFill)
        this.headerFill += take
        i += take
        if (this.headerFill < HEADER) break
        this.headerFill = 0
        this.current = streamOf(this.header[0]!)
        this.remaining =
          ((this.header[4]! << 24) >>> 0) + (this.header[5]! << 16) + (this.header[6]! << 8) + this.header[7]!
        // An empty frame is still a frame (an entry with no text) for whole-frame accounting.
        if (this.remaining === 0 && this.options.wholeFrames === true) out.push({ stream: this.current, data: new Uint8Array(0) })
        continue
      }
      const take = Math.min(this.remaining, chunk.length - i)
      const data = chunk.subarray(i, i + take)
      i += take
      this.remaining -= take
      if (this.options.wholeFrames === true) {
        this.pieces.push(data)
        if (this.remaining === 0) {
          const whole = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces)
          this.pieces = []
          out.push({ stream: this.current, data: whole })
        }
      } else if (data.length > 0) {
        out.push({ stream: this.current, data })
      }
    }
    return out
  }

  /** True when the input ended exactly on a frame boundary. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.headerFill === 0
  }
}

/** Demultiplexes a whole buffer (tests and small bodies). */
export const demuxAll = (chunks: Iterable<Uint8Array>, options: { readonly wholeFrames?: boolean } = {}): Array<OutputChunk> => {
  const d = new FrameDemuxer(options)
  const out: Array<OutputChunk> = []
  for (const c of chunks) out.push(...d.push(c))
  return out
}

/** Builds one frame (tests, fakes). */
export const encodeFrame = (stream: 0 | 1 | 2 | 3, payload: Uint8Array): Uint8Array => {
  const f = new Uint8Array(HEADER + payload.length)
  f[0] = stream
  new DataView(f.buffer).setUint32(4, payload.length, false)
  f.set(payload, HEADER)
  return f
}

/**
 * Demultiplexes a framed byte stream (logs, non-TTY exec). Works chunk-wise: the frames found in one
 * HTTP chunk become one Stream chunk, so a 100 MB log is not pushed through the stream one frame
 * (one pull) at a time.
 */
export const demuxStream = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  options: { readonly wholeFrames?: boolean } = {}
): Stream.Stream<OutputChunk, E, R> =>
  Stream.suspend(() => {
    const demuxer = new FrameDemuxer(options)
    return bytes.pipe(
      Stream.map((chunk) => demuxer.push(chunk)),
      Stream.filter((frames): frames is Arr.NonEmptyArray<OutputChunk> => frames.length > 0),
      Stream.flattenArray
    )
  })

