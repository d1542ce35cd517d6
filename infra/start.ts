import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { formatElapsed } from "../shared/text/duration";
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
and every alert. After a few healthy cycles it crashes the gateway once: the box's systemd
unit restarts it and clawwatch stays silent. Then it hangs the gateway (SIGSTOP, which systemd
cannot see): the demo incident, which the watchdog alerts on, heals by rebooting the box and
reports resolved. Ctrl-C stops everything.

Options:
  --time-scale <f>   emulated time speed; 0.1 = ten times faster (default 0.1)
  --guest <kind>     each box's gateway: standin (built in, default) or openclaw (the real
                     gateway: run npm run openclaw:setup first; ~1 GB of memory per box)
  --no-demo          do not crash or hang a gateway; just watch
  --exit-after-demo  stop once the demo incident is resolved (exit code 0) or after 4 minutes
                     (9 with --guest openclaw) (1)
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
      // systemd's restart (RestartSec 5 s) and the start are scaled by the local cloud too.
      selfRestart: { window: ms(1.5), period: ms(60), uptimeSlack: ms(10 / 60) },
    },
    probes: { completionEvery: ms(60) },
    runtime: { minInterval: ms(1 / 3) },
  };
}

const started = Date.now();
/** The time since start, right-aligned, before each progress line. */
const stamp = () => formatElapsed(Date.now() - started).padStart(8);

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

interface DemoServer {
  id: string;
  name: string;
  unit: string;
  nRestarts: number;
}

/**
 * The demo: a crash systemd heals (watched for a few cycles: no alert, no ECS call), then a hang
 * (SIGSTOP: the process has not exited, so systemd does nothing), which clawwatch must heal.
 */
interface Demo {
  phase: "waiting" | "crashed" | "hung" | "done";
  at: number;
  /** Alerts and ECS actions when the phase began, and healthy cycles seen since. */
  alerts: number;
  actions: number;
  healthy: number;
}

async function demoServer(cloud: LocalCloud): Promise<DemoServer | undefined> {
  const servers = (await cloud.control("ecs", "servers")) as DemoServer[];
  return servers.find((s) => s.name === LOCAL_SERVER_NAME);
}

async function ecsActionCount(cloud: LocalCloud, serverId: string): Promise<number> {
  const calls = (await cloud.control("ecs", "calls")) as {
    operation?: string;
    serverIds?: string[];
  }[];
  return calls.filter((c) => c.operation && c.serverIds?.includes(serverId)).length;
}

async function watch(cloud: LocalCloud, opts: Options): Promise<number> {
  const seen = new Set<string>();
  let messages = 0;
  let healthyCycles = 0;
  const demo: Demo = {
    phase: opts.demo ? "waiting" : "done",
    at: 0,
    alerts: 0,
    actions: 0,
    healthy: 0,
  };
  // The real gateway boots in real time (10–30 s), whatever the time scale.
  const limitMinutes = opts.guest === "openclaw" ? 9 : 4;
  const deadline = Date.now() + limitMinutes * 60_000;
  for (;;) {
    const reports = await newCycles(cloud, seen);
    for (const report of reports) {
      printCycle(report);
      if (report.boxes.every((b) => b.observations?.gateway.status === "ok")) {
        healthyCycles++;
        demo.healthy++;
      }
    }
    const sent = (await cloud.control("telegram", "messages", {
      bot: cloud.endpoints.telegramBots.alerts.username,
    })) as { plainText: string }[];
    let resolved = false;
    for (const message of sent.slice(messages)) {
      console.log(`${stamp()}  📨 Telegram alert:\n${indent(message.plainText)}`);
      if (/resolved|back to normal/i.test(message.plainText)) resolved = true;
    }
    messages = sent.length;
    const server = demo.phase === "done" ? undefined : await demoServer(cloud);
    if (server && demo.phase === "waiting" && healthyCycles >= 3) {
      await cloud.control("ecs", "crash", { serverId: server.id });
      Object.assign(demo, { phase: "crashed", at: Date.now(), alerts: messages, healthy: 0 });
      demo.actions = await ecsActionCount(cloud, server.id);
      console.log(`${stamp()}  💥 demo: crashed the gateway process on ${server.name} (SIGABRT)\n`);
    } else if (server && demo.phase === "crashed" && server.nRestarts > 0 && demo.healthy >= 3) {
      const actions = (await ecsActionCount(cloud, server.id)) - demo.actions;
      const alerts = messages - demo.alerts;
      if (actions > 0 || alerts > 0) {
        console.error(`the plain crash got ${alerts} alert(s) and ${actions} ECS action(s)`);
        return 1;
      }
      console.log(
        `${stamp()}  ✔ demo: the crash was healed by systemd (Restart=always; ${server.nRestarts} restart) with no action by clawwatch: no alert, no ECS call\n`,
      );
      await cloud.control("ecs", "hang", { serverId: server.id });
      Object.assign(demo, { phase: "hung", at: Date.now() });
      console.log(
        `${stamp()}  🧊 demo: hung the gateway on ${server.name} (SIGSTOP: systemd sees nothing)\n`,
      );
    } else if (demo.phase === "hung" && resolved) {
      console.log(
        `${stamp()}  ✔ demo incident: hang → alert → reboot → resolved in ${formatElapsed(Date.now() - demo.at)}`,
      );
      demo.phase = "done";
      if (opts.exitAfterDemo) return 0;
      console.log("watching; Ctrl-C to stop\n");
    }
    if (opts.exitAfterDemo && Date.now() > deadline) {
      console.error(`the demo did not finish within ${limitMinutes} minutes`);
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
      console.log(`${stamp()}  ⚠ invocation ${invocation.status}: ${invocation.result ?? ""}`);
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
      ? `gateway ${o.gateway.status} (${"latencyMs" in o.gateway ? `${o.gateway.latencyMs} ms` : o.gateway.detail}) · maas ${o.maas?.status ?? "-"} · telegram ${o.telegram?.status ?? "-"}${o.server && "status" in o.server ? ` · server ${o.server.status}` : ""}`
      : "no observations";
    const acts = box.outcomes
      .map((x) => (x.kind === "remediated" ? `⚙ ${x.action} (job ${x.jobId ?? "?"})` : x.kind))
      .filter((x) => !x.startsWith("notif"));
    const incidents = box.openIncidents.map((i) => `${i.component}:${i.cause}`).join(", ");
    console.log(
      `${stamp()}  cycle ${box.box}: ${probes}${incidents ? ` · open: ${incidents}` : ""}${acts.length ? ` · ${acts.join(", ")}` : ""}${box.errors.length ? ` · errors: ${box.errors.join("; ")}` : ""}`,
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
