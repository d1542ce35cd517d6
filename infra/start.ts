import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { FleetReport } from "../shared/watchdog/fleet";
import { processIo } from "./cli/io";
import { run } from "./cli/main";
import type { GuestKind, LocalCloud } from "./local/cloud";
import { startLocalCloud } from "./local/cloud";
import { LOCAL_SERVER_NAME, localDeploymentConfig } from "./local/product";

const HELP = `Usage: npm start -- [options]

Runs clawwatch on the local cloud (everything on 127.0.0.1): starts the emulated ECS, OBS,
VPC, FunctionGraph, Telegram Bot API and MaaS, then runs the same commands as a real deploy —
\`infra create-server\` (the ECS box with its bootstrap user_data) and \`infra deploy\` (both
functions, the TIMER and APIG triggers, the Telegram webhook) — and prints each check cycle
and every alert. After a few healthy cycles it crashes the gateway (the demo incident) and
shows the watchdog alert, reboot the box and report it resolved. Ctrl-C stops everything.

Options:
  --time-scale <f>   emulated time speed; 0.1 = ten times faster (default 0.1)
  --guest <kind>     each box's gateway: standin (built in, default) or openclaw (the real
                     gateway: run npm run openclaw:setup first; ~1 GB of memory per box)
  --no-demo          do not crash a gateway; just watch
  --exit-after-demo  stop once the demo incident is resolved (exit code 0) or after 3 minutes
                     (7 with --guest openclaw) (1)
  -h, --help         this text`;

interface Options {
  timeScale: number;
  guest: GuestKind;
  demo: boolean;
  exitAfterDemo: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      "time-scale": { type: "string", default: "0.1" },
      guest: { type: "string", default: "standin" },
      "no-demo": { type: "boolean", default: false },
      "exit-after-demo": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const timeScale = Number(values["time-scale"]);
  if (!(timeScale > 0 && timeScale <= 1)) {
    console.error("--time-scale must be in (0, 1]");
    process.exit(2);
  }
  const guest = values.guest;
  if (guest !== "standin" && guest !== "openclaw") {
    console.error("--guest must be standin or openclaw");
    process.exit(2);
  }
  return {
    timeScale,
    guest,
    demo: !values["no-demo"],
    exitAfterDemo: values["exit-after-demo"],
  };
}

/** Policy durations shrink with the clock so a 5-minute grace is 30 s at 0.1. */
function scaledPolicy(f: number) {
  const ms = (minutes: number) => Math.round(minutes * 60_000 * f);
  return {
    policy: {
      grace: { start: ms(3), softReboot: ms(5), hardReboot: ms(5), rebootstrap: ms(15) },
      ingressStallAfter: ms(2),
      ingressLongestTurn: ms(10),
      reminders: { first: ms(30), max: ms(240) },
    },
    probes: { completionEvery: ms(60) },
    runtime: { minInterval: ms(1 / 3) },
  };
}

const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;

async function main(): Promise<void> {
  const opts = options();
  console.log(
    opts.guest === "openclaw"
      ? "starting the local cloud with the real OpenClaw gateway (about 10–30 s per box)…"
      : "starting the local cloud…",
  );
  // No seeded boxes: the watched box is the server create-server makes, as on Huawei Cloud.
  const cloud = await startLocalCloud({ timeScale: opts.timeScale, boxes: 0, guest: opts.guest });
  const stop = once(async (code: number) => {
    await cloud.stop();
    process.exit(code);
  });
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  try {
    console.log(
      `local cloud up: control API ${cloud.endpoints.control}, endpoints in ${cloud.endpointsFile}`,
    );
    await setUp(cloud, opts);
    const period = Math.round(60 * opts.timeScale * 10) / 10;
    console.log(`\nwatching: the TIMER fires every minute of emulated time = ${period} s\n`);
    const code = await watch(cloud, opts);
    await stop(code);
  } catch (error) {
    console.error(`npm start failed: ${(error as Error).message}`);
    await stop(1);
  }
}

/** create-server and deploy, through the very CLI code a real deployment runs. */
async function setUp(cloud: LocalCloud, opts: Options): Promise<void> {
  const { file } = localDeploymentConfig(cloud.endpoints, {
    timerRate: "1m",
    ...scaledPolicy(opts.timeScale),
  });
  const config = join(dirname(cloud.endpointsFile), "deployment.json");
  await writeFile(config, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  for (const command of ["create-server", "deploy"]) {
    console.log(`\n$ npm run infra -- ${command} --config ${config}`);
    const code = await run(
      [command, "--target", "local", "--endpoints", cloud.endpointsFile, "--config", config],
      processIo(),
    );
    if (code !== 0) throw new Error(`infra ${command} failed (exit ${code})`);
  }
}

async function watch(cloud: LocalCloud, opts: Options): Promise<number> {
  const seen = new Set<string>();
  let messages = 0;
  let healthyCycles = 0;
  const demo = { crashedAt: 0, resolvedAt: 0 };
  // The real gateway boots in real time (10–30 s), whatever the time scale.
  const limitMinutes = opts.guest === "openclaw" ? 7 : 3;
  const deadline = Date.now() + limitMinutes * 60_000;
  for (;;) {
    const reports = await newCycles(cloud, seen);
    for (const report of reports) {
      printCycle(report);
      if (report.boxes.every((b) => b.observations?.gateway.status === "ok")) healthyCycles++;
    }
    const sent = (await cloud.control("telegram", "messages", {
      bot: cloud.endpoints.telegramBots.alerts.username,
    })) as { plainText: string }[];
    for (const message of sent.slice(messages)) {
      console.log(`${clock()}  📨 Telegram alert:\n${indent(message.plainText)}`);
      if (demo.crashedAt && /resolved|back to normal/i.test(message.plainText))
        demo.resolvedAt = Date.now();
    }
    messages = sent.length;
    if (opts.demo && !demo.crashedAt && healthyCycles >= 3) {
      const servers = (await cloud.control("ecs", "servers")) as { id: string; name: string }[];
      const server = servers.find((s) => s.name === LOCAL_SERVER_NAME);
      if (server) {
        await cloud.control("ecs", "kill-guest", { serverId: server.id });
        demo.crashedAt = Date.now();
        console.log(`${clock()}  💥 demo: killed the gateway process on ${server.name}\n`);
      }
    }
    if (demo.resolvedAt) {
      console.log(
        `${clock()}  ✔ demo incident: crash → alert → reboot → resolved in ${((demo.resolvedAt - demo.crashedAt) / 1000).toFixed(1)} s`,
      );
      demo.crashedAt = 0;
      demo.resolvedAt = 0;
      opts.demo = false;
      if (opts.exitAfterDemo) return 0;
      console.log("watching; Ctrl-C to stop\n");
    }
    if (opts.exitAfterDemo && Date.now() > deadline) {
      console.error(`the demo incident did not resolve within ${limitMinutes} minutes`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Invocation {
  requestId: string;
  status: string;
  result?: string;
  triggerType: string;
}

async function newCycles(cloud: LocalCloud, seen: Set<string>): Promise<FleetReport[]> {
  const all = (await cloud.control("functiongraph", "invocations", {
    functionName: "clawwatch-watchdog",
    limit: 50,
  })) as Invocation[];
  const fresh = all.filter(
    (i) => i.status !== "running" && i.status !== "queued" && !seen.has(i.requestId),
  );
  const reports: FleetReport[] = [];
  for (const invocation of fresh.reverse()) {
    seen.add(invocation.requestId);
    if (invocation.status !== "success") {
      console.log(`${clock()}  ⚠ invocation ${invocation.status}: ${invocation.result ?? ""}`);
      continue;
    }
    reports.push(JSON.parse(invocation.result ?? "{}") as FleetReport);
  }
  return reports;
}

function printCycle(report: FleetReport): void {
  for (const box of report.boxes) {
    const o = box.observations;
    if (box.skipped) continue;
    const probes = o
      ? `gateway ${o.gateway.status} (${o.gateway.latencyMs} ms) · maas ${o.maas?.status ?? "-"} · telegram ${o.telegram?.status ?? "-"}${o.server && "status" in o.server ? ` · server ${o.server.status}` : ""}`
      : "no observations";
    const acts = box.outcomes
      .map((x) => (x.kind === "remediated" ? `⚙ ${x.action} (job ${x.jobId ?? "?"})` : x.kind))
      .filter((x) => !x.startsWith("notif"));
    const incidents = box.openIncidents.map((i) => `${i.component}:${i.cause}`).join(", ");
    console.log(
      `${clock()}  cycle ${box.box}: ${probes}${incidents ? ` · open: ${incidents}` : ""}${acts.length ? ` · ${acts.join(", ")}` : ""}${box.errors.length ? ` · errors: ${box.errors.join("; ")}` : ""}`,
    );
  }
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((l) => `          │ ${l}`)
    .join("\n");

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  let called = false;
  return async (...args: A) => {
    if (called) return;
    called = true;
    await fn(...args);
  };
}

await main();
