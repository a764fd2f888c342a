// Runs vitest (every project, or the ones named with --project) and prints the closing line
// "N passed, N failed" that CI reads. The integration and e2e projects start their own Podman
// service and registry (test/support/globalSetup.ts).
//
// Vitest and its workers run on the project's Node 22 (node_modules/.bin/node, the runtime package
// that scripts/node-runtimes pins in the lockfile)
// whatever node runs this script: the machine's `node` may be older, and PATH outside npm does not
// have node_modules/.bin first. Child processes the tests spawn find the same Node first on PATH.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const bin = path.join(root, "node_modules", ".bin")
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(bin, "node")
if (!existsSync(node)) {
  console.error(`${node} is missing: run npm ci (scripts/node-runtimes pins Node 22)`)
  console.log("0 passed, 1 failed")
  process.exit(1)
}

console.log(`vitest on node ${spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim()} (${path.relative(root, node) || node})`)

const out = path.join(root, "vitest.json")
rmSync(out, { force: true })
const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs")
const args = [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile=${out}`, ...process.argv.slice(2)]
const r = spawnSync(node, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, PATH: [bin, process.env.PATH ?? ""].join(path.delimiter) }
})
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
