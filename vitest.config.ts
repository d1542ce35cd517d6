import { defineConfig } from "vitest/config";

const resultsFile = process.env.CLAWWATCH_TEST_RESULTS;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/openclaw/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
    // CI reads a plain "N passed, N failed" line; .ci/run prints it from this JSON.
    ...(resultsFile ? { reporters: ["default", "json"], outputFile: { json: resultsFile } } : {}),
  },
});
