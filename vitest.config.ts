/**
 * Five vitest projects, by what they need from the machine (README, "Tests"):
 *  - unit, property: pure logic. No Podman, no processes, no sockets: `test/support/noPodman.ts`
 *    removes the sandbox's environment and refuses any connection to a Podman socket.
 *  - local: real processes, unix sockets and FIFOs on this machine, still no Podman (same guard).
 *  - integration, e2e: real Podman. `test/support/globalSetup.ts` starts one private Podman API
 *    service and registry per run, shared by both projects, and only when one of them has a file
 *    to run (`npx vitest run --project unit` starts nothing).
 *  - chaos: the built plugin under fuzzed input, plugin kills and Podman restarts
 *    (test/chaos/support/settings.ts). It restarts its Podman service, so it has a sandbox of its
 *    own (test/chaos/support/globalSetup.ts) and runs its files one after the other. `npm test`
 *    runs it at small counts, `npm run chaos` at full counts.
 */
import { defineConfig } from "vitest/config"

const noPodman = { setupFiles: ["test/support/noPodman.ts"] }
const withPodman = { globalSetup: ["test/support/globalSetup.ts"] }

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The Podman tests share one private Podman service; run files in parallel but keep the total
    // load sane on a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], ...noPodman } },
      { extends: true, test: { name: "property", include: ["test/property/**/*.test.ts"], ...noPodman } },
      { extends: true, test: { name: "local", include: ["test/local/**/*.test.ts"], ...noPodman } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], ...withPodman } },
      { extends: true, test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], ...withPodman } },
      {
        extends: true,
        test: {
          name: "chaos",
          include: ["test/chaos/**/*.test.ts"],
          globalSetup: ["test/chaos/support/globalSetup.ts"],
          fileParallelism: false,
          testTimeout: 3_600_000
        }
      }
    ]
  }
})
