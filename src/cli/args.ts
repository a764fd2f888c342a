/**
 * Command-line parsing for the human CLI. Plain argv parsing on purpose: the executable must start
 * fast (Nomad waits on the plugin handshake, and `--help` should feel instant), and the grammar is
 * small: `<command> [file] [flag value | flag=value]...`, flags spelt `--flag` or, as Nomad's own
 * CLI spells them, `-flag` (`-var`, `-var-file`).
 */

/** The commands the CLI knows. */
export type CommandName = "validate" | "plan" | "run" | "doctor" | "version" | "help"

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: CommandName
  /** The job or config file (validate, plan, run). */
  readonly file?: string
  /** `--socket-path`: the Podman API address of the default socket (run, doctor). */
  readonly socketPath?: string
  /** `--task`: which podman task of a job file with several. */
  readonly task?: string
  /** `-var name=value` (repeatable). */
  readonly vars?: ReadonlyArray<string>
  /** `-var-file path` (repeatable). */
  readonly varFiles?: ReadonlyArray<string>
  /** `--plugin-config`: an agent config with the plugin block (or the block's `config` alone). */
  readonly pluginConfig?: string
  /** `--alloc-id`: the allocation id to use instead of a fixed one (plan) or a random one (run). */
  readonly allocId?: string
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

const jobFlags = ["task", "var", "var-file", "plugin-config"]

/** Which flags each command accepts (each takes one value). */
const flagsOf: Readonly<Record<CommandName, ReadonlyArray<string>>> = {
  validate: jobFlags,
  plan: [...jobFlags, "alloc-id"],
  run: [...jobFlags, "alloc-id", "socket-path"],
  doctor: ["socket-path", "plugin-config"],
  version: [],
  help: []
}

const repeatable: ReadonlySet<string> = new Set(["var", "var-file"])

/** Whether the command takes a file operand. */
const takesFile = (c: CommandName): boolean => c === "validate" || c === "plan" || c === "run"

const isCommand = (s: string): s is CommandName => (commands as ReadonlyArray<string>).includes(s)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

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
  const flags: Record<string, Array<string>> = {}
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
    if (arg.startsWith("-") && arg !== "-") {
      const bare = arg.replace(/^--?/, "")
      const eq = bare.indexOf("=")
      const name = eq === -1 ? bare : bare.slice(0, eq)
      if (!flagsOf[command].includes(name)) throw new UsageError(`${command}: unknown option ${arg.startsWith("--") ? "--" : "-"}${name}`)
      let value: string | undefined
      if (eq !== -1) value = bare.slice(eq + 1)
      else {
        value = argv[i + 1]
        i++
      }
      if (value === undefined || value === "") throw new UsageError(`${command}: option --${name} needs a value`)
      if (flags[name] !== undefined && !repeatable.has(name)) throw new UsageError(`${command}: option --${name} given twice`)
      ;(flags[name] ??= []).push(value)
      continue
    }
    operands.push(arg)
  }
  const one = (name: string) => flags[name]?.[0]
  if (takesFile(command)) {
    const fileOptional = command === "validate" && one("plugin-config") !== undefined
    if (operands.length > 1) throw new UsageError(`${command}: expected one <file>, got ${operands.length}`)
    if (operands.length === 0 && !fileOptional) throw new UsageError(`${command}: missing <file>`)
  } else if (operands.length > 0) {
    throw new UsageError(`${command}: unexpected argument ${operands[0]}`)
  }
  const allocId = one("alloc-id")
  if (allocId !== undefined && !UUID.test(allocId)) throw new UsageError(`${command}: --alloc-id must be a lowercase UUID like Nomad's (8-4-4-4-12 hex digits)`)
  if ((flags["var"]?.length ?? 0) + (flags["var-file"]?.length ?? 0) > 0 && operands.length === 0) {
    throw new UsageError(`${command}: -var and -var-file need a job <file>`)
  }
  return {
    command,
    ...(operands[0] !== undefined ? { file: operands[0] } : {}),
    ...(one("socket-path") !== undefined ? { socketPath: one("socket-path")! } : {}),
    ...(one("task") !== undefined ? { task: one("task")! } : {}),
    ...(flags["var"] ? { vars: flags["var"] } : {}),
    ...(flags["var-file"] ? { varFiles: flags["var-file"] } : {}),
    ...(one("plugin-config") !== undefined ? { pluginConfig: one("plugin-config")! } : {}),
    ...(allocId !== undefined ? { allocId } : {}),
    ...(verbose ? { verbose } : {})
  }
}

const jobOptions = `      --task NAME            the podman task, when the job has several
      -var NAME=VALUE        a variable's value (repeatable; as \`nomad job run -var\`)
      -var-file FILE         variable values from a file (repeatable)
      --plugin-config FILE   the agent config with the plugin block (sockets, volumes, logging, …)`

/** The main help text. */
export const usage = (program: string): string =>
  `${program}: Nomad task driver plugin for Podman (driver name "podman").

When Nomad starts this file (NOMAD_PLUGIN_MAGIC_COOKIE set) it serves the plugin protocol.
Run by hand, it is a CLI for jobs and configs:

Usage:
  ${program} validate <file> [job options]
  ${program} validate --plugin-config FILE
      Check a task (and the plugin config) as the plugin would; prints "valid", or one
      "file:line:col: field: reason" line per problem on stderr (exit 1).
  ${program} plan <file> [job options] [--alloc-id UUID]
      Print the libpod container spec (JSON) StartTask would send; nothing else on stdout.
  ${program} run <file> [job options] [--socket-path URI] [--alloc-id UUID] [--verbose]
      Run the task once on Podman with its output here, as the Nomad client would; exits with
      the task's exit code (125 when the driver fails). Ctrl-C, SIGTERM or SIGHUP stop it.
  ${program} doctor [--socket-path URI] [--plugin-config FILE] [--verbose]
      Check the Podman socket(s), say how to fix what is wrong, print the fingerprint.
  ${program} version
      Print the plugin version, the commit it was built from and the Node.js version.
  ${program} help [COMMAND]

Job options:
${jobOptions}

<file> is a Nomad job file (HCL or JSON) with one podman task (or pick one with --task), a bare
\`config { ... }\` block, or just the config attributes (HCL or a JSON object). HCL2 jobs are
evaluated as \`nomad job run\` does: variables (defaults, -var, -var-file, NOMAD_VAR_*), locals
and functions. The Podman socket defaults to --socket-path, else the plugin config's, else
$PODMAN_SOCKET, else unix:///run/podman/podman.sock (root) or
unix:///run/user/<uid>/podman/podman.sock.
`

/** Help for one command. */
export const commandUsage = (program: string, command: CommandName): string => {
  switch (command) {
    case "validate":
      return `Usage: ${program} validate [<file>] [job options]

Evaluates the job and checks its podman task exactly as the plugin does when Nomad starts it
(short of Podman itself); with --plugin-config, the plugin block too (alone when no <file>).
Prints "valid", or one "file:line:col: field: reason" line per problem on stderr and exits 1.

Job options:
${jobOptions}
`
    case "plan":
      return `Usage: ${program} plan <file> [job options] [--alloc-id UUID]

Prints the libpod SpecGenerator JSON (POST /libpod/containers/create) StartTask would send for
the task, computed by the driver's own code: the resolved image reference, ports, network,
DNS, mounts, plugin config. Deterministic: a fixed alloc id (or --alloc-id), dynamic ports
numbered from 20000, the alloc dir's name template; it assumes a rootful Podman on this host.
Only JSON goes to stdout; problems go to stderr (exit 1).

Job options:
${jobOptions}
`
    case "run":
      return `Usage: ${program} run <file> [job options] [--socket-path URI] [--alloc-id UUID] [--verbose]

Starts the task on Podman as the Nomad client would (a private alloc dir, the task's
environment, \${NOMAD_*}/\${attr.*} interpolation, free host ports printed once published),
streams its output here and exits with its exit code; 125 when the driver itself fails.
Ctrl-C, SIGTERM or SIGHUP stop it with the task's kill_signal, then SIGKILL after its
kill_timeout (default 5s); a second one kills it at once. The container and the alloc dir
are removed at the end.

Job options:
${jobOptions}
`
    case "doctor":
      return `Usage: ${program} doctor [--socket-path URI] [--plugin-config FILE] [--verbose]

Checks each Podman socket (the plugin config's, or --socket-path): that it exists, is a
socket, can be opened, answers, and runs a Podman the driver supports; says how to fix what
is wrong (exit 1). When healthy, prints Podman's version and the driver's fingerprint.
`
    case "version":
      return `Usage: ${program} version\n`
    case "help":
      return usage(program)
  }
}
