/**
 * Signal names for the driver, over the one signal table in src/translate/values.ts.
 */
import { linuxSignals, signalNumber } from "../translate/values.ts"

/** `15`, `TERM`, `sigterm` → `SIGTERM`; `undefined` when unknown. */
export const signalName = (signal: string | number): string | undefined => {
  const n = typeof signal === "number" ? signal : signalNumber(signal)
  if (n === undefined) return undefined
  const name = Object.keys(linuxSignals).find((k) => linuxSignals[k] === n)
  return name === undefined ? undefined : `SIG${name}`
}
