import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { localProductConfig } from "../infra/local/product";
import { type BenchCloud, SERVERS } from "./bench-cloud";
import { type Metrics, median, metric } from "./report";

const HOST = fileURLToPath(new URL("./handler-host.cjs", import.meta.url));
/** FunctionGraph's limit for user_data and encrypted_user_data together. */
const ENV_LIMIT = 4096;
const MAX_RATIO = 3;
const MAX_RSS_MB = 128;
// runtime.concurrency's default in shared/config/schema.ts (labels only: the run uses the config).
const DEFAULT_CONCURRENCY = 32;

interface Case {
  boxes: number;
  measured: number;
  /** A diagnostic beside the default settings; informational, never a target. */
  variant?: {
    name: string;
    what: string;
    concurrency?: number;
    /** node flags of the measured process. */
    nodeFlags?: string[];
  };
}

const CASES: Case[] = [
  { boxes: 1, measured: 5 },
  { boxes: 10, measured: 3 },
  { boxes: 100, measured: 2 },
  {
    boxes: 100,
    measured: 2,
    variant: {
      name: "concurrency_64",
      what: "runtime.concurrency 64 (the maximum)",
      concurrency: 64,
    },
  },
  {
    boxes: 100,
    measured: 2,
    variant: {
      name: "small_heap",
      what: "node --max-old-space-size=64 --max-semi-space-size=2 (V8 told the budget of a 128 MB function)",
      nodeFlags: ["--max-old-space-size=64", "--max-semi-space-size=2"],
    },
  },
];

interface HostRun {
  wallMs: number;
  /** CPU time (user + system) of the whole invocation. */
  cpuMs: number;
  fleetMs: number;
  boxes: number;
  skipped: number;
  errors: number;
  notOk: number;
  boxMs: number[];
}

interface HostResult {
  loadMs: number;
  rssAfterLoadMb: number;
  runs: HostRun[];
  peakRssMb: number;
  error?: string;
}

/**
 * 1, 10 and 100 boxes checked by one invocation of the watchdog bundle, each size in a fresh
 * process (handler-host.cjs) so its peak RSS is the function's own. The first invocation of each
 * process is a warm-up (first cycles show the ECS server and run the hourly completion); the
 * rest are healthy cycles under the same latencies as the cycle-latency metrics.
 */
export async function measureFleet(bench: BenchCloud, bundle: string): Promise<Metrics> {
  const metrics: Metrics = {};
  const walls = new Map<Case, number>();
  for (const c of CASES) {
    const { result, envChars, cloudCpuMs } = await runCase(bench, bundle, c);
    const measured = result.runs.slice(1);
    const wall = median(measured.map((r) => r.wallMs));
    walls.set(c, wall);
    const name = `fleet_${c.boxes}_box${c.boxes === 1 ? "" : "es"}${c.variant ? `_${c.variant.name}` : ""}`;
    const problems = measured.reduce((n, r) => n + r.errors + r.notOk + r.skipped, 0);
    const cpuPerBox = median(measured.map((r) => r.cpuMs)) / c.boxes;
    const cloudPerBox = cloudCpuMs / (c.boxes * result.runs.length);
    const setting = c.variant?.what ?? `default settings (concurrency ${DEFAULT_CONCURRENCY})`;
    metrics[`${name}_ms`] = metric(
      wall,
      "ms",
      null,
      `median handler time of ${measured.length} warm invocation(s), ${setting}; per-box cycle median ${median(measured.flatMap((r) => r.boxMs))} ms; CPU ${cpuPerBox.toFixed(1)} ms per box-cycle (the local cloud's emulators ${cloudPerBox.toFixed(1)} ms more, on the same cores)${problems > 0 ? `; ${problems} box problem(s)!` : ""}`,
    );
    const target = c.boxes === 100 && !c.variant;
    metrics[`${name}_peak_rss_mb`] = metric(
      result.peakRssMb,
      "MB",
      target ? MAX_RSS_MB : null,
      `peak RSS (MiB) of a fresh process that required the bundle (${result.loadMs.toFixed(0)} ms, RSS ${result.rssAfterLoadMb.toFixed(0)} MB after it) and ran ${result.runs.length} invocations, ${setting}`,
    );
    if (target) {
      metrics.fleet_100_config_env_chars = metric(
        envChars.file,
        "chars",
        null,
        `environment of a 100-box deploy with the config in CLAWWATCH_CONFIG_FILE: the secrets alone (one gateway bot token per box) exceed FunctionGraph's ${ENV_LIMIT}; inline CLAWWATCH_CONFIG would make it ${envChars.inline}`,
      );
    }
  }
  const one = CASES.find((c) => c.boxes === 1 && !c.variant);
  const oneWall = one ? walls.get(one) : undefined;
  for (const c of CASES.filter((x) => x.boxes === 100 && !x.variant?.nodeFlags)) {
    const wall = walls.get(c);
    metrics[`fleet_100_vs_1_ratio${c.variant ? `_${c.variant.name}` : ""}`] = metric(
      wall !== undefined && oneWall ? wall / oneWall : null,
      "x",
      c.variant ? null : MAX_RATIO,
      `100 boxes on ${SERVERS} gateway guests (each box its own proxy origin, state and probes) ÷ 1 box; ${c.variant?.what ?? `concurrency ${DEFAULT_CONCURRENCY} (default): at least ceil(100/${DEFAULT_CONCURRENCY}) = ${Math.ceil(100 / DEFAULT_CONCURRENCY)} rounds of a one-box cycle`}`,
    );
  }
  return metrics;
}

async function runCase(bench: BenchCloud, bundle: string, c: Case) {
  const tag = `${c.boxes}-${c.variant?.name ?? "default"}`;
  const e = await bench.boxes(c.boxes);
  const concurrency = c.variant?.concurrency;
  const product = localProductConfig(e, concurrency ? { runtime: { concurrency } } : {});
  // Each case starts from fresh states, so its warm-up is every box's first cycle.
  const config = {
    ...product.config,
    state: { ...product.config.state, prefix: `bench-fleet-${tag}` },
  };
  const configFile = join(bench.dir, `config-${tag}.json`);
  await writeFile(configFile, JSON.stringify(config), { mode: 0o600 });
  const secretsChars = JSON.stringify(product.secrets).length;
  const envChars = {
    inline: JSON.stringify({ CLAWWATCH_CONFIG: JSON.stringify(config) }).length + secretsChars,
    file: JSON.stringify({ CLAWWATCH_CONFIG_FILE: "config.json" }).length + secretsChars,
  };
  const optionsFile = join(bench.dir, `host-${tag}.json`);
  const resultFile = join(bench.dir, `result-${tag}.json`);
  await writeFile(
    optionsFile,
    JSON.stringify({
      bundle,
      event: { command: "cycle" },
      invocations: 1 + c.measured,
      timeoutSeconds: 60,
      memoryMb: 256,
      functionName: "clawwatch-watchdog",
      projectId: e.projectId,
      // The root key of the local cloud stands in for the agency's temporary key (no token).
      ak: e.credentials.ak,
      sk: e.credentials.sk,
      token: "",
    }),
    { mode: 0o600 },
  );
  // A fresh process with the function's environment only (no 4 KB limit applies here).
  const env = {
    PATH: process.env.PATH ?? "",
    CLAWWATCH_CONFIG_FILE: configFile,
    ...product.secrets,
  };
  // The emulators run in this process and share the machine's two cores with the function.
  const cloudCpu = process.cpuUsage();
  const exit = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const args = [...(c.variant?.nodeFlags ?? []), HOST, optionsFile, resultFile];
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  const used = process.cpuUsage(cloudCpu);
  const text = await readFile(resultFile, "utf8").catch(() => "{}");
  const result = JSON.parse(text) as Partial<HostResult>;
  if (exit.code !== 0 || result.error || !result.runs) {
    throw new Error(
      `handler host (${tag}) exited ${exit.code}: ${result.error ?? exit.stderr.slice(-500)}`,
    );
  }
  return {
    result: result as HostResult,
    envChars,
    cloudCpuMs: (used.user + used.system) / 1000,
  };
}
