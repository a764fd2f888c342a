import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Podman integration tests share one private Podman service; run files in parallel
    // but keep the total load sane on a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true
  }
})
