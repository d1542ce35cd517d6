import { beforeEach, describe, expect, it } from "vitest";
import { type BoxConfig, type Config, parseConfig } from "../../shared/config";
import { createMemoryNotifier, type MemoryNotifier } from "../../shared/notify/memory";
import { type OperatorCommand, STATE_VERSION } from "../../shared/policy";
import type {
  GatewayStatus,
  MaasResult,
  Observations,
  ServerStatus,
} from "../../shared/probes/types";
import type { LogFields, Logger } from "../../shared/runtime/logger";
import { MemoryStateStore } from "../../shared/state/memory";
import type { LoadResult, PendingCommands } from "../../shared/state/port";
import type { StoredEvent, StoredState } from "../../shared/state/schema";
import { type CycleMode, runCycle } from "../../shared/watchdog/cycle";
import { runFleet } from "../../shared/watchdog/fleet";
import type { CycleDeps, ObservePlan } from "../../shared/watchdog/ports";
import { MemoryCompute } from "../support/compute";
import {
  gatewayResult,
  observations as healthy,
  maasResult,
  serverResult,
} from "../support/observations";

// The cycle runner with every port in memory: no network, a fixed clock, scripted probes.

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const MINUTE = 60_000;
const USER_DATA = Buffer.from("#!/bin/sh\necho bootstrap\n").toString("base64");

function configFor(names: string[], extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    boxes: names.map((name) => ({
      name,
      serverId: `srv-${name}`,
      gateway: { url: "http://127.0.0.1:1", token: `gw-token-${name}-secret` },
      telegram: { botToken: "111111:GATEWAY-token-abcdefghijklmnopqrstuvwxyz" },
      maas: { baseUrl: "http://127.0.0.1:2/v1", apiKey: `maas-key-${name}`, model: "m" },
      ...(name.startsWith("boot") ? { bootstrapUserData: USER_DATA } : {}),
    })),
    alerts: {
      botToken: "222222:ALERTS-token-abcdefghijklmnopqrstuvwxyz",
      chatId: -100123,
      allowedUserIds: [7],
    },
    cloud: { projectId: "p" },
    state: { bucket: "bucket-1" },
    // One-minute cycles step past each 30 s grace: every rung is one threshold apart.
    policy: { grace: { start: "30s", softReboot: "30s", hardReboot: "30s", rebootstrap: "30s" } },
    ...extra,
  });
}

interface Spec {
  gateway?: GatewayStatus;
  /** Absent: not shown this cycle. */
  server?: ServerStatus;
  maas?: MaasResult["status"];
  /** The MaaS check was a real completion. */
  completion?: boolean;
}

function observations(spec: Spec = {}): Observations {
  return healthy({
    gateway: gatewayResult(spec.gateway),
    maas: maasResult(spec.maas, { checked: spec.completion ? "completion" : "models" }),
    ...(spec.server ? { server: serverResult(spec.server) } : {}),
  });
}

const DOWN: Spec = { gateway: "down", server: "ACTIVE" };

/** The in-memory store, counting calls; `corruptOnce` answers the next load as a corrupt object. */
class CountingStore extends MemoryStateStore {
  readonly counts = { load: 0, save: 0, pendingCommands: 0, removeCommands: 0, appendEvents: 0 };
  corruptOnce = false;
  failSave = false;

  override async load(box: string): Promise<LoadResult> {
    this.counts.load += 1;
    if (this.corruptOnce) {
      this.corruptOnce = false;
      return { kind: "corrupt", reason: "not JSON", movedTo: `mem/${box}/corrupt/state-1.json` };
    }
    return super.load(box);
  }
  override async save(box: string, stored: StoredState): Promise<void> {
    this.counts.save += 1;
    if (this.failSave) throw new Error("OBS PUT failed (503)");
    return super.save(box, stored);
  }
  override async pendingCommands(box: string): Promise<PendingCommands> {
    this.counts.pendingCommands += 1;
    return super.pendingCommands(box);
  }
  override async removeCommands(keys: readonly string[]): Promise<void> {
    this.counts.removeCommands += 1;
    return super.removeCommands(keys);
  }
  override async appendEvents(box: string, events: readonly StoredEvent[]): Promise<void> {
    this.counts.appendEvents += 1;
    return super.appendEvents(box, events);
  }
}

interface LogLine {
  level: string;
  msg: string;
  fields: LogFields;
}

function recordingLogger(lines: LogLine[], base: LogFields = {}): Logger {
  const at =
    (level: string) =>
    (msg: string, fields: LogFields = {}) => {
      lines.push({ level, msg, fields: { ...base, ...fields } });
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => recordingLogger(lines, { ...base, ...fields }),
  };
}

/** One world: store, notifier, compute, scripted probes, clock and the time left. */
class World {
  now = T0;
  remaining = 60_000;
  readonly store = new CountingStore();
  readonly notifier: MemoryNotifier = createMemoryNotifier();
  readonly compute = new MemoryCompute();
  readonly logs: LogLine[] = [];
  readonly plans: { box: string; plan: ObservePlan }[] = [];
  computeBuilt = 0;
  /** What the probes find, per box (default: all healthy). */
  script: (box: string) => Spec | Promise<Spec> = () => ({});
  readonly deps: CycleDeps;

  constructor(readonly config: Config) {
    this.deps = {
      config,
      store: this.store,
      notifier: this.notifier,
      compute: async () => {
        this.computeBuilt += 1;
        return this.compute;
      },
      observe: async (box, plan) => {
        this.plans.push({ box: box.name, plan });
        return observations(await this.script(box.name));
      },
      log: recordingLogger(this.logs),
      clock: () => this.now,
      remainingMs: () => this.remaining,
      requestId: "req-1",
    };
  }

  box(name: string): BoxConfig {
    const box = this.config.boxes.find((b) => b.name === name);
    if (!box) throw new Error(`no box ${name}`);
    return box;
  }

  /** One cycle of one box, a minute after the last. */
  async cycle(name: string, spec: Spec = {}, mode: CycleMode = "act") {
    this.now += MINUTE;
    this.script = () => spec;
    return runCycle(this.box(name), this.deps, mode);
  }

  async cycles(name: string, count: number, spec: Spec = {}) {
    const reports = [];
    for (let i = 0; i < count; i++) reports.push(await this.cycle(name, spec));
    return reports;
  }

  stored(name: string): StoredState {
    const stored = this.store.states.get(name);
    if (!stored) throw new Error(`nothing saved for ${name}`);
    return stored;
  }

  types(): string[] {
    return this.store.events.map((e) => e.type);
  }
}

let w: World;

beforeEach(() => {
  w = new World(configFor(["box-a", "box-b", "box-c", "boot-d", "box-e"]));
});

describe("runCycle: load → observe → decide → act → save", () => {
  it("loads state and commands once, saves once, and asks nothing of ECS while healthy", async () => {
    const report = await w.cycle("box-a");
    expect(report).toMatchObject({ box: "box-a", mode: "act", decided: true, errors: [] });
    expect(w.store.counts).toMatchObject({ load: 1, pendingCommands: 1, save: 1 });
    expect(w.store.counts.appendEvents).toBe(0); // nothing happened worth an audit line
    expect(w.stored("box-a")).toMatchObject({
      version: STATE_VERSION,
      savedAt: w.now,
      policy: { cycle: 1 },
    });
    expect(w.computeBuilt).toBe(0);
    expect(w.notifier.attempts).toEqual([]);

    await w.cycle("box-a");
    expect(w.store.counts).toMatchObject({ load: 2, pendingCommands: 2, save: 2 });
    expect(w.stored("box-a").policy.cycle).toBe(2);
  });

  it("plans the probes from the stored state: the server every Nth cycle, a completion when due", async () => {
    await w.cycle("box-a", { completion: true });
    await w.cycle("box-a");
    expect(w.plans.map((p) => p.plan)).toEqual([
      { serverDue: true, completionDue: true },
      { serverDue: false, completionDue: false },
    ]);
    expect(w.stored("box-a").probes.lastCompletionAt).toBe(T0 + MINUTE);
  });

  it("appends the audit events of transitions and actions, with the request id", async () => {
    await w.cycles("box-a", 3, DOWN);
    expect(w.compute.calls).toEqual(["reboot SOFT srv-box-a"]);
    expect(w.types()).toEqual(["incident-opened", "remediation-requested", "remediation-done"]);
    expect(w.store.events.every((e) => e.box === "box-a" && e.requestId === "req-1")).toBe(true);
    expect(w.store.events.at(-1)).toMatchObject({ jobId: "job-1", at: w.now });
    const incident = w.stored("box-a").policy.incidents.gateway;
    expect(incident?.steps).toMatchObject([
      { action: "soft-reboot", status: "done", jobId: "job-1" },
    ]);
  });

  it("consumes operator commands: applied once, then removed after the save", async () => {
    const mute: OperatorCommand = {
      id: "cmd-1",
      kind: "mute",
      at: T0,
      by: { userId: 7, username: "ann" },
      until: T0 + 3 * 60 * MINUTE,
      reason: "maintenance",
    };
    await w.store.addCommand("box-a", mute);
    await w.cycle("box-a");
    expect(w.store.commands.size).toBe(0);
    expect(w.store.counts.removeCommands).toBe(1);
    const policy = w.stored("box-a").policy;
    expect(policy.mute).toMatchObject({ reason: "maintenance", by: "@ann" });
    expect(policy.seenCommands?.map((c) => c.id)).toEqual(["cmd-1"]);
    expect(w.types()).toEqual(["mute"]);

    // Muted: the box goes down and nothing is done or said.
    await w.cycles("box-a", 4, DOWN);
    expect(w.compute.calls).toEqual([]);
    expect(w.notifier.attempts).toEqual([]);
  });

  it("keeps the commands when the state cannot be saved, and applies them once next time", async () => {
    await w.store.addCommand("box-a", {
      id: "cmd-mute",
      kind: "mute",
      at: T0,
      by: { userId: 7 },
      reason: "deploying",
    });
    w.store.failSave = true;
    const failed = await w.cycle("box-a");
    expect(failed.errors.join()).toMatch(/OBS save: OBS PUT failed/);
    expect(w.store.commands.size).toBe(1);
    expect(w.store.counts.removeCommands).toBe(0);
    expect(w.store.events).toEqual([]);

    w.store.failSave = false;
    await w.cycle("box-a");
    expect(w.store.commands.size).toBe(0);
    expect(w.stored("box-a").policy.seenCommands?.map((c) => c.id)).toEqual(["cmd-mute"]);
    expect(w.types()).toEqual(["mute"]);
  });

  it("folds notification outcomes back: the first message id threads every reply", async () => {
    await w.cycles("box-a", 3, DOWN);
    const [opened, update] = w.notifier.sent;
    expect(opened?.notification.type).toBe("opened");
    expect(update?.notification.type).toBe("update");
    // Same cycle: the update learned the "opened" message id as soon as it was sent.
    expect(update?.replyToMessageId).toBe(opened?.messageId);
    const policy = w.stored("box-a").policy;
    expect(policy.incidents.gateway?.messageId).toBe(opened?.messageId);
    expect(policy.outbox).toEqual([]);

    await w.cycles("box-a", 2, { gateway: "ok" });
    const resolved = w.notifier.sent.at(-1);
    expect(resolved?.notification.type).toBe("resolved");
    expect(resolved?.replyToMessageId).toBe(opened?.messageId);
  });

  it("rewrites the first message on resolve, also when both go out in the cycle Telegram returns", async () => {
    await w.cycles("box-a", 3, DOWN);
    await w.cycles("box-a", 2, { gateway: "ok" });
    const opened = w.notifier.sent[0];
    expect(w.notifier.edits.map((e) => e.messageId)).toEqual([opened?.messageId]);
    expect(w.notifier.edits[0]?.rendered.keyboard).toBeUndefined();
    expect(w.notifier.edits[0]?.rendered.text).toMatch(/^✅ resolved: gateway down on box-a\n/);

    // Telegram down for a whole MaaS incident: its first message and its resolved line wait,
    // then go out in one cycle; the resolved one learns which message to rewrite.
    w.notifier.clear();
    w.notifier.failWith(new Error("Telegram unreachable"));
    await w.cycle("box-b", { maas: "auth" });
    await w.cycles("box-b", 2, {});
    w.notifier.failWith(undefined);
    await w.cycle("box-b", {});
    const [head, resolved] = w.notifier.sent;
    expect([head?.notification.type, resolved?.notification.type]).toEqual(["opened", "resolved"]);
    expect(w.notifier.edits.map((e) => e.messageId)).toEqual([head?.messageId]);
  });

  it("keeps undelivered notifications in the outbox and sends them once the notifier works", async () => {
    w.notifier.failWith(new Error("Telegram unreachable"));
    const reports = await w.cycles("box-a", 3, DOWN);
    expect(reports.at(-1)?.outcomes.map((o) => o.kind)).toEqual([
      "remediated",
      "notify-failed",
      "notify-failed",
    ]);
    const outbox = w.stored("box-a").policy.outbox;
    expect(outbox.map((e) => e.notification.type)).toEqual(["opened", "update"]);
    expect(outbox[0]?.lastError).toBe("Telegram unreachable");
    expect(w.types()).toContain("notify-failed");

    w.notifier.failWith(undefined);
    await w.cycle("box-a", DOWN);
    expect(w.notifier.sent.map((m) => [m.notification.type, m.resend])).toEqual([
      ["opened", true],
      ["update", true],
    ]);
    expect(w.notifier.sent[1]?.replyToMessageId).toBe(w.notifier.sent[0]?.messageId);
    expect(w.stored("box-a").policy.outbox).toEqual([]);
  });

  it("near the timeout: reports the remediation failed without calling ECS, sends nothing, saves", async () => {
    await w.cycles("box-a", 2, DOWN);
    w.remaining = 1_000; // below the 3 s safety margin
    const report = await w.cycle("box-a", DOWN);
    expect(report.outcomes).toEqual([
      expect.objectContaining({
        kind: "remediate-failed",
        action: "soft-reboot",
        error: expect.stringMatching(/near its timeout/),
      }),
    ]);
    expect(w.compute.calls).toEqual([]);
    expect(w.notifier.attempts).toEqual([]);
    expect(w.store.counts.save).toBe(3);
    const policy = w.stored("box-a").policy;
    expect(policy.history).toEqual([]); // the budget is given back
    expect(policy.incidents.gateway?.steps).toMatchObject([{ status: "failed" }]);
    expect(policy.outbox.map((e) => e.notification.type)).toContain("opened");

    w.remaining = 60_000;
    await w.cycle("box-a", DOWN);
    expect(w.compute.calls).toEqual(["reboot SOFT srv-box-a"]);
    expect(w.stored("box-a").policy.incidents.gateway?.steps).toMatchObject([
      { action: "soft-reboot", status: "done", attempts: 2 },
    ]);
  });

  it("a refused ECS request gives the budget back and is asked for again next failing cycle", async () => {
    w.compute.failWith = new Error("ECS reboot failed: 503 Service Unavailable");
    await w.cycles("box-a", 3, DOWN);
    expect(w.types()).toContain("remediation-failed");
    expect(w.stored("box-a").policy.history).toEqual([]);

    w.compute.failWith = undefined;
    await w.cycle("box-a", DOWN);
    expect(w.compute.calls).toEqual(["reboot SOFT srv-box-a", "reboot SOFT srv-box-a"]);
    expect(w.stored("box-a").policy.history).toHaveLength(1);
  });

  it("OBS failing: probes still run, nothing is decided, no ECS call and nothing saved", async () => {
    await w.cycle("box-a");
    const before = structuredClone(w.stored("box-a"));
    w.store.failing = true;
    const report = await w.cycle("box-a", DOWN);
    expect(report.decided).toBe(false);
    expect(report.observations?.gateway.status).toBe("down");
    expect(report.observations?.watchdogErrors.join()).toMatch(/OBS/);
    expect(report.errors.join()).toMatch(/OBS: OBS unavailable/);
    expect(report.outcomes).toEqual([]);
    expect(w.computeBuilt).toBe(0);
    expect(w.notifier.attempts).toEqual([]);
    expect(w.store.counts.save).toBe(1);
    expect(w.stored("box-a")).toEqual(before);
    expect(w.logs.some((l) => l.level === "error" && /state unreadable/.test(l.msg))).toBe(true);
  });

  it("corrupt state: a fresh state, and the operators are told once", async () => {
    await w.cycles("box-a", 2, DOWN);
    w.store.corruptOnce = true;
    const report = await w.cycle("box-a", DOWN);
    expect(report.decided).toBe(true);
    expect(w.notifier.sent.map((m) => m.notification.type)).toEqual(["state-reset"]);
    expect(w.notifier.sent[0]?.rendered.text).toMatch(/mem\/box-a\/corrupt\/state-1\.json/);
    const policy = w.stored("box-a").policy;
    expect(policy.cycle).toBe(1); // counted from zero again
    expect(policy.counters.gateway.consecutiveFailures).toBe(1);
    await w.cycle("box-a", DOWN);
    expect(w.notifier.sent.map((m) => m.notification.type)).toEqual(["state-reset"]);
  });

  it("missing state: starts fresh and quietly", async () => {
    const report = await w.cycle("box-b", DOWN);
    expect(report.decided).toBe(true);
    expect(w.notifier.attempts).toEqual([]);
    expect(w.stored("box-b").policy).toMatchObject({ box: "box-b", cycle: 1 });
  });

  it("dry run: decides and explains, but saves, sends, acts and consumes nothing", async () => {
    await w.cycles("box-a", 2, DOWN);
    await w.store.addCommand("box-a", {
      id: "cmd-dry",
      kind: "unmute",
      at: T0,
      by: { userId: 7 },
    });
    const saves = w.store.counts.save;
    const events = w.store.events.length;
    const report = await w.cycle("box-a", DOWN, "dry-run");
    expect(report).toMatchObject({ mode: "dry-run", decided: true, outcomes: [] });
    expect(report.plan.join("\n")).toMatch(/would soft-reboot/);
    expect(report.plan.join("\n")).toMatch(/would notify: gateway down on box-a/);
    expect(report.openIncidents).toEqual([]); // as stored: the incident is not open yet
    expect(w.store.counts.save).toBe(saves);
    expect(w.store.events).toHaveLength(events);
    expect(w.store.commands.size).toBe(1);
    expect(w.compute.calls).toEqual([]);
    expect(w.notifier.attempts).toEqual([]);
  });

  it("timer mode backs off when another cycle saved moments ago, without probing", async () => {
    await w.cycle("box-a");
    const plans = w.plans.length;
    w.now += 5_000 - MINUTE; // the next cycle() adds a minute back: 5 s after the save
    const queued = await w.cycle("box-a", {}, "timer");
    expect(queued.skipped).toMatch(/another cycle finished 5000 ms ago/);
    expect(queued.decided).toBe(false);
    expect(w.plans).toHaveLength(plans);
    expect(w.store.counts.save).toBe(1);

    w.now += w.config.runtime.minInterval - 5_000 - MINUTE;
    const due = await w.cycle("box-a", {}, "timer");
    expect(due.skipped).toBeUndefined();
    expect(due.decided).toBe(true);
    expect(w.store.counts.save).toBe(2);
  });

  it("timer mode does not back off from a save stamped in the future (a clock that ran ahead)", async () => {
    await w.cycle("box-a");
    w.now -= 60 * MINUTE + MINUTE; // the next cycle() adds a minute: an hour before the save
    const report = await w.cycle("box-a", {}, "timer");
    expect(report.skipped).toBeUndefined();
    expect(report.decided).toBe(true);
    expect(w.store.counts.save).toBe(2);
  });

  it("takes the rebootstrap rung only for a box with bootstrap user_data", async () => {
    await w.cycles("boot-d", 12, DOWN);
    expect(w.compute.calls).toEqual([
      "reboot SOFT srv-boot-d",
      "reboot HARD srv-boot-d",
      "reinstall srv-boot-d",
    ]);
    expect(w.compute.userData).toEqual([USER_DATA]);
    await w.cycles("box-c", 12, DOWN);
    expect(w.compute.calls.filter((c) => c.endsWith("srv-box-c"))).toEqual([
      "reboot SOFT srv-box-c",
      "reboot HARD srv-box-c",
    ]);
    const types = w.notifier.sent.filter((m) => m.box === "box-c").map((m) => m.notification.type);
    expect(types).toContain("needs-human");
  });
});

describe("runFleet: every box, a bounded number at once", () => {
  it("checks at most `concurrency` boxes at once and reports them in config order", async () => {
    const fleet = new World(
      configFor(["box-a", "box-b", "box-c", "box-d", "box-e"], {
        runtime: { concurrency: 2 },
      }),
    );
    let running = 0;
    let peak = 0;
    fleet.script = async (box) => {
      running += 1;
      peak = Math.max(peak, running);
      // Later boxes answer sooner, so completion order differs from config order.
      await new Promise((r) => setTimeout(r, box === "box-a" ? 30 : 5));
      running -= 1;
      return {};
    };
    const report = await runFleet(fleet.config.boxes, fleet.deps, "act");
    expect(peak).toBe(2);
    expect(report.boxes.map((b) => b.box)).toEqual(["box-a", "box-b", "box-c", "box-d", "box-e"]);
    expect(report.boxes.every((b) => b.decided)).toBe(true);
    expect(report.skipped).toEqual([]);
    expect(report.requestId).toBe("req-1");
  });

  it("skips the boxes it has no time left for; they are checked next tick", async () => {
    const fleet = new World(
      configFor(["box-a", "box-b", "box-c", "box-d"], {
        runtime: { concurrency: 1 },
      }),
    );
    fleet.script = (box) => {
      if (box === "box-b") fleet.remaining = 2_000; // below the margin from here on
      return {};
    };
    const report = await runFleet(fleet.config.boxes, fleet.deps, "act");
    expect(report.boxes.map((b) => b.box)).toEqual(["box-a", "box-b"]);
    expect(report.skipped).toEqual(["box-c", "box-d"]);
    expect(fleet.store.states.has("box-b")).toBe(true); // the started one still saved its state
    expect(fleet.store.states.has("box-c")).toBe(false);
    expect(fleet.logs.some((l) => l.level === "warn" && /skipped/.test(l.msg))).toBe(true);
  });

  it("a box whose cycle throws does not stop the others", async () => {
    const fleet = new World(configFor(["box-a", "box-b", "box-c"]));
    fleet.script = (box) => {
      if (box === "box-b") throw new TypeError("probe bug");
      return {};
    };
    const report = await runFleet(fleet.config.boxes, fleet.deps, "act");
    expect(report.boxes.map((b) => [b.box, b.decided])).toEqual([
      ["box-a", true],
      ["box-b", false],
      ["box-c", true],
    ]);
    expect(report.boxes[1]?.errors).toEqual(["cycle crashed: probe bug"]);
    expect([...fleet.store.states.keys()].sort()).toEqual(["box-a", "box-c"]);
  });

  it("dry run over the fleet saves nothing", async () => {
    w.script = () => DOWN;
    const report = await runFleet(w.config.boxes, w.deps, "dry-run");
    expect(report.mode).toBe("dry-run");
    expect(report.boxes).toHaveLength(5);
    expect(report.boxes.every((b) => b.decided && b.plan.length > 0)).toBe(true);
    expect(w.store.counts.save).toBe(0);
    expect(w.store.states.size).toBe(0);
    expect(w.store.events).toEqual([]);
  });
});
