/**
 * Counts of what happened in a chaos run, by kind, with a few examples each; printed at the end
 * of a file and written to `.chaos/<name>.json` (git-ignored) for the record. `assertNone` is how a
 * test states an invariant: zero of that kind.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { expect } from "vitest"
import { REPO_ROOT } from "../../support/processes.ts"
import { settings } from "./settings.ts"

const MAX_EXAMPLES = 5

export class Tally {
  readonly counts = new Map<string, number>()
  readonly examples = new Map<string, Array<string>>()
  constructor(readonly name: string) {}

  add(kind: string, example?: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n)
    if (example !== undefined) {
      const list = this.examples.get(kind) ?? []
      if (list.length < MAX_EXAMPLES) list.push(example.length > 300 ? `${example.slice(0, 300)}…` : example)
      this.examples.set(kind, list)
    }
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0
  }

  /** The invariant "none of `kind`" (a soft assertion: every invariant of a run is reported). */
  assertNone(kind: string): void {
    const n = this.get(kind)
    if (n === 0) return
    expect.soft(n, `${this.name}: ${kind} (${(this.examples.get(kind) ?? []).join(" | ")})`).toBe(0)
  }

  /** Prints the summary and writes it under .chaos/. */
  report(extra: Record<string, unknown> = {}): void {
    const summary = {
      name: this.name,
      profile: settings.profile,
      seed: settings.seed,
      ...extra,
      counts: Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
      examples: Object.fromEntries(this.examples)
    }
    const text = JSON.stringify(summary, null, 2)
    process.stdout.write(`chaos ${this.name}: ${text}\n`)
    const dir = path.join(REPO_ROOT, ".chaos")
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, `${this.name}.json`), text + "\n")
  }
}
