/**
 * Test support for the CLI: runs `runCli` in-process with captured stdout/stderr.
 */
import { runCli } from "../../src/cli/commands.ts"

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const cli = async (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Promise<CliResult> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    program: "nomad-driver-podman"
  })
  return { code, stdout: out.join("\n"), stderr: err.join("\n") }
}
