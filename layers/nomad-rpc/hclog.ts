/**
 * hclog-compatible JSON logging on stderr, the way go-plugin parses a plugin's stderr
 * (docs/protocol.md#logging-to-the-agent-hclog): one JSON object per line with string `@level`, `@message`, `@timestamp`
 * (exactly six fractional digits, otherwise the agent logs the raw line) and `@module`.
 *
 * stdout is reserved for the handshake line. After an agent crash nobody reads our stderr any
 * more (EPIPE): logging then stops silently instead of crashing the plugin.
 */
import { Cause, Layer, Logger, References } from "effect"
import type { LogLevel } from "effect/LogLevel"
import { boundedText } from "../../src/domain/values/text.ts"

/**
 * The longest message (and error) one log line carries, and the longest annotation value: the
 * values our errors repeat are cut to 200 characters already; these bound the rest, so no input
 * can make one line flood the agent's log.
 */
const MAX_MESSAGE_CHARS = 8192
const MAX_ANNOTATION_CHARS = 1024

/** `2026-01-02T03:04:05.123456Z`: hclog's layout, microseconds padded from JS milliseconds. */
export const hclogTimestamp = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z")

const LEVELS: Record<LogLevel, string> = {
  All: "trace",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "error",
  None: "error"
}

const render = (m: unknown): string => {
  if (typeof m === "string") return m
  if (m instanceof Error) return m.message
  try {
    return JSON.stringify(m) ?? String(m)
  } catch {
    return String(m)
  }
}

let stderrBroken = false

/** Stop writing to a stream once its reader is gone (EPIPE) instead of raising an uncaught error. */
export const guardStdio = (): void => {
  process.stderr.on("error", () => {
    stderrBroken = true
  })
  process.stdout.on("error", () => {})
}

/** One hclog JSON line (without the newline). */
export const formatHclog = (entry: {
  readonly level: LogLevel
  readonly message: unknown
  readonly date: Date
  readonly module: string
  readonly annotations?: Readonly<Record<string, unknown>>
  readonly error?: string
}): string => {
  const messages = Array.isArray(entry.message) ? entry.message : [entry.message]
  const line: Record<string, unknown> = {
    "@level": LEVELS[entry.level] ?? "info",
    "@message": boundedText(messages.map(render).join(" "), MAX_MESSAGE_CHARS),
    "@timestamp": hclogTimestamp(entry.date),
    "@module": entry.module
  }
  for (const [k, v] of Object.entries(entry.annotations ?? {})) {
    if (!k.startsWith("@")) line[k] = typeof v === "string" ? boundedText(v, MAX_ANNOTATION_CHARS) : v
  }
  if (entry.error !== undefined) line.error = boundedText(entry.error, MAX_MESSAGE_CHARS)
  return JSON.stringify(line)
}

/** The logger: writes hclog JSON lines to `write` (stderr by default). */
export const hclogLogger = (module: string, write: (line: string) => void = (l) => {
  if (!stderrBroken) process.stderr.write(l)
}) =>
  Logger.make(({ cause, date, fiber, logLevel, message }) => {
    const annotations = fiber.getRef(References.CurrentLogAnnotations)
    write(formatHclog({
      level: logLevel,
      message,
      date,
      module,
      annotations,
      ...(cause.reasons.length > 0 ? { error: Cause.pretty(cause) } : {})
    }) + "\n")
  })

/** Replaces the default (stdout) logger with hclog JSON on stderr. */
export const HclogLayer = (module = "nomad-driver-podman", minimumLevel: LogLevel = "Debug") =>
  Layer.merge(Logger.layer([hclogLogger(module)]), Layer.succeed(References.MinimumLogLevel, minimumLevel))
