// Runs the whole suite (vitest starts its own Podman service and registry in test/support/globalSetup.ts)
// and prints the closing line "N passed, N failed" that CI reads.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"

const out = "vitest.json"
rmSync(out, { force: true })
const args = ["run", "--reporter=default", "--reporter=json", `--outputFile=${out}`, ...process.argv.slice(2)]
const r = spawnSync("node_modules/.bin/vitest", args, { stdio: "inherit" })
if (!existsSync(out)) {
  console.log("0 passed, 1 failed")
  process.exit(r.status || 1)
}
const j = JSON.parse(readFileSync(out, "utf8"))
const failedSuites = (j.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length
let failed = j.numFailedTests + failedSuites
// A non-zero exit with no failed test is a failure outside the tests (e.g. the global teardown
// found leftover containers): count it, so the closing line never says "0 failed" on a red run.
if (r.status !== 0 && failed === 0) failed = 1
console.log(`${j.numPassedTests} passed, ${failed} failed, ${j.numPendingTests + j.numTodoTests} skipped`)
process.exit(r.status ?? 1)
