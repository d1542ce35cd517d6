import { describe, expect, it } from "vitest";
import { decodeCallback } from "../../shared/notify/callback-data";
import {
  budgetUsed,
  decide,
  incidentRef,
  initialState,
  type OperatorCommand,
  STATE_VERSION,
} from "../../shared/policy";
import { MemoryStateStore } from "../../shared/state/memory";
import type { LoadResult, RecentEventsQuery } from "../../shared/state/port";
import type { StoredEvent, StoredState } from "../../shared/state/schema";
import {
  ANN,
  HOUR,
  hostileConfig,
  MALLORY,
  MINUTE,
  observations,
  T0,
  World,
} from "./hostile-world";

// Issue 21, part A: what the red team got past the receiver's front door, replayed through the
// production cycle, policy and receiver. Each case failed on the code before the fix.

const Y2100 = Date.UTC(2100, 0, 1);

function mute(id: string, at: number, extra: Partial<OperatorCommand> = {}): OperatorCommand {
  return { id, kind: "mute", at, until: at + HOUR, by: { userId: ANN.id }, ...extra };
}

function stored(w: World): StoredState {
  const state = (w.store as MemoryStateStore).states.get("prod");
  if (!state) throw new Error("nothing saved");
  return state;
}

function events(w: World, type?: string): StoredEvent[] {
  return (w.store as MemoryStateStore).events.filter((e) => type === undefined || e.type === type);
}

describe("1. the watchdog re-checks every command it reads from OBS", () => {
  it("a command dated 2100, or by a clock a day fast, is refused and audited: healing goes on", async () => {
    const w = new World();
    await w.store.addCommand("prod", mute("far", Y2100));
    await w.store.addCommand("prod", mute("fast", T0 + 24 * HOUR, { until: T0 + 25 * HOUR }));
    await w.store.addCommand("prod", { ...mute("ack", Y2100), kind: "ack", until: Y2100 + HOUR });
    await w.cycles(40, "down");
    expect(stored(w).policy.mute).toBeUndefined();
    expect(w.compute.reboots().length).toBeGreaterThanOrEqual(2);
    expect(w.notifier.sent.map((m) => m.notification.type)).toContain("opened");
    const refused = events(w, "command-ignored").map((e) => e.detail);
    expect(refused).toHaveLength(3);
    for (const detail of refused) expect(detail).toMatch(/in the future/);
    expect(events(w, "mute")).toEqual([]);
    expect((w.store as MemoryStateStore).commands.size).toBe(0);
  });

  it("a mute or ack longer than 7 d, or shorter than a minute, is refused", async () => {
    const w = new World();
    await w.store.addCommand("prod", mute("month", T0, { until: T0 + 30 * 24 * HOUR }));
    await w.store.addCommand("prod", mute("blink", T0, { until: T0 + 1_000 }));
    await w.cycles(10, "down");
    expect(stored(w).policy.mute).toBeUndefined();
    expect(w.compute.reboots().length).toBeGreaterThan(0);
    expect(events(w, "command-ignored").map((e) => e.detail)).toEqual([
      expect.stringMatching(/mute of 1 s is outside 1 min to 7 d/),
      expect.stringMatching(/mute of 30 d is outside/),
    ]);
  });

  it("a command by a user outside alerts.allowedUserIds is not applied", async () => {
    const w = new World();
    await w.store.addCommand("prod", mute("forged", T0, { by: { userId: MALLORY.id } }));
    await w.cycle("ok");
    expect(stored(w).policy.mute).toBeUndefined();
    expect(events(w, "command-ignored")).toEqual([
      expect.objectContaining({
        detail: expect.stringMatching(/user 666 is not in alerts.allowedUserIds/),
        by: { userId: MALLORY.id },
      }),
    ]);
    expect((w.store as MemoryStateStore).commands.size).toBe(0);
  });

  it("a replay after 60 other commands does not apply again", async () => {
    const w = new World();
    const original = mute("once", T0 + MINUTE, { until: T0 + 3 * HOUR });
    await w.store.addCommand("prod", original);
    await w.cycle("ok");
    expect(stored(w).policy.mute).toBeDefined();
    for (let i = 0; i < 60; i++) {
      await w.store.addCommand("prod", {
        id: `other-${i}`,
        kind: "ack",
        at: w.now,
        by: { userId: ANN.id },
      });
    }
    await w.cycle("ok");
    await w.store.addCommand("prod", {
      id: "un",
      kind: "unmute",
      at: w.now,
      by: { userId: ANN.id },
    });
    await w.cycle("ok");
    expect(stored(w).policy.mute).toBeUndefined();
    await w.store.addCommand("prod", original);
    await w.cycle("ok");
    expect(stored(w).policy.mute).toBeUndefined();
    expect(events(w, "mute")).toHaveLength(1);
  });

  it("keeps the ids a state saved before this version remembered, for a whole window", () => {
    const config = hostileConfig().policy;
    const state = initialState("prod");
    state.processedCommands = ["old-mute"];
    const replay = mute("old-mute", T0 - HOUR, { until: T0 + HOUR });
    const next = decide(state, observations("ok"), T0, config, [replay]).state;
    expect(next.mute).toBeUndefined();
    expect(next.processedCommands).toEqual([]);
    expect(next.seenCommands).toEqual([{ id: "old-mute", at: T0 }]);
    const later = decide(next, observations("ok"), T0 + 20 * HOUR, config, [replay]).state;
    expect(later.mute).toBeUndefined();
  });

  it("forgets ids only together with the commands they could replay (the horizon)", () => {
    const config = hostileConfig().policy;
    let state = initialState("prod");
    const ids = Array.from({ length: 260 }, (_, i) => i);
    for (const i of ids) {
      const command = { id: `c-${i}`, kind: "ack" as const, at: T0 + i, by: { userId: ANN.id } };
      state = decide(state, observations("ok"), T0 + 1_000, config, [command]).state;
    }
    expect(state.seenCommands?.length).toBe(200);
    // c-10 was forgotten to stay bounded: the horizon refuses it anyway.
    const replay = decide(state, observations("ok"), T0 + 2_000, config, [
      { id: "c-10", kind: "mute", at: T0 + 10, until: T0 + HOUR, by: { userId: ANN.id } },
    ]);
    expect(replay.state.mute).toBeUndefined();
    expect(replay.actions).toContainEqual(
      expect.objectContaining({
        event: expect.objectContaining({
          type: "command-ignored",
          detail: expect.stringContaining("older than the oldest command id still remembered"),
        }),
      }),
    );
  });
});

describe("2. times in the future count for nothing", () => {
  it("3 history entries dated 2100 do not stop remediation", async () => {
    const w = new World();
    const policy = initialState("prod");
    policy.history = [1, 2, 3].map((i) => ({
      action: "soft-reboot" as const,
      at: Y2100 + i,
      key: `f${i}`,
    }));
    await w.store.save("prod", { version: STATE_VERSION, savedAt: T0, policy, probes: {} });
    await w.cycles(6, "down");
    expect(w.compute.reboots()).toEqual(["reboot SOFT srv-prod", "reboot HARD srv-prod"]);
    expect(stored(w).policy.history.every((e) => e.at <= w.now)).toBe(true);
    expect(events(w, "state-repaired")).toEqual([
      expect.objectContaining({ detail: expect.stringContaining("budget history") }),
    ]);
  });

  it("budgetUsed ignores a future entry wherever it is asked (the receiver's prompt too)", () => {
    const config = hostileConfig().policy;
    const state = initialState("prod");
    state.history = [
      { action: "soft-reboot", at: Y2100, key: "f" },
      { action: "soft-reboot", at: T0 + 60_000, key: "skew" },
      { action: "hard-reboot", at: T0 - HOUR, key: "real" },
    ];
    expect(budgetUsed(state, "reboots", T0, config)).toBe(2);
  });

  it("a grace, a reminder time and flapping opens dated 2100 do not silence the watchdog", async () => {
    const w = new World();
    const policy = initialState("prod");
    policy.remediation.graceUntil = Y2100;
    policy.remediation.graceAction = "soft-reboot";
    policy.openLog = [0, 1, 2, 3].map((i) => ({
      component: "gateway" as const,
      cause: "down" as const,
      at: Y2100 + i,
      incidentId: `prod.gateway.${Y2100 + i}`,
    }));
    policy.counters.gateway.firstFailureAt = Y2100;
    await w.store.save("prod", { version: STATE_VERSION, savedAt: Y2100, policy, probes: {} });
    await w.cycles(4, "down");
    expect(w.notifier.sent.map((m) => m.notification.type)).toContain("opened");
    expect(w.compute.reboots()).toEqual(["reboot SOFT srv-prod"]);
    const after = stored(w).policy;
    expect(after.remediation.graceUntil).toBeLessThan(w.now + HOUR);
    expect(after.counters.gateway.firstFailureAt).toBeLessThanOrEqual(w.now);
  });
});

/** The in-memory store answering the next load as a truncated object (what OBS gave back). */
class CorruptibleStore extends MemoryStateStore {
  corruptNext = false;
  failEvents = false;
  override async load(box: string): Promise<LoadResult> {
    if (!this.corruptNext) return super.load(box);
    this.corruptNext = false;
    return { kind: "corrupt", reason: "not JSON", movedTo: `mem/${box}/corrupt/state-1.json` };
  }
  override async recentEvents(box: string, query: RecentEventsQuery): Promise<StoredEvent[]> {
    if (this.failEvents) throw new Error("OBS 503 on the events/ listing");
    return super.recentEvents(box, query);
  }
}

describe("6. a corrupt state.json does not reset the remediation budget", () => {
  const budgetConfig = () =>
    hostileConfig({ budget: { reboots: 2 }, ladder: ["soft-reboot", "hard-reboot"] });

  async function spendTheBudget(w: World): Promise<void> {
    await w.cycles(10, "down");
    expect(w.compute.reboots()).toHaveLength(2);
    await w.cycles(2, "ok");
  }

  it("rebuilds the counters from the audit events and says so once", async () => {
    const store = new CorruptibleStore();
    const w = new World(budgetConfig(), store);
    await spendTheBudget(w);
    store.corruptNext = true;
    await w.cycles(30, "down");
    expect(w.compute.reboots()).toHaveLength(2);
    const resets = w.notifier.sent.filter((m) => m.notification.type === "state-reset");
    expect(resets).toHaveLength(1);
    expect(resets[0]?.rendered.text).toContain(
      "The action budget was rebuilt from the audit log: 2 of 2 reboots and 0 of 1 rebootstraps used in 1 d.",
    );
    expect(stored(w).policy.history.map((e) => e.action)).toEqual(["soft-reboot", "hard-reboot"]);
    expect(w.notifier.sent.map((m) => m.notification.type)).toContain("budget-exhausted");
  });

  it("a deleted state.json does not reset it either", async () => {
    const store = new CorruptibleStore();
    const w = new World(budgetConfig(), store);
    await spendTheBudget(w);
    store.states.delete("prod");
    await w.cycles(30, "down");
    expect(w.compute.reboots()).toHaveLength(2);
    const resets = w.notifier.sent.filter((m) => m.notification.type === "state-reset");
    expect(resets.map((m) => m.rendered.text)).toEqual([
      expect.stringContaining("state.json is missing although the audit log shows"),
    ]);
  });

  it("counts the budget as spent when the audit log cannot be read", async () => {
    const store = new CorruptibleStore();
    const w = new World(budgetConfig(), store);
    await w.cycle("ok");
    store.corruptNext = true;
    store.failEvents = true;
    await w.cycles(30, "down");
    expect(w.compute.reboots()).toEqual([]);
    const reset = w.notifier.sent.find((m) => m.notification.type === "state-reset");
    expect(reset?.rendered.text).toMatch(
      /could not be rebuilt from the audit log \(the audit log could not be read\): it counts as spent until 2026-11-26 12:02 UTC/,
    );
  });

  it("counts a manual reboot logged by the receiver and by the watchdog once", async () => {
    const store = new CorruptibleStore();
    const w = new World(budgetConfig(), store);
    const app = w.receiver();
    await w.send(app, w.say("/reboot"));
    const prompt = w.chat.posts.at(-1);
    const data = prompt?.message.keyboard?.inline_keyboard[0]?.[0]?.callback_data ?? "";
    await w.send(app, w.press(data, prompt?.messageId ?? 0));
    await w.cycle("ok"); // the watchdog applies the manual-action command
    expect(events(w, "manual-action")).toHaveLength(2);
    store.corruptNext = true;
    await w.cycle("ok");
    expect(stored(w).policy.history).toEqual([
      expect.objectContaining({
        action: "reboot",
        key: expect.stringMatching(/^manual:tg-confirm-/),
      }),
    ]);
  });
});

describe("3. one confirmation, two receiver instances: exactly one action, counted", () => {
  async function promptOn(w: World) {
    await w.send(w.receiver(), w.say("/reboot"));
    const prompt = w.chat.posts.at(-1);
    if (!prompt) throw new Error("no prompt");
    return {
      messageId: prompt.messageId,
      data: prompt.message.keyboard?.inline_keyboard[0]?.[0]?.callback_data ?? "",
    };
  }

  it("both instances pressed at once: one reboot, one manual action in the budget", async () => {
    const w = new World();
    const { messageId, data } = await promptOn(w);
    const [a, b] = [w.receiver(20), w.receiver(20)];
    await Promise.all([w.send(a, w.press(data, messageId)), w.send(b, w.press(data, messageId))]);
    expect(w.compute.reboots()).toEqual(["reboot SOFT srv-prod"]);
    expect(w.chat.answers).toEqual(
      expect.arrayContaining([
        "Reboot of prod requested.",
        "Already in progress: another press was first; see /status.",
      ]),
    );
    await w.cycle("ok");
    const history = stored(w).policy.history;
    expect(history).toEqual([expect.objectContaining({ action: "reboot", by: "@ann" })]);
    expect(budgetUsed(stored(w).policy, "reboots", w.now, w.config.policy)).toBe(1);
  });

  it("does not act when the action cannot be recorded for the budget first", async () => {
    class NoCommands extends MemoryStateStore {
      override async addCommand(): Promise<void> {
        throw new Error("OBS 503 on PUT commands/");
      }
    }
    const w = new World(hostileConfig(), new NoCommands());
    const { messageId, data } = await promptOn(w);
    await w.send(w.receiver(), w.press(data, messageId));
    expect(w.compute.reboots()).toEqual([]);
    expect(w.chat.answers.at(-1)).toContain("nothing done");
  });

  it("an ECS refusal withdraws the pre-written command: nothing is counted", async () => {
    const w = new World();
    const { messageId, data } = await promptOn(w);
    w.compute.failWith = new Error("ECS reboot failed: HTTP 409 Ecs.0023");
    await w.send(w.receiver(), w.press(data, messageId));
    await w.cycle("ok");
    expect(stored(w).policy.history).toEqual([]);
    expect(events(w, "command-ignored").map((e) => e.detail)).toEqual([
      expect.stringContaining("refused by ECS"),
    ]);
  });
});

describe("7. an old Ack button does not ack a newer incident", () => {
  function ackButton(w: World, nth: number): string {
    const opened = w.notifier.sent.filter((m) => m.notification.type === "opened")[nth];
    const button = opened?.rendered.keyboard?.inline_keyboard
      .flat()
      .find((b) => decodeCallback(b.callback_data)?.action === "ack");
    if (!button) throw new Error("no ack button");
    return button.callback_data;
  }

  it("a stale press answers that the incident is over; the current one's button acks it", async () => {
    // No automatic actions: the incidents come and go while nobody acts.
    const w = new World(hostileConfig({ ladder: [], budget: { reboots: 0 } }));
    await w.cycles(3, "down");
    await w.cycles(2, "ok");
    await w.cycles(3, "down");
    const [first, second] = [ackButton(w, 0), ackButton(w, 1)];
    expect(decodeCallback(first)?.incident).not.toBe(decodeCallback(second)?.incident);
    const app = w.receiver();
    await w.send(app, w.press(first, 1));
    expect(w.chat.answers.at(-1)).toBe("That incident is over: nothing acked.");
    expect((w.store as MemoryStateStore).commands.size).toBe(0);
    await w.send(app, w.press(second, 2));
    expect(w.chat.answers.at(-1)).toBe("Acked prod gateway for 1 h.");
    await w.cycle("down");
    const incident = stored(w).policy.incidents.gateway;
    expect(incident?.ackedBy).toBe("@ann");
    expect(incidentRef(incident?.id ?? "")).toBe(decodeCallback(second)?.incident);
  });

  it("the watchdog refuses an ack for an incident that is over, whatever the receiver saw", async () => {
    const w = new World(hostileConfig({ ladder: [], budget: { reboots: 0 } }));
    await w.cycles(3, "down");
    const old = stored(w).policy.incidents.gateway?.id ?? "";
    await w.cycles(2, "ok");
    await w.cycles(3, "down");
    await w.store.addCommand("prod", {
      id: "tg-9",
      kind: "ack",
      at: w.now,
      until: w.now + HOUR,
      by: { userId: ANN.id },
      incidentComponent: "gateway",
      incidentRef: incidentRef(old),
    });
    await w.cycle("down");
    expect(stored(w).policy.incidents.gateway?.ackedUntil).toBeUndefined();
    expect(events(w, "command-ignored").map((e) => e.detail)).toEqual([
      "ack tg-9: that incident is over",
    ]);
  });
});
