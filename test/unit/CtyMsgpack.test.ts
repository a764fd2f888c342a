import { describe, expect, it } from "vitest"
import { CtyDecodeError, CtyUnknown, decodeCtyMsgpack } from "../../layers/nomad-rpc/cty.ts"
import { CtyDecimal, ctyEncode } from "../support/nomad/ctyEncode.ts"

/** "a4 'args' 92 ..." → bytes: hex pairs, and quoted ASCII runs. */
const bytes = (spec: string): Uint8Array => {
  const out: Array<number> = []
  for (const tok of spec.match(/"[^"]*"|[0-9a-f]{2}/g) ?? []) {
    if (tok.startsWith("\"")) out.push(...Buffer.from(tok.slice(1, -1), "utf8"))
    else out.push(parseInt(tok, 16))
  }
  return Uint8Array.from(out)
}

describe("cty msgpack: a worked example (a task config as Nomad encodes it)", () => {
  const wire = bytes(`
    89 a4"args" 92 a2"hi" a1"1"  a7"command" a9"/bin/echo"  a7"enabled" c2  a3"env" 81 a1"A" a1"1"
    a6"labels" c0  a5"mount" 91 82 a8"readonly" c0 a6"source" a2"/a"  a3"opt" 91 81 a1"k" a1"v"
    a4"port" cd 1f 90  a5"ratio" cb 3f e0 00 00 00 00 00 00`)
  const value = {
    args: ["hi", "1"],
    command: "/bin/echo",
    enabled: false,
    env: { A: "1" },
    labels: null,
    mount: [{ readonly: null, source: "/a" }],
    opt: [{ k: "v" }],
    port: 8080,
    ratio: 0.5
  }

  it("decodes to plain values", () => {
    expect(decodeCtyMsgpack(wire)).toStrictEqual(value)
  })

  it("the test encoder reproduces the bytes exactly", () => {
    expect(Buffer.from(ctyEncode(value)).toString("hex")).toBe(Buffer.from(wire).toString("hex"))
  })

  it("decoded maps are plain objects", () => {
    const v = decodeCtyMsgpack(wire) as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(v.env)).toBe(Object.prototype)
  })
})

describe("cty msgpack: single values", () => {
  const cases: Array<[string, unknown, string]> = [
    ["nil", null, "c0"],
    ["false", false, "c2"],
    ["true", true, "c3"],
    ["fixstr", "hi", "a2 6869"],
    ["positive fixint", 7, "07"],
    ["uint8", 200, "cc c8"],
    ["uint16", 8080, "cd 1f 90"],
    ["uint32", 70000, "ce 00 01 11 70"],
    ["uint64", 5000000000, "cf 00 00 00 01 2a 05 f2 00"],
    ["negative fixint", -1, "ff"],
    ["int8", -33, "d0 df"],
    ["int16", -200, "d1 ff 38"],
    ["float64 0.5", 0.5, "cb 3f e0 00 00 00 00 00 00"],
    ["float64 1.5", 1.5, "cb 3f f8 00 00 00 00 00 00"],
    ["+Inf", Infinity, "cb 7f f0 00 00 00 00 00 00"],
    ["-Inf", -Infinity, "cb ff f0 00 00 00 00 00 00"],
    ["list", ["a", "b"], "92 a1 61 a1 62"],
    ["empty list", [], "90"],
    ["map with sorted keys", { a: "1", b: "2" }, "82 a1 61 a1 31 a1 62 a1 32"],
    ["empty map", {}, "80"]
  ]
  for (const [name, value, hex] of cases) {
    it(`${name}: ${hex}`, () => {
      const wire = bytes(hex)
      expect(decodeCtyMsgpack(wire)).toStrictEqual(value)
      expect(Buffer.from(ctyEncode(value)).toString("hex")).toBe(Buffer.from(wire).toString("hex"))
    })
  }

  it("a non-exact number (0.1) arrives as its decimal text and stays a string", () => {
    expect(Buffer.from(ctyEncode(new CtyDecimal("0.1"))).toString("hex")).toBe("a3302e31")
    expect(decodeCtyMsgpack(bytes("a3 30 2e 31"))).toBe("0.1")
  })

  it("an integer outside int64 (1e20) arrives as decimal text", () => {
    const wire = bytes(`b5 "100000000000000000000"`)
    expect(Buffer.from(ctyEncode(10n ** 20n))).toStrictEqual(Buffer.from(wire))
    expect(decodeCtyMsgpack(wire)).toBe("100000000000000000000")
  })

  it("int64 beyond 2^53 becomes a bigint; int64 within stays a number", () => {
    expect(decodeCtyMsgpack(bytes("cf 00 20 00 00 00 00 00 00"))).toBe(2n ** 53n)
    expect(decodeCtyMsgpack(bytes("cf 00 1f ff ff ff ff ff ff"))).toBe(2 ** 53 - 1)
    expect(decodeCtyMsgpack(bytes("d3 80 00 00 00 00 00 00 00"))).toBe(-(2n ** 63n))
    expect(decodeCtyMsgpack(bytes("d3 ff ff ff ff ff ff ff fe"))).toBe(-2)
  })

  it("str8/str16 and array16/map16 forms", () => {
    const long = "x".repeat(300)
    expect(decodeCtyMsgpack(ctyEncode(long))).toBe(long)
    expect(ctyEncode("y".repeat(40))[0]).toBe(0xd9)
    const arr = Array.from({ length: 20 }, (_, i) => i)
    expect(ctyEncode(arr)[0]).toBe(0xdc)
    expect(decodeCtyMsgpack(ctyEncode(arr))).toStrictEqual(arr)
    const obj = Object.fromEntries(arr.map((i) => [`k${String(i).padStart(2, "0")}`, i]))
    expect(ctyEncode(obj)[0]).toBe(0xde)
    expect(decodeCtyMsgpack(ctyEncode(obj))).toStrictEqual(obj)
  })

  it("the unknown value (fixext1 type 0) and the refined unknown (ext 0x0c)", () => {
    expect(decodeCtyMsgpack(bytes("d4 00 00"))).toBe(CtyUnknown)
    expect(decodeCtyMsgpack(bytes("c7 03 0c 81 01 c3"))).toBe(CtyUnknown)
    expect(decodeCtyMsgpack(bytes(`81 a1"a" d4 00 00`))).toStrictEqual({ a: CtyUnknown })
  })

  it("the dynamic wrapper decodes as [type JSON bytes, value]", () => {
    const wire = Uint8Array.from([0x92, 0xc4, 0x08, ...Buffer.from("\"string\""), 0xa1, 0x78])
    const d = decodeCtyMsgpack(wire) as [Uint8Array, string]
    expect(Buffer.from(d[0]).toString()).toBe("\"string\"")
    expect(d[1]).toBe("x")
  })

  it("empty input (no plugin config schema) decodes to null", () => {
    expect(decodeCtyMsgpack(new Uint8Array())).toBeNull()
  })

  it("a __proto__ key becomes an own property", () => {
    const v = decodeCtyMsgpack(ctyEncode(JSON.parse(`{"__proto__": {"polluted": true}}`))) as Record<string, unknown>
    expect(Object.keys(v)).toStrictEqual(["__proto__"])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("malformed input fails with the offset", () => {
    expect(() => decodeCtyMsgpack(bytes("92 a1"))).toThrow(CtyDecodeError)
    expect(() => decodeCtyMsgpack(bytes("c1"))).toThrow(/byte 0: invalid type byte 0xc1/)
    expect(() => decodeCtyMsgpack(bytes("c0 c0"))).toThrow(/trailing/)
    expect(() => decodeCtyMsgpack(bytes("81 01 c0"))).toThrow(/map key is not a string/)
    expect(() => decodeCtyMsgpack(bytes("d4 05 00"))).toThrow(/extension type 5/)
  })
})
