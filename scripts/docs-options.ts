/**
 * Regenerates the option tables in README.md (between `<!-- options:begin -->` and
 * `<!-- options:end -->`) from the option declarations in src/domain. `--check` exits 1 when the
 * README is out of date (the unit suite runs it).
 */
import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { renderPluginOptionsTable } from "../src/domain/PluginConfig.ts"
import { renderTaskOptionsTable } from "../src/domain/TaskConfig.ts"

const readme = path.resolve(import.meta.dirname, "../README.md")

export const renderOptionsSection = (): string =>
  [
    "<!-- options:begin -->",
    "### Plugin options (`plugin \"nomad-driver-podman\" { config { … } }`)",
    "",
    renderPluginOptionsTable().trim(),
    "",
    "### Task options (`task { driver = \"podman\" config { … } }`)",
    "",
    renderTaskOptionsTable().trim(),
    "<!-- options:end -->"
  ].join("\n")

export const updatedReadme = (text: string): string =>
  text.replace(/<!-- options:begin -->[\s\S]*<!-- options:end -->/, renderOptionsSection())

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const text = readFileSync(readme, "utf8")
  const next = updatedReadme(text)
  if (process.argv.includes("--check")) {
    if (next !== text) {
      console.error("README.md option tables are out of date: run `npm run docs:options`")
      process.exit(1)
    }
  } else {
    writeFileSync(readme, next)
  }
}
