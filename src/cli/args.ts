/**
 * Command-line parsing for the human CLI. Plain argv parsing on purpose: the executable must start
 * fast (Nomad waits on the plugin handshake, and `--help` should feel instant), and the grammar is
 * small: `<command> [file] [--flag value | --flag=value]...`.
 */

/** The commands the CLI knows. */
export type CommandName = "validate" | "plan" | "run" | "doctor" | "version" | "help"

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: CommandName
  /** The job or config file (validate, plan, run). */
  readonly file?: string
  /** `--socket-path`: the Podman API address (run, doctor). */
  readonly socketPath?: string
  /** `--task`: which podman task of a job file with several. */
  readonly task?: string
  /** The command named after `help` (`help run`), for per-command help. */
  readonly helpFor?: CommandName
  /** `--verbose`: show the driver's debug logs (run, doctor). */
  readonly verbose?: boolean
}

/** A command line the CLI cannot make sense of; printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

const commands: ReadonlyArray<CommandName> = ["validate", "plan", "run", "doctor", "version", "help"]

/** Which flags each command accepts (each takes one value). */
const flagsOf: Readonly<Record<CommandName, ReadonlyArray<string>>> = {
  validate: ["task"],
  plan: ["task"],
  run: ["task", "socket-path"],
  doctor: ["socket-path"],
  version: [],
  help: []
}

/** Whether the command takes a file operand. */
const takesFile = (c: CommandName): boolean => c === "validate" || c === "plan" || c === "run"

const isCommand = (s: string): s is CommandName => (commands as ReadonlyArray<string>).includes(s)

/** Parses `argv` (without the node/executable path). Throws UsageError on anything unknown. */
export const parseArgs = (argv: ReadonlyArray<string>): ParsedArgs => {
  if (argv.length === 0 || argv[0] === "-h" || argv[0] === "--help") return { command: "help" }
  if (argv[0] === "-v" || argv[0] === "--version") return { command: "version" }
  const first = argv[0]!
  if (!isCommand(first)) throw new UsageError(`unknown command: ${first}`)
  const command = first
  if (command === "help") {
    const about = argv[1]
    if (about === undefined) return { command: "help" }
    if (!isCommand(about)) throw new UsageError(`unknown command: ${about}`)
    return { command: "help", helpFor: about }
  }
  const flags: Record<string, string> = {}
  const operands: Array<string> = []
  let verbose = false
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "-h" || arg === "--help") return { command: "help", helpFor: command }
    if (arg === "--") {
      operands.push(...argv.slice(i + 1))
      break
    }
    if ((arg === "--verbose" || arg === "-v") && (command === "run" || command === "doctor")) {
      verbose = true
      continue
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=")
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      if (!flagsOf[command].includes(name)) throw new UsageError(`${command}: unknown option --${name}`)
      let value: string | undefined
      if (eq !== -1) value = arg.slice(eq + 1)
      else {
        value = argv[i + 1]
        i++
      }
      if (value === undefined || value === "") throw new UsageError(`${command}: option --${name} needs a value`)
      flags[name] = value
      continue
    }
    if (arg.startsWith("-") && arg !== "-") throw new UsageError(`${command}: unknown option ${arg}`)
    operands.push(arg)
  }
  if (takesFile(command)) {
    if (operands.length !== 1) {
      throw new UsageError(operands.length === 0 ? `${command}: missing <file>` : `${command}: expected one <file>, got ${operands.length}`)
    }
  } else if (operands.length > 0) {
    throw new UsageError(`${command}: unexpected argument ${operands[0]}`)
  }
  return {
    command,
    ...(operands[0] !== undefined ? { file: operands[0] } : {}),
    ...(flags["socket-path"] !== undefined ? { socketPath: flags["socket-path"] } : {}),
    ...(flags["task"] !== undefined ? { task: flags["task"] } : {}),
    ...(verbose ? { verbose } : {})
  }
}

/** The main help text. */
export const usage = (program: string): string =>
  `${program}: Nomad task driver plugin for Podman (driver name "podman").

When Nomad starts this file (NOMAD_PLUGIN_MAGIC_COOKIE set) it serves the plugin protocol.
Run by hand, it is a CLI for task configs:

Usage:
  ${program} validate <file> [--task NAME]
      Check a task config as the plugin decodes it; prints "valid" or one "field: reason" per issue.
  ${program} plan <file> [--task NAME]
      Print the libpod container spec (JSON) the task becomes.
  ${program} run <file> [--task NAME] [--socket-path URI]
      Run the task once on local Podman with its output here; exits with the container's exit
      code. Ctrl-C stops the task and removes the container.
  ${program} doctor [--socket-path URI]
      Check the Podman socket; print the driver's fingerprint attributes and health.
  ${program} version
      Print the plugin version, the commit it was built from and the Node.js version.
  ${program} help [COMMAND]

<file> is a Nomad job file (HCL or JSON) with one podman task (or pick one with --task), a bare
\`config { ... }\` block, or just the config attributes (HCL or a JSON object).
The Podman socket defaults to $PODMAN_SOCKET, else the plugin default
(unix:///run/podman/podman.sock as root, unix:///run/user/<uid>/podman/podman.sock otherwise).
`

/** Help for one command. */
export const commandUsage = (program: string, command: CommandName): string => {
  switch (command) {
    case "validate":
      return `Usage: ${program} validate <file> [--task NAME]\n\nDecodes the task's config block exactly as the plugin does when Nomad sends it.\nPrints "valid", or one "field: reason" line per issue and exits 1.\n`
    case "plan":
      return `Usage: ${program} plan <file> [--task NAME]\n\nPrints the libpod SpecGenerator JSON (POST /libpod/containers/create) the task becomes,\nassuming a rootful Podman on this host. Dynamic ports get free host ports.\n`
    case "run":
      return `Usage: ${program} run <file> [--task NAME] [--socket-path URI] [--verbose]\n\nStarts the task on Podman, streams its output here and exits with its exit code.\nCtrl-C stops the task (its kill signal, then SIGKILL after 5 s) and removes the container;\na second Ctrl-C kills it at once.\n`
    case "doctor":
      return `Usage: ${program} doctor [--socket-path URI] [--verbose]\n\nPings the Podman API, prints its version, the driver's fingerprint attributes and health.\nExits 1 when the driver would report itself unhealthy.\n`
    case "version":
      return `Usage: ${program} version\n`
    case "help":
      return usage(program)
  }
}
