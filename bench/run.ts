/**
 * `npm run bench`: issue 7's benchmark. Measures cold start, cycle latency, fleet size, a
 * simulated month and the cost per box-month; prints a table, writes bench/results.json and
 * exits 1 when a target is missed. See bench/README.md.
 */
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startBenchCloud } from "./bench-cloud";
import { measureColdStart } from "./cold-start";
import { costPerBoxMonth } from "./cost";
import { type LatencyMeasured, measureCycleLatency } from "./cycle-latency";
import { measureFleet } from "./fleet";
import { type MonthMeasured, simulateMonth } from "./month";
import { failed, type Metrics, markdownTable, metric, missed, table, writeResults } from "./report";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = join(REPO, "bench", "results.json");
/** Issue 7: the whole run in under ten minutes on this 2-core machine. */
const MAX_RUN_SECONDS = 600;

const started = performance.now();
const metrics: Metrics = {};

function progress(text: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  process.stderr.write(`[${seconds.padStart(3)} s] ${text}\n`);
}

/** Runs one group; a group that throws becomes a failed `<name>_error` metric, the rest go on. */
async function group<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
  progress(`${name}…`);
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    progress(`${name} failed: ${message}`);
    metrics[`${name.replace(/\W+/g, "_")}_error`] = failed("error", 0, message.slice(0, 500));
    return undefined;
  }
}

async function main(): Promise<number> {
  // deployWatchdogLocally builds from ./functions: run from the repo wherever npm was started.
  process.chdir(REPO);
  progress(
    `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const cold = await group("cold_start", () => measureColdStart(REPO));
  if (cold) Object.assign(metrics, cold.metrics);

  let latency: LatencyMeasured | undefined;
  const bench = await group("local_cloud", () => startBenchCloud());
  if (bench) {
    try {
      const measured = await group("cycle_latency", () => measureCycleLatency(bench));
      if (measured) {
        Object.assign(metrics, measured.metrics);
        latency = measured.measured;
        // The bundle the latency group deployed: the fleet runs the very same file.
        const bundle = join(bench.dir, "dist", "watchdog", "index.js");
        const fleet = await group("fleet", () => measureFleet(bench, bundle));
        if (fleet) Object.assign(metrics, fleet);
      }
    } finally {
      await bench.stop();
    }
  }

  let month: MonthMeasured | undefined;
  const simulated = await group("month", () => simulateMonth());
  if (simulated) {
    Object.assign(metrics, simulated.metrics);
    month = simulated.measured;
  }
  if (latency && month) Object.assign(metrics, costPerBoxMonth(latency, month));
  else metrics.cost_error = failed("error", 0, "cost needs the cycle-latency and month groups");

  const seconds = (performance.now() - started) / 1000;
  metrics.bench_run_seconds = metric(
    seconds,
    "s",
    MAX_RUN_SECONDS,
    `load average at the end ${loadavg()[0]?.toFixed(1)}`,
  );
  await writeResults(RESULTS, metrics);

  // `npm run bench -- --markdown`: the table as Markdown, for the README's Performance section.
  console.log(process.argv.includes("--markdown") ? markdownTable(metrics) : table(metrics));
  if (cold) {
    console.log("\nWho fills each bundle (esbuild metafile, output bytes):");
    for (const c of cold.contributors) console.log(`  ${c.bundle}: ${c.top}`);
  }
  console.log("\nDetails:");
  for (const [name, m] of Object.entries(metrics))
    if (m.detail) console.log(`  ${name}: ${m.detail}`);
  const misses = missed(metrics);
  console.log(
    `\n${misses.length === 0 ? "Every target met." : `Missed ${misses.length}: ${misses.join(", ")}`} Results: ${RESULTS}`,
  );
  return misses.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
