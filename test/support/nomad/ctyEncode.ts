/**
 * Test-only encoder that writes JS values the way go-cty's msgpack encoder does:
 * smallest integer forms (unsigned forms for non-negative values), float64 for every
 * non-integer number, decimal text for numbers outside int64 and for `CtyDecimal` values, maps
 * with keys sorted by UTF-8 byte order, and `CtyUnknown` as fixext1 type 0.
 *
 * Plain objects are encoded as cty objects/maps (every key present; `undefined` counts as null),
 * arrays as lists/tuples.
 */
import { CtyUnknown } from "../../../layers/nomad-rpc/cty.ts"

/** A cty number that is not exactly a float64 (e.g. `0.1`): cty sends its decimal text. */
export class CtyDecimal {
  constructor(readonly text: string) {}
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const enc = new TextEncoder()

class Writer {
  private buf = new Uint8Array(256)
  private view = new DataView(this.buf.buffer)
  len = 0
  private grow(n: number) {
    if (this.len + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n))
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.view = new DataView(next.buffer)
  }
  u8(v: number) { this.grow(1); this.view.setUint8(this.len++, v) }
  u16(v: number) { this.grow(2); this.view.setUint16(this.len, v); this.len += 2 }
  u32(v: number) { this.grow(4); this.view.setUint32(this.len, v); this.len += 4 }
  u64(v: bigint) { this.grow(8); this.view.setBigUint64(this.len, v); this.len += 8 }
  i8(v: number) { this.grow(1); this.view.setInt8(this.len++, v) }
  i16(v: number) { this.grow(2); this.view.setInt16(this.len, v); this.len += 2 }
  i32(v: number) { this.grow(4); this.view.setInt32(this.len, v); this.len += 4 }
  i64(v: bigint) { this.grow(8); this.view.setBigInt64(this.len, v); this.len += 8 }
  f64(v: number) { this.grow(8); this.view.setFloat64(this.len, v); this.len += 8 }
  bytes(b: Uint8Array) { this.grow(b.length); this.buf.set(b, this.len); this.len += b.length }
  done() { return this.buf.slice(0, this.len) }
}

const writeInt = (w: Writer, n: bigint) => {
  if (n >= 0n) {
    if (n <= 0x7fn) w.u8(Number(n))
    else if (n <= 0xffn) { w.u8(0xcc); w.u8(Number(n)) }
    else if (n <= 0xffffn) { w.u8(0xcd); w.u16(Number(n)) }
    else if (n <= 0xffffffffn) { w.u8(0xce); w.u32(Number(n)) }
    else { w.u8(0xcf); w.u64(n) }
  } else {
    if (n >= -32n) w.u8(Number(n) + 0x100)
    else if (n >= -128n) { w.u8(0xd0); w.i8(Number(n)) }
    else if (n >= -32768n) { w.u8(0xd1); w.i16(Number(n)) }
    else if (n >= -2147483648n) { w.u8(0xd2); w.i32(Number(n)) }
    else { w.u8(0xd3); w.i64(n) }
  }
}

const writeStr = (w: Writer, s: string) => {
  const b = enc.encode(s)
  if (b.length < 32) w.u8(0xa0 | b.length)
  else if (b.length < 256) { w.u8(0xd9); w.u8(b.length) }
  else if (b.length < 65536) { w.u8(0xda); w.u16(b.length) }
  else { w.u8(0xdb); w.u32(b.length) }
  w.bytes(b)
}

const writeNumber = (w: Writer, n: number | bigint) => {
  if (typeof n === "number" && !Number.isFinite(n)) {
    if (Number.isNaN(n)) throw new Error("cty has no NaN")
    w.u8(0xcb); w.f64(n)
    return
  }
  if (typeof n === "number" && !Number.isInteger(n)) {
    // Every JS number is a float64, so a fractional one is always "exactly representable".
    w.u8(0xcb); w.f64(n)
    return
  }
  const big = BigInt(n)
  if (big < INT64_MIN || big > INT64_MAX) writeStr(w, big.toString())
  else writeInt(w, big)
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

const write = (w: Writer, v: unknown): void => {
  if (v === null || v === undefined) return w.u8(0xc0)
  if (v === CtyUnknown) { w.u8(0xd4); w.u8(0); w.u8(0); return }
  if (v instanceof CtyDecimal) return writeStr(w, v.text)
  switch (typeof v) {
    case "boolean": return w.u8(v ? 0xc3 : 0xc2)
    case "string": return writeStr(w, v)
    case "number":
    case "bigint": return writeNumber(w, v)
  }
  if (Array.isArray(v)) {
    if (v.length < 16) w.u8(0x90 | v.length)
    else if (v.length < 65536) { w.u8(0xdc); w.u16(v.length) }
    else { w.u8(0xdd); w.u32(v.length) }
    for (const x of v) write(w, x)
    return
  }
  if (typeof v === "object") {
    const keys = Object.keys(v).sort(byteOrder)
    if (keys.length < 16) w.u8(0x80 | keys.length)
    else if (keys.length < 65536) { w.u8(0xde); w.u16(keys.length) }
    else { w.u8(0xdf); w.u32(keys.length) }
    for (const k of keys) {
      writeStr(w, k)
      write(w, (v as Record<string, unknown>)[k])
    }
    return
  }
  throw new Error(`cannot cty-encode ${typeof v}`)
}

/** Encodes `value` as go-cty's msgpack encoder would. */
export const ctyEncode = (value: unknown): Uint8Array => {
  const w = new Writer()
  write(w, value)
  return w.done()
}
