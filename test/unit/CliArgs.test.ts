/**
 * The CLI's argv grammar: commands, operands, flags in both spellings, and the usage errors.
 */
import { describe, expect, it } from "vitest"
import { parseArgs, UsageError } from "../../src/cli/args.ts"

describe("parseArgs", () => {
  it("no arguments, -h and --help mean help", () => {
    expect(parseArgs([])).toEqual({ command: "help" })
    expect(parseArgs(["-h"])).toEqual({ command: "help" })
    expect(parseArgs(["--help"])).toEqual({ command: "help" })
  })

  it("help for one command", () => {
    expect(parseArgs(["help", "run"])).toEqual({ command: "help", helpFor: "run" })
    expect(parseArgs(["plan", "--help"])).toEqual({ command: "help", helpFor: "plan" })
  })

  it("version", () => {
    expect(parseArgs(["version"])).toEqual({ command: "version" })
    expect(parseArgs(["--version"])).toEqual({ command: "version" })
  })

  it("file operand and flags, --flag value and --flag=value", () => {
    expect(parseArgs(["validate", "job.hcl"])).toEqual({ command: "validate", file: "job.hcl" })
    expect(parseArgs(["run", "job.hcl", "--socket-path", "unix:///x.sock", "--task=web"])).toEqual({
      command: "run",
      file: "job.hcl",
      socketPath: "unix:///x.sock",
      task: "web"
    })
    expect(parseArgs(["doctor", "--socket-path=unix:///y.sock"])).toEqual({ command: "doctor", socketPath: "unix:///y.sock" })
  })

  it("rejects unknown commands, unknown flags, missing values and operands", () => {
    expect(() => parseArgs(["frobnicate"])).toThrow(UsageError)
    expect(() => parseArgs(["validate"])).toThrow(/missing <file>/)
    expect(() => parseArgs(["validate", "a", "b"])).toThrow(/expected one <file>/)
    expect(() => parseArgs(["plan", "a", "--socket-path", "x"])).toThrow(/unknown option --socket-path/)
    expect(() => parseArgs(["run", "a", "--socket-path"])).toThrow(/needs a value/)
    expect(() => parseArgs(["doctor", "extra"])).toThrow(/unexpected argument/)
    expect(() => parseArgs(["run", "a", "-x"])).toThrow(/unknown option -x/)
  })
})
