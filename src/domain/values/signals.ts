/**
 * Signals, with Linux numbering: the config's `kill_signal`, the signals Nomad asks for (StopTask,
 * SignalTask) and the stop signal Podman reports for an image. A `Signal` carries both the number
 * (what libpod's spec takes) and the canonical name (what the kill endpoints take).
 */
import { fromParser, quote, type TextCodec } from "./text.ts"

/** A Linux signal: its number and canonical name (`SIGTERM`, `SIGRTMIN+2`). */
export interface Signal {
  readonly number: number
  readonly name: string
}

/** Linux signal numbers by name without the `SIG` prefix; the first name of a number is its canonical one. */
const linuxSignals: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29,
  PWR: 30, SYS: 31, RTMIN: 34, RTMAX: 64
}

const RTMIN = 34
const RTMAX = 64

/**
 * The signal numbered `n`, named as Podman names them (`SIGRTMIN+1`…`SIGRTMIN+15`, then
 * `SIGRTMAX-14`…`SIGRTMAX-1`). 32 and 33 are reserved by the C library and have no signal.
 */
export const signalOf = (n: number): Signal | undefined => {
  if (!Number.isInteger(n) || n < 1 || n > RTMAX) return undefined
  const named = Object.keys(linuxSignals).find((k) => linuxSignals[k] === n)
  if (named !== undefined) return { number: n, name: `SIG${named}` }
  if (n > RTMIN && n <= RTMIN + 15) return { number: n, name: `SIGRTMIN+${n - RTMIN}` }
  if (n > RTMIN + 15 && n < RTMAX) return { number: n, name: `SIGRTMAX-${RTMAX - n}` }
  return undefined
}

/** A signal written `SIGTERM`, `TERM`, `sigterm`, `SIGRTMIN+3` or `15`; unknown → `undefined`. */
export const parseSignal = (text: string): Signal | undefined => {
  const s = text.trim().toUpperCase()
  if (/^\d+$/.test(s)) return signalOf(Number(s))
  const name = s.startsWith("SIG") ? s.slice(3) : s
  const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name)
  if (rt !== null) {
    const n = name.startsWith("RTMIN") ? RTMIN + Number(rt[1]) : RTMAX - Number(rt[1])
    return n >= RTMIN && n <= RTMAX ? signalOf(n) : undefined
  }
  return Object.hasOwn(linuxSignals, name) ? signalOf(linuxSignals[name]!) : undefined
}

/** SIGTERM: the stop signal when neither Nomad, the task nor the image names one. */
export const SIGTERM: Signal = { number: 15, name: "SIGTERM" }
/** SIGKILL. */
export const SIGKILL: Signal = { number: 9, name: "SIGKILL" }

/** The codec of signal options (`kill_signal`). */
export const signal: TextCodec<Signal> = fromParser(parseSignal, (s) => s.name, (s) => `unknown signal ${quote(s)}`)
