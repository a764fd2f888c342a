/**
 * Conformance of the RPC layer's pure pieces against PROTOCOL.md (each test names its section).
 */
import { describe, expect, it } from "vitest"
import { toExecInputs } from "../../layers/nomad-rpc/handlers.ts"
import { ExecTaskStreamingRequest } from "../../proto/gen/plugins/drivers/proto/driver.ts"

/** A request as it arrives off the wire (absent sub-messages are undefined). */
const msg = (m: {
  readonly stdin?: { readonly data: Uint8Array; readonly close: boolean }
  readonly ttySize?: { readonly height: number; readonly width: number }
}) =>
  ExecTaskStreamingRequest.decode(ExecTaskStreamingRequest.encode(ExecTaskStreamingRequest.fromPartial({
    ...(m.stdin ? { stdin: { data: new Uint8Array(m.stdin.data), close: m.stdin.close } } : {}),
    ...(m.ttySize ? { ttySize: { height: m.ttySize.height, width: m.ttySize.width } } : {})
  })).finish())

describe("ExecTaskStreaming input messages (§3.3 ExecTaskStreaming 2.)", () => {
  it("an empty message is a heartbeat: no input", () => {
    expect(toExecInputs(msg({}))).toStrictEqual([])
  })

  it("stdin data, stdin close, resize as separate messages", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("hi"), close: false } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("hi")) }
    ])
    expect(toExecInputs(msg({ stdin: { data: new Uint8Array(), close: true } }))).toStrictEqual([{ _tag: "StdinClose" }])
    expect(toExecInputs(msg({ ttySize: { height: 100, width: 80 } }))).toStrictEqual([{ _tag: "Resize", height: 100, width: 80 }])
  })

  it("data and close in ONE message: the close is not lost (else `cat` never sees EOF)", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("x\n"), close: true } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("x\n")) },
      { _tag: "StdinClose" }
    ])
  })

  it("a resize riding along with stdin is applied too", () => {
    expect(toExecInputs(msg({ stdin: { data: Buffer.from("a"), close: false }, ttySize: { height: 50, width: 40 } }))).toStrictEqual([
      { _tag: "Stdin", data: new Uint8Array(Buffer.from("a")) },
      { _tag: "Resize", height: 50, width: 40 }
    ])
  })
})
