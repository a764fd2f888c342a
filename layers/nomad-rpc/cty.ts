/**
 * Decoder for the MessagePack that Nomad sends for plugin and task configs (`SetConfig.msgpack_config`,
 * `TaskConfig.msgpack_driver_config`): go-cty's msgpack encoding of the hcldec-decoded value
 * (docs/protocol.md#configs-from-hcl-to-messagepack). It decodes the bytes faithfully into plain JS values and leaves every
 * normalisation (HCL2 list wrapping, numbers as strings) to the config Schemas.
 *
 *   nil → null · bool → boolean · str → string · ints → number (bigint beyond ±2^53-1)
 *   float32/64 → number (±Infinity kept) · array → Array · map → plain object (string keys)
 *   ext 0 / ext 0x0c (cty unknown, refined unknown) → {@link CtyUnknown} · bin → Uint8Array
 *
 * Numbers that cty cannot express exactly as int64 or float64 (0.1, 1e20) arrive as decimal
 * strings and stay strings here.
 */
import { Data, Effect } from "effect"

/** The cty "unknown" value (never produced by Nomad in practice, but legal on the wire). */
export const CtyUnknown: { readonly _tag: "CtyUnknown" } = Object.freeze({ _tag: "CtyUnknown" as const })
export type CtyUnknown = typeof CtyUnknown

/** The bytes are not well-formed cty MessagePack. */
export class CtyDecodeError extends Data.TaggedError("CtyDecodeError")<{ readonly offset: number; readonly detail: string }> {
  override get message() {
    return `invalid cty msgpack at byte ${this.offset}: ${this.detail}`
  }
}

const MAX_DEPTH = 256
const utf8 = new TextDecoder("utf-8")

const toNumberIfSafe = (n: bigint): number | bigint =>
  n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n

class Reader {
  pos = 0
  private readonly view: DataView
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  fail(detail: string, at = this.pos): never {
    throw new CtyDecodeError({ offset: at, detail })
  }
  need(n: number) {
    if (this.pos + n > this.bytes.length) this.fail(`truncated input (need ${n} more bytes)`)
  }
  u8() { this.need(1); return this.view.getUint8(this.pos++) }
  u16() { this.need(2); const v = this.view.getUint16(this.pos); this.pos += 2; return v }
  u32() { this.need(4); const v = this.view.getUint32(this.pos); this.pos += 4; return v }
  u64() { this.need(8); const v = this.view.getBigUint64(this.pos); this.pos += 8; return v }
  i8() { this.need(1); return this.view.getInt8(this.pos++) }
  i16() { this.need(2); const v = this.view.getInt16(this.pos); this.pos += 2; return v }
  i32() { this.need(4); const v = this.view.getInt32(this.pos); this.pos += 4; return v }
  i64() { this.need(8); const v = this.view.getBigInt64(this.pos); this.pos += 8; return v }
  f32() { this.need(4); const v = this.view.getFloat32(this.pos); this.pos += 4; return v }
  f64() { this.need(8); const v = this.view.getFloat64(this.pos); this.pos += 8; return v }
  raw(n: number) { this.need(n); const v = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return v }
  str(n: number) { return utf8.decode(this.raw(n)) }
}

const readArray = (r: Reader, n: number, depth: number): Array<unknown> => {
  const out: Array<unknown> = []
  for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1))
  return out
}

const readMap = (r: Reader, n: number, depth: number): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    const at = r.pos
    const key = readValue(r, depth + 1)
    if (typeof key !== "string") r.fail(`map key is not a string (${typeof key})`, at)
    // defineProperty: a key named "__proto__" becomes an own property, not the prototype.
    Object.defineProperty(out, key, { value: readValue(r, depth + 1), enumerable: true, writable: true, configurable: true })
  }
  return out
}

const readExt = (r: Reader, type: number, n: number): unknown => {
  const at = r.pos
  r.raw(n)
  // 0: unknown value; 0x0c: unknown value with refinements (a small map we do not need).
  if (type === 0 || type === 0x0c) return CtyUnknown
  return r.fail(`unsupported extension type ${type}`, at)
}

const readValue = (r: Reader, depth: number): unknown => {
  if (depth > MAX_DEPTH) r.fail("nesting too deep")
  const at = r.pos
  const b = r.u8()
  if (b <= 0x7f) return b
  if (b >= 0xe0) return b - 0x100
  if ((b & 0xf0) === 0x80) return readMap(r, b & 0x0f, depth)
  if ((b & 0xf0) === 0x90) return readArray(r, b & 0x0f, depth)
  if ((b & 0xe0) === 0xa0) return r.str(b & 0x1f)
  switch (b) {
    case 0xc0: return null
    case 0xc2: return false
    case 0xc3: return true
    case 0xc4: return r.raw(r.u8()).slice()
    case 0xc5: return r.raw(r.u16()).slice()
    case 0xc6: return r.raw(r.u32()).slice()
    case 0xc7: { const n = r.u8(); return readExt(r, r.i8(), n) }
    case 0xc8: { const n = r.u16(); return readExt(r, r.i8(), n) }
    case 0xc9: { const n = r.u32(); return readExt(r, r.i8(), n) }
    case 0xca: return r.f32()
    case 0xcb: return r.f64()
    case 0xcc: return r.u8()
    case 0xcd: return r.u16()
    case 0xce: return r.u32()
    case 0xcf: return toNumberIfSafe(r.u64())
    case 0xd0: return r.i8()
    case 0xd1: return r.i16()
    case 0xd2: return r.i32()
    case 0xd3: return toNumberIfSafe(r.i64())
    case 0xd4: return readExt(r, r.i8(), 1)
    case 0xd5: return readExt(r, r.i8(), 2)
    case 0xd6: return readExt(r, r.i8(), 4)
    case 0xd7: return readExt(r, r.i8(), 8)
    case 0xd8: return readExt(r, r.i8(), 16)
    case 0xd9: return r.str(r.u8())
    case 0xda: return r.str(r.u16())
    case 0xdb: return r.str(r.u32())
    case 0xdc: return readArray(r, r.u16(), depth)
    case 0xdd: return readArray(r, r.u32(), depth)
    case 0xde: return readMap(r, r.u16(), depth)
    case 0xdf: return readMap(r, r.u32(), depth)
    default: return r.fail(`invalid type byte 0x${b.toString(16)}`, at)
  }
}

/**
 * Decodes cty MessagePack bytes into plain JS values. Empty input (a plugin without a config
 * schema gets 0 bytes) decodes to `null`. Throws {@link CtyDecodeError} on malformed input.
 */
export const decodeCtyMsgpack = (bytes: Uint8Array): unknown => {
  if (bytes.length === 0) return null
  const r = new Reader(bytes)
  const value = readValue(r, 0)
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes after the value`)
  return value
}

/** {@link decodeCtyMsgpack} as an Effect. */
export const decodeCty = (bytes: Uint8Array): Effect.Effect<unknown, CtyDecodeError> =>
  Effect.try({
    try: () => decodeCtyMsgpack(bytes),
    catch: (e) => e instanceof CtyDecodeError ? e : new CtyDecodeError({ offset: 0, detail: String(e) })
  })
