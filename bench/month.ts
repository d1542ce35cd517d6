import { type Config, parseConfig } from "../shared/config";
import { createMemoryNotifier } from "../shared/notify/memory";
import type { Notifier, OutgoingMessage } from "../shared/notify/port";
import type { NotificationType } from "../shared/policy";
import { silentLogger } from "../shared/runtime/logger";
import { MemoryStateStore } from "../shared/state/memory";
import type { PendingCommands } from "../shared/state/port";
import type { StoredEvent, StoredState } from "../shared/state/schema";
import { runCycle } from "../shared/watchdog/cycle";
import type { CycleDeps } from "../shared/watchdog/ports";
import { type Metrics, median, metric } from "./report";
import {
  FAULT_CLASSES,
  type FaultClass,
  type ObserveCounts,
  SIM_TIMINGS,
  SimBox,
  type SimFault,
  type SimTimings,
  seededRandom,
  simCompute,
  simObserve,
} from "./sim-box";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const DAYS = 30;
const CYCLES = (DAYS * DAY) / MINUTE;
const START = Date.UTC(2026, 0, 1);
const LOSS = 0.05;
const CRASHES = 20;
const SEED = 7;
/** How the month's 20 faults split into the classes systemd heals and the ones it does not. */
const CLASS_COUNTS: Record<FaultClass, number> = {
  crash: 8,
  "oom-every": 3,
  "crash-loop": 3,
  hang: 3,
  "exit-config": 3,
};
/** The faster-confirmation run: checks every 10 s, a slow start (listening after 30 s). */
const FAST_PERIOD = 10_000;
const FAST_DAYS = 2;
const FAST_CRASHES = 24;

/** Notifications that tell the operator something is wrong (resolved and updates are not). */
const ALERT_TYPES: readonly NotificationType[] = [
  "opened",
  "flapping",
  "needs-human",
  "budget-exhausted",
  "watchdog-network",
];

interface Sent {
  at: number;
  type: NotificationType;
  component: string;
  severity: string;
}

export interface MonthMeasured {
  /** Hourly completions per day the real cycle asked for (attempts, with loss). */
  completionsPerDay: number;
  /** OBS requests per box-month in the crash month, counted as obs-store.ts would issue them. */
  obsRequestsPerMonth: number;
  /** Telegram messages in the month with 20 crashes. */
  crashMonthMessages: number;
}

/** What one fault got, from its start until the next fault's. */
interface FaultOutcome {
  kind: FaultClass;
  alertMin: number;
  resolvedMin: number;
  alerts: number;
  warnings: number;
  actions: number;
  needsHuman: boolean;
}

/**
 * Thirty days of one-minute TIMER cycles through the real runCycle and policy (default
 * settings), against in-process doubles: MemoryStateStore, the memory notifier, and a simulated
 * box (sim-box.ts). The clock moves 60 s per cycle; nothing waits in real time.
 */
export async function simulateMonth(): Promise<{ metrics: Metrics; measured: MonthMeasured }> {
  const loss = await runMonth({ loss: LOSS, faults: [] });
  const faults = faultSchedule();
  const crash = await runMonth({ loss: 0, faults });
  const outcomes = faults.map((fault, i) => outcomeOf(fault, faults[i + 1], crash));
  const fast = await runMonth({
    loss: 0,
    faults: fastCrashes(),
    periodMs: FAST_PERIOD,
    cycles: (FAST_DAYS * DAY) / FAST_PERIOD,
    timings: { ...SIM_TIMINGS, listenMs: 30_000, readyMs: 35_000 },
  });
  const fastAlerts = fast.sent.filter((s) => ALERT_TYPES.includes(s.type));

  const lossAlerts = loss.sent.filter((s) => ALERT_TYPES.includes(s.type));
  const lossOpened = countBy(lossAlerts.map((s) => `${s.component} ${s.type}`));
  const wrong = crash.box.actions.filter((a) => a.wrong);
  const of = (kind: FaultClass) => outcomes.filter((o) => o.kind === kind);
  const sum = (list: FaultOutcome[], key: "alerts" | "actions" | "warnings") =>
    list.reduce((n, o) => n + o[key], 0);
  const crashes = of("crash");
  const ooms = of("oom-every");

  const metrics: Metrics = {
    month_loss_reboots: metric(
      loss.box.actions.length,
      "count",
      0,
      `${CYCLES.toLocaleString("en-US")} cycles, every probe attempt lost with p = ${LOSS} independently (the probes' one retry applies)`,
    ),
    month_loss_alerts: metric(
      lossAlerts.length,
      "count",
      1,
      lossAlerts.length > 0 ? `alerts: ${lossOpened}` : "no incident opened",
    ),
    month_loss_messages: metric(
      loss.sent.length,
      "count",
      null,
      "every Telegram message in the lossy month",
    ),
    month_selfheal_crash_alerts: metric(
      sum(crashes, "alerts"),
      "count",
      0,
      `${crashes.length} crashes systemd restarts (RestartSec 5 s + a ${SIM_TIMINGS.readyMs / 1000} s start): alerts`,
    ),
    month_selfheal_crash_actions: metric(sum(crashes, "actions"), "count", 0, "their ECS actions"),
    month_selfheal_fast_actions: metric(
      fast.box.actions.length + fastAlerts.length,
      "count",
      0,
      `${FAST_CRASHES} self-healing crashes with checks every ${FAST_PERIOD / 1000} s (faster confirmation) and a slow start (listening after 30 s): actions + alerts`,
    ),
    month_oom_warnings_max: metric(
      Math.max(...ooms.map((o) => o.warnings)),
      "count",
      1,
      `${ooms.length} episodes of an OOM kill every ${SIM_TIMINGS.oomEveryMs / MINUTE} min for ${SIM_TIMINGS.oomEpisodeMs / 3_600_000} h: warnings per episode ${ooms.map((o) => o.warnings).join(", ")}`,
    ),
    month_oom_unwarned: metric(
      ooms.filter((o) => o.warnings !== 1).length,
      "count",
      0,
      "episodes without exactly one warning",
    ),
    month_oom_actions: metric(
      sum(ooms, "actions") + sum(ooms, "alerts") - sum(ooms, "warnings"),
      "count",
      0,
      "actions and other alerts in the OOM episodes",
    ),
    ...perClass("crashloop", of("crash-loop"), 4, 10),
    ...perClass("hang", of("hang"), 4, 10),
    month_exitconfig_alert_median_min: metric(
      median(of("exit-config").map((o) => o.alertMin)),
      "min",
      4,
      `exit 78 (unit failed): fault → first alert; fixed by a human after ${SIM_TIMINGS.humanFixMs / 3_600_000} h`,
    ),
    month_exitconfig_actions_max: metric(
      Math.max(...of("exit-config").map((o) => o.actions)),
      "count",
      1,
      "actions per failed unit: the one repair reboot (it re-runs the bootstrap), then a human",
    ),
    month_exitconfig_not_told_human: metric(
      of("exit-config").filter((o) => !o.needsHuman).length,
      "count",
      0,
      "failed units the operator was not told needed a human",
    ),
    month_crash_wrong_actions: metric(
      wrong.length,
      "count",
      0,
      `actions while nothing systemd cannot heal was wrong; actions taken: ${summarise(crash.box.actions.map((a) => a.action))}`,
    ),
    month_crash_messages: metric(
      crash.sent.length,
      "count",
      null,
      `Telegram messages in the month with ${faults.length} faults (${summarise(faults.map((f) => f.kind))}): ${summarise(crash.sent.map((s) => s.type))}`,
    ),
  };
  return {
    metrics,
    measured: {
      completionsPerDay: loss.counts.completions / DAYS,
      obsRequestsPerMonth: crash.obsRequests,
      crashMonthMessages: crash.sent.length,
    },
  };
}

/** First alert, resolved and actions of one class (faults the watchdog must heal). */
function perClass(
  name: string,
  outcomes: FaultOutcome[],
  alertTarget: number,
  resolvedTarget: number,
): Metrics {
  const maxOf = (values: number[]) => Math.max(...values).toFixed(1);
  const alerts = outcomes.map((o) => o.alertMin);
  const resolved = outcomes.map((o) => o.resolvedMin);
  return {
    [`month_${name}_alert_median_min`]: metric(
      median(alerts),
      "min",
      alertTarget,
      `${outcomes.length} faults: fault → first alert; max ${maxOf(alerts)} min`,
    ),
    [`month_${name}_resolved_median_min`]: metric(
      median(resolved),
      "min",
      resolvedTarget,
      `fault → "resolved"; max ${maxOf(resolved)} min; actions ${outcomes.map((o) => o.actions).join(", ")}`,
    ),
    [`month_${name}_not_healed`]: metric(
      outcomes.filter((o) => !Number.isFinite(o.resolvedMin) || o.needsHuman).length,
      "count",
      0,
      "not resolved before the next fault, or a human was asked",
    ),
  };
}

function outcomeOf(
  fault: SimFault,
  next: SimFault | undefined,
  run: Awaited<ReturnType<typeof runMonth>>,
): FaultOutcome {
  const until = next?.at ?? Number.POSITIVE_INFINITY;
  const window = run.sent.filter(
    (s) => s.at >= fault.at && s.at < until && s.component === "gateway",
  );
  const alerts = window.filter((s) => ALERT_TYPES.includes(s.type));
  const resolved = window.find((s) => s.type === "resolved");
  const minutes = (at: number | undefined) =>
    at === undefined ? Number.POSITIVE_INFINITY : (at - fault.at) / MINUTE;
  return {
    kind: fault.kind,
    alertMin: minutes(alerts[0]?.at),
    resolvedMin: minutes(resolved?.at),
    alerts: alerts.length,
    warnings: alerts.filter((s) => s.type === "opened" && s.severity === "warning").length,
    actions: run.box.actions.filter((a) => a.at >= fault.at && a.at < until).length,
    needsHuman: window.some((s) => s.type === "needs-human"),
  };
}

/** One fault at a random moment of each 36 h slot (away from the slot's edges), classes shuffled. */
function faultSchedule(): SimFault[] {
  const random = seededRandom(SEED);
  const slot = (DAYS * DAY) / CRASHES;
  const kinds = FAULT_CLASSES.flatMap((kind) => Array<FaultClass>(CLASS_COUNTS[kind]).fill(kind));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultClass, kinds[i] as FaultClass];
  }
  return kinds.map((kind, i) => ({
    kind,
    at: Math.round(START + i * slot + 60 * MINUTE + random() * (slot - 8 * 60 * MINUTE)),
  }));
}

/** Crashes every 2 h, at a random second, for the faster-confirmation run. */
function fastCrashes(): SimFault[] {
  const random = seededRandom(SEED + 2);
  const slot = (FAST_DAYS * DAY) / FAST_CRASHES;
  return Array.from({ length: FAST_CRASHES }, (_, i) => ({
    kind: "crash" as const,
    at: Math.round(START + i * slot + 10 * MINUTE + random() * (slot - 20 * MINUTE)),
  }));
}

interface RunOptions {
  loss: number;
  faults: SimFault[];
  periodMs?: number;
  cycles?: number;
  timings?: SimTimings;
}

async function runMonth(options: RunOptions) {
  const period = options.periodMs ?? MINUTE;
  const config = simConfig(period);
  const box = config.boxes[0];
  if (!box) throw new Error("the simulated config has no box");
  let now = START;
  const clock = () => now;
  const random = seededRandom(SEED + 1 + Math.round(options.loss * 1000));
  const simBox = new SimBox(box.serverId, options.faults, START, options.timings);
  const compute = simCompute(simBox, clock, random, options.loss);
  const counts: ObserveCounts = { completions: 0 };
  const store = new CountingStore();
  const { notifier, sent } = timedNotifier(clock);
  const deps: CycleDeps = {
    config,
    store,
    notifier,
    compute: async () => compute,
    observe: simObserve(simBox, compute, clock, random, options.loss, counts),
    log: silentLogger,
    clock,
    remainingMs: () => 60_000,
    requestId: "simulated",
  };
  const cycles = options.cycles ?? CYCLES;
  for (let i = 0; i < cycles; i++) {
    now = START + i * period;
    const report = await runCycle(box, deps, "timer");
    if (report.skipped || !report.decided) {
      throw new Error(
        `simulated cycle ${i} did not decide: ${report.skipped ?? report.errors.join("; ")}`,
      );
    }
  }
  return { box: simBox, sent, counts, obsRequests: store.requests };
}

/**
 * The defaults for everything but the endpoints, which the doubles never call; a faster period
 * needs a shorter back-off between timer cycles (and a server check as often in time).
 */
function simConfig(periodMs: number): Config {
  return parseConfig({
    boxes: [
      {
        name: "box-1",
        serverId: "00000000-0000-4000-8000-000000000001",
        gateway: { url: "http://10.0.0.5:18789", token: "simulated-gateway-token" },
        telegram: { botToken: "123456:simulated" },
        maas: { baseUrl: "https://maas.example/v1", apiKey: "simulated", model: "deepseek-v3" },
      },
    ],
    alerts: { botToken: "654321:simulated", chatId: -1_001_234_567_890 },
    cloud: { projectId: "simulated" },
    state: { bucket: "clawwatch-state" },
    ...(periodMs < MINUTE ? { runtime: { minInterval: Math.round(periodMs / 3) } } : {}),
  });
}

/** The memory notifier, with the simulated time of each delivered message. */
function timedNotifier(clock: () => number): { notifier: Notifier; sent: Sent[] } {
  const memory = createMemoryNotifier();
  const sent: Sent[] = [];
  return {
    sent,
    notifier: {
      async send(message: OutgoingMessage) {
        const result = await memory.send(message);
        sent.push({
          at: clock(),
          type: message.notification.type,
          component: message.notification.component,
          severity: message.notification.severity,
        });
        memory.clear();
        return result;
      },
    },
  };
}

/** MemoryStateStore counting the OBS requests obs-store.ts makes for each call. */
class CountingStore extends MemoryStateStore {
  requests = 0;

  override async load(box: string) {
    this.requests += 1; // GET state.json
    return super.load(box);
  }

  override async save(box: string, stored: StoredState): Promise<void> {
    this.requests += 1; // PUT state.json
    return super.save(box, stored);
  }

  override async pendingCommands(box: string): Promise<PendingCommands> {
    const pending = await super.pendingCommands(box);
    this.requests += 1 + pending.commands.length; // LIST commands/, GET each
    return pending;
  }

  override async removeCommands(keys: readonly string[]): Promise<void> {
    this.requests += keys.length; // DELETE each
    return super.removeCommands(keys);
  }

  /** The audit log is not read back during the month; keeping it would only cost memory. */
  override async appendEvents(_box: string, events: readonly StoredEvent[]): Promise<void> {
    this.requests += events.length; // PUT one object per event
  }
}

function countBy(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(", ");
}

function summarise(items: readonly string[]): string {
  return countBy(items) || "none";
}
