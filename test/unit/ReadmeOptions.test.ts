/** The README's option tables are generated from the option declarations and must be current. */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { updatedReadme } from "../../scripts/docs-options.ts"

describe("README option tables", () => {
  it("match the option declarations (run `npm run docs:options` after changing an option)", () => {
    const text = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8")
    expect(updatedReadme(text)).toBe(text)
    expect(text).toContain("| `image` |")
    expect(text).toContain("| `socket_path` |")
  })
})
