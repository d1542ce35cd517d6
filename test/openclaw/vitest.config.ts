import { defineConfig } from "vitest/config";

const resultsFile = process.env.CLAWWATCH_TEST_RESULTS;

/**
 * `npm run test:openclaw`: the suite against the real OpenClaw gateway (npm run openclaw:setup
 * first). Not part of `npm test`: each gateway takes ~1 GB and 10–30 s to boot, so the files run
 * one at a time and the waits are minutes, not seconds.
 */
export default defineConfig({
  test: {
    include: ["test/openclaw/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: "forks",
    fileParallelism: false,
    env: { CLAWWATCH_GUEST: "openclaw" },
    // CI prints a plain "N passed, N failed" line from this JSON (see .ci/run).
    ...(resultsFile ? { reporters: ["default", "json"], outputFile: { json: resultsFile } } : {}),
  },
});
