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
  type ObserveCounts,
  SIM_TIMINGS,
  SimBox,
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
}

export interface MonthMeasured {
  /** Hourly completions per day the real cycle asked for (attempts, with loss). */
  completionsPerDay: number;
  /** OBS requests per box-month in the crash month, counted as obs-store.ts would issue them. */
  obsRequestsPerMonth: number;
  /** Telegram messages in the month with 20 crashes. */
  crashMonthMessages: number;
}

/**
 * Thirty days of one-minute TIMER cycles through the real runCycle and policy (default
 * settings), against in-process doubles: MemoryStateStore, the memory notifier, and a simulated
 * box (sim-box.ts). The clock moves 60 s per cycle; nothing waits in real time.
 */
export async function simulateMonth(): Promise<{ metrics: Metrics; measured: MonthMeasured }> {
  const loss = await runMonth({ loss: LOSS, crashes: [] });
  const crashes = crashSchedule();
  const crash = await runMonth({ loss: 0, crashes });

  const perCrash = crashes.map((at, i) => {
    const until = crashes[i + 1] ?? Number.POSITIVE_INFINITY;
    const window = crash.sent.filter(
      (s) => s.at >= at && s.at < until && s.component === "gateway",
    );
    const alert = window.find((s) => s.type === "opened");
    const resolved = window.find((s) => s.type === "resolved");
    const stuck = window.some((s) => s.type === "needs-human" || s.type === "budget-exhausted");
    return {
      alertMin: alert ? (alert.at - at) / MINUTE : Number.POSITIVE_INFINITY,
      resolvedMin: resolved ? (resolved.at - at) / MINUTE : Number.POSITIVE_INFINITY,
      healed: resolved !== undefined && !stuck,
    };
  });
  const lossAlerts = loss.sent.filter((s) => ALERT_TYPES.includes(s.type));
  const lossOpened = countBy(lossAlerts.map((s) => `${s.component} ${s.type}`));
  const alertMins = perCrash.map((c) => c.alertMin);
  const resolvedMins = perCrash.map((c) => c.resolvedMin);
  const wrong = crash.box.actions.filter((a) => a.wrong);
  const maxOf = (values: number[]) => Math.max(...values).toFixed(1);

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
    month_crash_alert_median_min: metric(
      median(alertMins),
      "min",
      4,
      `${CRASHES} gateway crashes at random times, one per 36 h slot; crash → "opened" alert; max ${maxOf(alertMins)} min`,
    ),
    month_crash_resolved_median_min: metric(
      median(resolvedMins),
      "min",
      10,
      `crash → "resolved" (boot delay ${SIM_TIMINGS.bootDelayMs / MINUTE} min after the reboot); max ${maxOf(resolvedMins)} min`,
    ),
    month_crash_not_healed: metric(
      perCrash.filter((c) => !c.healed).length,
      "count",
      0,
      "crashes not resolved before the next one, or that exhausted the budget / needed a human",
    ),
    month_crash_wrong_actions: metric(
      wrong.length,
      "count",
      0,
      `actions while the gateway was not crashed; actions taken: ${summarise(crash.box.actions.map((a) => a.action))}`,
    ),
    month_crash_messages: metric(
      crash.sent.length,
      "count",
      null,
      `Telegram messages in the crash month: ${summarise(crash.sent.map((s) => s.type))}`,
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

/** One crash at a random moment of each 36 h slot (away from the slot's edges), seeded. */
function crashSchedule(): number[] {
  const random = seededRandom(SEED);
  const slot = (DAYS * DAY) / CRASHES;
  return Array.from({ length: CRASHES }, (_, i) =>
    Math.round(START + i * slot + 60 * MINUTE + random() * (slot - 8 * 60 * MINUTE)),
  );
}

async function runMonth(options: { loss: number; crashes: number[] }) {
  const config = simConfig();
  const box = config.boxes[0];
  if (!box) throw new Error("the simulated config has no box");
  let now = START;
  const clock = () => now;
  const random = seededRandom(SEED + 1 + Math.round(options.loss * 1000));
  const simBox = new SimBox(box.serverId, options.crashes);
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
  for (let i = 0; i < CYCLES; i++) {
    now = START + i * MINUTE;
    const report = await runCycle(box, deps, "timer");
    if (report.skipped || !report.decided) {
      throw new Error(
        `simulated cycle ${i} did not decide: ${report.skipped ?? report.errors.join("; ")}`,
      );
    }
  }
  return { box: simBox, sent, counts, obsRequests: store.requests };
}

/** The defaults for everything but the endpoints, which the doubles never call. */
function simConfig(): Config {
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
