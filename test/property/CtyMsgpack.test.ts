import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CtyUnknown, decodeCtyMsgpack } from "../../layers/nomad-rpc/cty.ts"
import { CtyDecimal, ctyEncode } from "../support/nomad/ctyEncode.ts"

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

/** What the decoder must give back for a value the cty encoder wrote. */
const expected = (v: unknown): unknown => {
  if (v === undefined) return null
  if (v instanceof CtyDecimal) return v.text
  if (typeof v === "bigint") {
    if (v < INT64_MIN || v > INT64_MAX) return v.toString()
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) {
    // an integral float64 beyond 2^53: cty sees an integer
    const big = BigInt(v)
    return big < INT64_MIN || big > INT64_MAX ? big.toString() : big
  }
  if (Object.is(v, -0)) return 0
  if (Array.isArray(v)) return v.map(expected)
  if (v !== null && typeof v === "object" && v !== CtyUnknown) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expected(x)]))
  }
  return v
}

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ minLength: 30, maxLength: 300 }),
  fc.integer(),
  fc.integer({ min: -200, max: 300 }),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.stringMatching(/^-?[0-9]{1,5}\.[0-9]{1,5}$/).map((s) => new CtyDecimal(s)),
  fc.constant(CtyUnknown)
)

const ctyValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("list"), tie("map")),
  list: fc.array(tie("value"), { maxLength: 20 }),
  map: fc.dictionary(fc.string({ maxLength: 12 }), tie("value"), { maxKeys: 20 })
})).value

describe("cty msgpack round trip", () => {
  it("random values encoded the cty way decode back", () => {
    fc.assert(
      fc.property(ctyValue, (v) => {
        expect(decodeCtyMsgpack(ctyEncode(v))).toStrictEqual(expected(v))
      }),
      { numRuns: 500 }
    )
  })

  it("map keys are written in byte order, so encoding is canonical", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), fc.integer()), (m) => {
        const reordered = Object.fromEntries(Object.entries(m).reverse())
        expect(Buffer.from(ctyEncode(reordered))).toStrictEqual(Buffer.from(ctyEncode(m)))
        const sorted = (o: object) => Object.entries(o).sort(([a], [b]) => byteOrder(a, b))
        expect(Object.entries(decodeCtyMsgpack(ctyEncode(m)) as object)).toStrictEqual(sorted(m))
      })
    )
  })

  it("integers use the smallest form", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (n) => {
        const len = ctyEncode(n).length
        const want = n >= -32n && n <= 127n ? 1
          : n >= 0n ? (n <= 0xffn ? 2 : n <= 0xffffn ? 3 : n <= 0xffffffffn ? 5 : 9)
          : n >= -128n ? 2 : n >= -32768n ? 3 : n >= -(2n ** 31n) ? 5 : 9
        expect(len).toBe(want)
      })
    )
  })
})
