/**
 * The framing of io.podman's upgraded exec stream (Podman 1.x/2.x pkg/varlinkapi/virtwriter):
 * an 8-byte header, byte 0 the destination and bytes 4-7 the payload length as a big-endian uint32,
 * then the payload. Destinations: 0 stdout, 1 stdin, 2 stderr, 3 terminal resize (JSON
 * `{"Width":w,"Height":h}`), 4 exit ("hang up"; payload: the exit code, uint32 LITTLE-endian, as
 * Podman's HangUp writes it).
 */

export const ExecDest = { Stdout: 0, Stdin: 1, Stderr: 2, Resize: 3, Exit: 4 } as const
export type ExecDest = (typeof ExecDest)[keyof typeof ExecDest]

export interface ExecFrame {
  readonly dest: number
  readonly payload: Uint8Array
}

export const encodeExecFrame = (dest: ExecDest, payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(8 + payload.length)
  out[0] = dest
  new DataView(out.buffer).setUint32(4, payload.length, false)
  out.set(payload, 8)
  return out
}

/** The exit frame's payload. */
export const exitPayload = (code: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, code >>> 0, true)
  return b
}

/** Incremental decoder: push bytes as they arrive, get whole frames back. */
export class ExecFrameDecoder {
  private buffer: Uint8Array = new Uint8Array(0)

  push(bytes: Uint8Array): Array<ExecFrame> {
    const joined = new Uint8Array(this.buffer.length + bytes.length)
    joined.set(this.buffer, 0)
    joined.set(bytes, this.buffer.length)
    const frames: Array<ExecFrame> = []
    let pos = 0
    while (joined.length - pos >= 8) {
      const len = new DataView(joined.buffer, joined.byteOffset + pos + 4, 4).getUint32(0, false)
      if (joined.length - pos - 8 < len) break
      frames.push({ dest: joined[pos]!, payload: joined.slice(pos + 8, pos + 8 + len) })
      pos += 8 + len
    }
    this.buffer = joined.slice(pos)
    return frames
  }
}
