// @ts-check
/**
 * Runs a bundled function's handler in this fresh process, the way FunctionGraph's Node.js
 * runtime does (require index.js once, call `handler(event, context)` per invocation, the
 * context of infra/local/fg-runner/runner.mjs), so the bench can read this process's own peak
 * RSS: the local FunctionGraph runs functions in worker threads of the emulator's process,
 * where one function's memory cannot be told apart.
 *
 * argv: <options.json> <result.json>. options: { bundle, event, invocations, timeoutSeconds,
 * memoryMb, functionName, projectId, ak, sk, token }. Plain JS: no tsx in the measured process.
 */
const { readFileSync, writeFileSync } = require("node:fs");
const { randomUUID } = require("node:crypto");
const { performance } = require("node:perf_hooks");

const [optionsPath, resultPath] = process.argv.slice(2);
if (!optionsPath || !resultPath)
  throw new Error("usage: handler-host.cjs <options.json> <result.json>");
const options = JSON.parse(readFileSync(optionsPath, "utf8"));

/** @param {number} deadline */
function context(deadline) {
  const requestId = randomUUID();
  return {
    getRequestID: () => requestId,
    getRemainingTimeInMilliSeconds: () => Math.max(0, deadline - Date.now()),
    getSecurityAccessKey: () => options.ak,
    getSecuritySecretKey: () => options.sk,
    getSecurityToken: () => options.token,
    getAccessKey: () => "",
    getSecretKey: () => "",
    getToken: () => "",
    getUserData: (/** @type {string} */ key) => process.env[key],
    getFunctionName: () => options.functionName,
    getRunningTimeInSeconds: () => options.timeoutSeconds,
    getVersion: () => "latest",
    getMemorySize: () => options.memoryMb,
    getCPUNumber: () => (options.memoryMb / 128) * 100,
    getPackage: () => "default",
    getProjectID: () => options.projectId,
    getAlias: () => "",
    getLogger: () => console,
  };
}

async function main() {
  const loadStarted = performance.now();
  const { handler } = require(options.bundle);
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoadMb = process.memoryUsage().rss / 1024 / 1024;
  const runs = [];
  for (let i = 0; i < options.invocations; i++) {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const report = await handler(
      options.event,
      context(Date.now() + options.timeoutSeconds * 1000),
    );
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const boxes = Array.isArray(report?.boxes) ? report.boxes : [];
    runs.push({
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      fleetMs: report?.durationMs,
      boxes: boxes.length,
      skipped: Array.isArray(report?.skipped) ? report.skipped.length : 0,
      errors: boxes.reduce(
        (n, /** @type {{errors?: unknown[]}} */ b) => n + (b.errors?.length ?? 0),
        0,
      ),
      notOk: boxes.filter((/** @type {any} */ b) => b.observations?.gateway?.status !== "ok")
        .length,
      boxMs: boxes.map((/** @type {{durationMs: number}} */ b) => b.durationMs),
    });
  }
  // maxRSS is in KiB: the process's peak resident set, whatever was freed since. FunctionGraph's
  // "MB" of memory are MiB.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  writeFileSync(resultPath, JSON.stringify({ loadMs, rssAfterLoadMb, runs, peakRssMb }));
}

main().then(
  () => process.exit(0),
  (error) => {
    writeFileSync(resultPath, JSON.stringify({ error: String(error?.stack ?? error) }));
    process.exit(1);
  },
);
