import { defineConfig } from "vitest/config";

// Three tiers (design.md "Tests"): unit (no I/O), integration (real PostgreSQL,
// PGlite, HTTP), e2e (a private Prosody per test file). One command runs all.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Two cores: e2e files each start a Prosody and a router; more at once only adds contention.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
