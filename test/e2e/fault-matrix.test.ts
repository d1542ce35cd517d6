import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CycleReport } from "../../shared/watchdog/cycle";
import type { FleetReport } from "../../shared/watchdog/fleet";
import { eventually, type Harness, startHarness, WATCHDOG } from "./harness";

/**
 * The rows of DESIGN.md's fault matrix that watchdog.test.ts leaves open, end to end: the bundled
 * watchdog in the local FunctionGraph, real SDKs against the local ECS, OBS, Telegram and MaaS.
 * One box per row; cycles are stepped by manual invokes, except the overlap row (TIMER fires).
 *
 * box-1 full ladder · box-2 slow boot · box-3 Telegram 429 · box-4 degraded · box-5 ingress
 * stall · box-6 ECS 5xx · box-7 every probe failing · box-8 near the function timeout.
 */
let h: Harness;

/** Enough to exercise the rebootstrap rung; the local ECS only records and counts it. */
const BOOTSTRAP = Buffer.from("#!/bin/sh\necho clawwatch fault-matrix bootstrap\n").toString(
  "base64",
);

beforeAll(async () => {
  h = await startHarness(8, {
    deploy: {
      // A real TIMER trigger for the overlap row; at time scale 0.01 it would first fire after
      // 864 s, so only fire-timer invokes it.
      timerRate: "24h",
      bootstrapUserData: { "box-1": BOOTSTRAP },
      // The every-probe-failing row waits out MaaS timeouts; a local MaaS answers in ms.
      probes: { maasTimeout: "1s" },
    },
  });
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const ecs = (action: string, params: Record<string, unknown> = {}) =>
  h.cloud.control("ecs", action, params);
const telegram = (action: string, params: Record<string, unknown> = {}) =>
  h.cloud.control("telegram", action, params);
const maas = (action: string, params: Record<string, unknown> = {}) =>
  h.cloud.control("maas", action, params);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function only(report: FleetReport): CycleReport {
  const box = report.boxes[0];
  if (!box) throw new Error(`no box in the report: ${JSON.stringify(report)}`);
  return box;
}

async function cycles(box: string, count: number): Promise<CycleReport[]> {
  const reports: CycleReport[] = [];
  for (let i = 0; i < count; i++) reports.push(only(await h.cycle(box)));
  return reports;
}

/** Cycles until `check` holds (each cycle is one watchdog invocation); returns every report. */
async function cycleUntil(
  box: string,
  what: string,
  check: () => Promise<boolean>,
  max = 30,
): Promise<CycleReport[]> {
  const reports: CycleReport[] = [];
  for (let i = 0; i < max; i++) {
    reports.push(only(await h.cycle(box)));
    if (await check()) return reports;
    await pause(100);
  }
  throw new Error(`after ${max} cycles of ${box} still no ${what}`);
}

const titles = async (box: string) =>
  (await h.alerts(box)).map((m) => m.plainText.split("\n")[0] ?? "");
const resolved = (box: string) => async () => (await titles(box)).some((t) => /resolved:/.test(t));

interface StoredPolicy {
  savedAt: number;
  policy: {
    cycle: number;
    incidents: Record<string, { cause: string; steps: { action: string; status: string }[] }>;
    remediation: { graceUntil?: number };
    history: { action: string }[];
    outbox: { notification: { type: string; title: string } }[];
  };
}
const stored = async (box: string) => (await h.stateOf(box)) as unknown as StoredPolicy;

function gatewayBot(box: string): string {
  const found = h.cloud.endpoints.boxes.find((b) => b.name === box);
  if (!found) throw new Error(`no box ${box}`);
  return found.telegramBot.username;
}

/** Whether ECS answered a ShowServer for the box's server that was asked at or after `since`. */
async function serverShownSince(box: string, since: string): Promise<boolean> {
  const serverId = h.serverOf(box);
  const calls = (await ecs("calls")) as {
    action: string;
    path: string;
    status: number;
    time: string;
  }[];
  return calls.some(
    (c) =>
      c.action === "ShowServer" && c.path.endsWith(serverId) && c.status === 200 && c.time >= since,
  );
}

interface Invocation {
  triggerType: string;
  status: string;
  result?: string;
  startedAt?: string;
  finishedAt?: string;
}

describe("fault matrix on the local cloud", () => {
  // First, while no box has a recent state: a TIMER cycle decides for every box.
  it("overlapping TIMER invocations (max instances 1): the second backs off", async () => {
    const fire = () =>
      h.cloud.control("functiongraph", "fire-timer", {
        functionName: WATCHDOG,
        wait: true,
      }) as Promise<{ invocations: Invocation[] }>;
    const fired = await Promise.all([fire(), fire()]);
    const runs = fired
      .flatMap((f) => f.invocations)
      .sort((a, b) => (a.startedAt ?? "").localeCompare(b.startedAt ?? ""));
    expect(runs.map((r) => [r.triggerType, r.status])).toEqual([
      ["TIMER", "success"],
      ["TIMER", "success"],
    ]);
    // Serialised by max instances 1: the second started only after the first finished.
    expect(runs[1]?.startedAt && runs[0]?.finishedAt).toBeTruthy();
    expect((runs[1]?.startedAt ?? "") >= (runs[0]?.finishedAt ?? "~")).toBe(true);
    const [first, second] = runs.map((r) => JSON.parse(r.result ?? "null") as FleetReport);
    expect(first?.mode).toBe("timer");
    expect(first?.boxes).toHaveLength(8);
    expect(first?.boxes.every((b) => b.decided && b.skipped === undefined)).toBe(true);
    expect(second?.boxes).toHaveLength(8);
    for (const box of second?.boxes ?? []) {
      expect(box.decided).toBe(false);
      expect(box.skipped).toMatch(/another cycle finished \d+ ms ago/);
      expect(box.observations).toBeUndefined();
    }
    // The second one probed nothing and saved nothing: one cycle in every box's state.
    expect((await stored("box-1")).policy.cycle).toBe(1);
    expect((await stored("box-8")).policy.cycle).toBe(1);
  });

  it("gateway crash loop: soft → hard reboot → rebootstrap → needs a human, within budget", async () => {
    const serverId = h.serverOf("box-1");
    const bootstrapsBefore = (await h.server("box-1")).bootstrapRuns;
    // Every start stays "starting" for 400 ms, then dies; systemd restarts it 50 ms later, and no
    // reboot cures it: the gateway never comes back, whatever the watchdog does.
    await ecs("slow-boot", { serverId, ms: 600_000 });
    await ecs("crash-loop", { serverId, ms: 400 });
    const needsHuman = async () => (await titles("box-1")).some((t) => /needs a human/.test(t));
    for (let i = 0; i < 150 && !(await needsHuman()); i++) {
      await h.cycle("box-1");
      await pause(100);
    }
    expect(await needsHuman()).toBe(true);
    expect(await h.ecsActions("box-1")).toEqual(["reboot SOFT", "reboot HARD", "reinstall"]);
    expect((await h.server("box-1")).bootstrapRuns).toBe(bootstrapsBefore + 1);

    // Nothing more happens while it stays down: no fourth action, no second needs-human message.
    for (let i = 0; i < 4; i++) await h.cycle("box-1");
    const actions = await h.ecsActions("box-1");
    expect(actions).toEqual(["reboot SOFT", "reboot HARD", "reinstall"]);
    // The default budget: 3 reboots and 1 rebootstrap per 24 h.
    expect(actions.filter((a) => a.startsWith("reboot")).length).toBeLessThanOrEqual(3);
    expect(actions.filter((a) => a === "reinstall").length).toBeLessThanOrEqual(1);
    const said = await titles("box-1");
    expect(said.filter((t) => /needs a human/.test(t))).toHaveLength(1);
    expect(said[0]).toMatch(/gateway (down|crash-looping) on box-1/);
    expect((await h.server("box-1")).nRestarts).toBeGreaterThan(0);
    expect(
      said.filter((t) => /automatic/.test(t)).map((t) => t.replace(/.*automatic /, "")),
    ).toEqual(["soft reboot", "hard reboot", "rebootstrap"]);
    const state = await stored("box-1");
    expect(state.policy.history.map((e) => e.action)).toEqual([
      "soft-reboot",
      "hard-reboot",
      "rebootstrap",
    ]);
    expect(state.policy.incidents.gateway?.steps.map((s) => `${s.action}:${s.status}`)).toEqual([
      "soft-reboot:done",
      "hard-reboot:done",
      "rebootstrap:done",
    ]);
  });

  it("slow boot after a reboot: no alert and no second action while it boots; then resolved", async () => {
    const serverId = h.serverOf("box-2");
    await ecs("slow-boot", { serverId, ms: 2_500 });
    await ecs("hang", { serverId }); // a reboot cures a hang (systemd does not see one)
    await cycleUntil("box-2", "reboot", async () => (await h.ecsActions("box-2")).length > 0, 8);
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    const told = await titles("box-2");
    expect(told).toHaveLength(2); // "gateway down" and its "automatic soft reboot" update
    const graceUntil = (await stored("box-2")).policy.remediation.graceUntil ?? 0;
    expect(graceUntil).toBeGreaterThan(0);

    const seen: { status: string; afterGrace: boolean }[] = [];
    for (let i = 0; i < 80; i++) {
      const afterGrace = Date.now() > graceUntil;
      const report = only(await h.cycle("box-2"));
      const status = report.observations?.gateway.status ?? "?";
      seen.push({ status, afterGrace });
      if (status === "ok") break;
      await pause(100);
    }
    // It was seen booting, also after the grace ran out: booting never counts as down.
    expect(seen.some((s) => s.status === "booting" && s.afterGrace)).toBe(true);
    expect(seen.at(-1)?.status).toBe("ok");
    expect(await titles("box-2")).toEqual(told);
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);

    await cycleUntil("box-2", "resolution", resolved("box-2"));
    expect((await titles("box-2")).slice(2)).toEqual([expect.stringMatching(/resolved:/)]);
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    await ecs("slow-boot", { serverId, ms: 80 });
  });

  it("Telegram 429 on sendMessage: the alert waits retry_after, is delivered once, nothing dropped", async () => {
    const alertsBot = h.cloud.endpoints.telegramBots.alerts.username;
    await ecs("hang", { serverId: h.serverOf("box-3") });
    await cycles("box-3", 2);
    expect(await h.alerts("box-3")).toEqual([]);
    await telegram("clear-calls");
    await telegram("rate-limit", {
      retryAfter: 1,
      count: 1,
      method: "sendMessage",
      bot: alertsBot,
    });
    let report: CycleReport;
    try {
      report = only(await h.cycle("box-3"));
    } finally {
      await telegram("reset");
    }
    expect(report.outcomes.map((o) => o.kind)).toEqual(["remediated", "notified", "notified"]);
    const sends = (await telegram("calls", { bot: alertsBot, method: "sendMessage" })) as {
      status: number;
      time: string;
    }[];
    expect(sends.map((c) => c.status)).toEqual([429, 200, 200]);
    const [limited, retried] = sends;
    // Waited out Telegram's retry_after (1 s) before asking again.
    expect(
      Date.parse(retried?.time ?? "") - Date.parse(limited?.time ?? ""),
    ).toBeGreaterThanOrEqual(1_000);

    await cycleUntil("box-3", "resolution", resolved("box-3"));
    const told = await titles("box-3");
    expect(told[0]).toMatch(/gateway down on box-3/);
    expect(told[1]).toMatch(/automatic soft reboot/);
    expect(told.at(-1)).toMatch(/resolved:/);
    // Each notification exactly once, and none left behind or dropped.
    const ids = (await h.alerts("box-3")).map((m) => m.messageId);
    expect(new Set(told).size).toBe(told.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await stored("box-3")).policy.outbox).toEqual([]);
  });

  it("gateway degraded (failing: telegram): alerts, never acts on the box", async () => {
    // The gateway's bot token revoked: its Telegram channel fails past the connect grace. A
    // message ends the gateway's held long poll (accepted before the revoke), so its next poll
    // meets the 401 now rather than after the 30 s poll timeout.
    const bot = gatewayBot("box-4");
    await telegram("revoke-token", { bot });
    await telegram("inject-message", { bot, chatId: 5_550_004, userId: 5_550_004, text: "hi" });
    let reports: CycleReport[];
    try {
      reports = await cycleUntil("box-4", "a degraded alert", async () =>
        (await titles("box-4")).some((t) => /gateway degraded on box-4/.test(t)),
      );
    } finally {
      await telegram("reset");
    }
    // The gateway's first poll with the restored token is held (nothing to fetch) and the
    // stand-in counts itself connected only once a poll returns: a message makes it return.
    await telegram("inject-message", { bot, chatId: 5_550_004, userId: 5_550_004, text: "back?" });
    const last = reports.at(-1);
    expect(last?.observations?.gateway).toMatchObject({
      status: "degraded",
      failing: ["telegram"],
    });
    expect(last?.plan.join("\n")).toMatch(/gateway: fail \(degraded\)/);
    // The watchdog's own Telegram probe uses the same token and says so too.
    expect((await titles("box-4")).some((t) => /Telegram token rejected/.test(t))).toBe(true);
    expect(await h.ecsActions("box-4")).toEqual([]);

    await cycleUntil("box-4", "resolution", async () =>
      (await titles("box-4")).some((t) => /resolved: gateway degraded/.test(t)),
    );
    expect(await h.ecsActions("box-4")).toEqual([]);
  });

  it("ingress stall (updates pending while ready): alert, a soft reboot, then the update is read", async () => {
    const serverId = h.serverOf("box-5");
    const chatId = 5_550_001;
    await ecs("stall-polling", { serverId });
    await telegram("inject-message", {
      bot: gatewayBot("box-5"),
      chatId,
      userId: chatId,
      text: "are you still there",
    });
    const reports = await cycleUntil("box-5", "a reboot", async () =>
      (await h.ecsActions("box-5")).includes("reboot SOFT"),
    );
    // Ready all along; it was the pending update that counted.
    expect(reports.every((r) => r.observations?.gateway.status === "ok")).toBe(true);
    const acting = reports.at(-1);
    expect(acting?.plan.join("\n")).toMatch(/gateway: fail \(ingress-stalled\)/);
    // One cycle opens the incident and acts; its first message precedes the reboot notice.
    expect(acting?.outcomes.map((o) => o.kind)).toEqual(["remediated", "notified", "notified"]);
    expect(await titles("box-5")).toEqual([
      expect.stringMatching(/gateway stopped reading Telegram on box-5/),
      expect.stringMatching(/automatic soft reboot/),
    ]);

    // The reboot cleared the stall: the gateway takes the update and answers it.
    await eventually(async () => {
      const sent = (await telegram("messages", { bot: gatewayBot("box-5"), chatId })) as {
        text: string;
      }[];
      return sent.some((m) => /Local MaaS reply: are you still there/.test(m.text));
    }, "the gateway's reply to the pending update");
    await cycleUntil("box-5", "resolution", resolved("box-5"));
    expect(await h.ecsActions("box-5")).toEqual(["reboot SOFT"]);
  });

  it("ECS API 5xx: logged, asked again next cycle without spending budget, one reboot when back", async () => {
    await ecs("hang", { serverId: h.serverOf("box-6") });
    await cycles("box-6", 2);
    expect(await h.ecsActions("box-6")).toEqual([]);

    // The third cycle asks for the reboot. Hold it in the MaaS probe until its ShowServer was
    // answered, then make the ECS API fail: the reboot request itself gets the 503.
    const since = new Date().toISOString();
    await maas("hang");
    const third = h.cycle("box-6");
    third.catch(() => undefined); // awaited below; a failure before then must not go unhandled
    try {
      await eventually(
        () => serverShownSince("box-6", since),
        "the third cycle's ShowServer",
        300,
        10,
      );
      await ecs("error", { status: 503 });
    } finally {
      await maas("reset");
    }
    const refused = only(await third);
    expect(refused.outcomes[0]).toMatchObject({ kind: "remediate-failed", action: "soft-reboot" });
    expect(refused.outcomes[0]).toHaveProperty("error", expect.stringMatching(/503/));
    expect(await h.ecsCalls("box-6")).toEqual([
      { operation: "reboot SOFT", status: 503 },
      { operation: "reboot SOFT", status: 503 }, // the adapter's one retry of a 5xx
    ]);
    let state = await stored("box-6");
    expect(state.policy.history).toEqual([]);
    expect(state.policy.incidents.gateway?.steps).toMatchObject([
      { action: "soft-reboot", status: "failed" },
    ]);

    // Still failing: ShowServer fails too, so the cycle waits (logged in the report), no budget.
    const waiting = only(await h.cycle("box-6"));
    expect(waiting.observations?.server).toMatchObject({ status: "error" });
    expect(waiting.plan.join("\n")).toMatch(/server status is unknown/);
    expect(waiting.outcomes.filter((o) => o.kind.startsWith("remediat"))).toEqual([]);
    expect((await stored("box-6")).policy.history).toEqual([]);

    await ecs("reset");
    const retried = only(await h.cycle("box-6"));
    expect(retried.outcomes.filter((o) => o.kind.startsWith("remediat"))).toMatchObject([
      { kind: "remediated", action: "soft-reboot" },
    ]);
    expect(await h.ecsActions("box-6")).toEqual(["reboot SOFT"]);
    state = await stored("box-6");
    expect(state.policy.history.map((e) => e.action)).toEqual(["soft-reboot"]);
    expect(state.policy.incidents.gateway?.steps).toMatchObject([
      { action: "soft-reboot", status: "done", attempts: 2 },
    ]);
    expect((await titles("box-6")).some((t) => /soft reboot failed/.test(t))).toBe(true);

    await cycleUntil("box-6", "resolution", resolved("box-6"));
    expect(await h.ecsActions("box-6")).toEqual(["reboot SOFT"]);
  });

  it("every probe failing at once: nothing done to the box; a watchdog-network notice once Telegram is back", async () => {
    const serverId = h.serverOf("box-7");
    await maas("hang");
    await telegram("down");
    await ecs("hang", { serverId }); // the gateway does not answer either
    let outage: CycleReport[];
    try {
      outage = await cycles("box-7", 3);
    } finally {
      await ecs("resume", { serverId });
      await maas("reset");
      await telegram("up");
    }
    for (const report of outage) {
      expect(report.observations?.maas).toMatchObject({ status: "down", unreachable: true });
      expect(report.observations?.telegram).toMatchObject({ status: "down", unreachable: true });
      expect(report.observations?.gateway.status).toBe("down");
      expect(report.plan.join("\n")).toMatch(/watchdog: fail \(network\)/);
    }
    expect(await h.ecsActions("box-7")).toEqual([]);
    expect(await h.alerts("box-7")).toEqual([]);
    const held = await stored("box-7");
    expect(held.policy.incidents.watchdog?.cause).toBe("network");
    expect(held.policy.incidents.gateway).toBeUndefined();
    expect(held.policy.outbox.map((e) => e.notification.type)).toEqual(["watchdog-network"]);

    const back = only(await h.cycle("box-7"));
    expect(back.outcomes).toMatchObject([{ kind: "notified" }]);
    expect(await titles("box-7")).toEqual([
      expect.stringMatching(/watchdog cannot reach the internet on box-7/),
    ]);
    await cycleUntil("box-7", "resolution", resolved("box-7"));
    expect(await h.ecsActions("box-7")).toEqual([]);
  });

  it("near the function timeout: no remediation started, state saved, the reboot comes next cycle", async () => {
    // A second deployment whose safety margin (6 s of a 9 s timeout) is crossed while the MaaS
    // probe waits out its two 1.6 s timeouts: at least 3.2 s, so at most 5.8 s are left.
    const short = await h.deployCopy("clawwatch-watchdog-short", {
      timeoutSeconds: 9,
      runtime: { safetyMargin: "6s" },
      probes: { maasTimeout: "1600ms" },
    });
    // Warm it (a dry run acts on nothing): a cold start on a busy machine must not eat the margin.
    expect((await short.diagnose("box-8")).boxes).toHaveLength(1);
    await ecs("hang", { serverId: h.serverOf("box-8") });
    await cycles("box-8", 2);
    const before = await stored("box-8");
    await maas("hang");
    let report: FleetReport;
    try {
      report = await short.cycle("box-8");
    } finally {
      await maas("reset");
    }
    expect(report.skipped).toEqual([]);
    const cut = only(report);
    expect(cut.decided).toBe(true);
    expect(cut.plan.join("\n")).toMatch(/would soft-reboot/);
    expect(cut.outcomes).toEqual([
      expect.objectContaining({
        kind: "remediate-failed",
        action: "soft-reboot",
        error: expect.stringMatching(/near its timeout/),
      }),
    ]);
    expect(await h.ecsActions("box-8")).toEqual([]);
    expect(await h.alerts("box-8")).toEqual([]);
    const after = await stored("box-8");
    expect(after.savedAt).toBeGreaterThan(before.savedAt);
    expect(after.policy.cycle).toBe(before.policy.cycle + 1);
    expect(after.policy.history).toEqual([]);
    expect(after.policy.incidents.gateway?.steps).toMatchObject([{ status: "failed" }]);
    expect(after.policy.outbox.map((e) => e.notification.type)).toContain("opened");

    // The next (roomy) cycle does what was held back, and the alerts go out.
    await h.cycle("box-8");
    expect(await h.ecsActions("box-8")).toEqual(["reboot SOFT"]);
    expect((await titles("box-8"))[0]).toMatch(/gateway down on box-8/);
  });

  // Last: every fault above went through error paths (ECS 503, Telegram 429/401, timeouts).
  it("no secret appears in any function log, result or Telegram message", async () => {
    const invocations = (await h.cloud.control("functiongraph", "invocations", {
      limit: 1000,
    })) as unknown[];
    const messages = await telegram("messages");
    const everything = JSON.stringify({ invocations, messages });
    expect(invocations.length).toBeGreaterThan(50);
    for (const secret of h.secrets) expect(everything).not.toContain(secret);
  });
});
