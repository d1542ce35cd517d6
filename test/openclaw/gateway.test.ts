import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockFilesOf } from "../../infra/local/guest/openclaw-guest";
import { OPENCLAW_VERSION } from "../../infra/openclaw/install";
import type { FleetReport } from "../../shared/watchdog/fleet";
import {
  BOOT_LIMIT_MS,
  eventually,
  installSize,
  Measurements,
  type OpenclawHarness,
  type SentMessage,
  startOpenclawHarness,
} from "./harness";

/**
 * clawwatch against the thing users run: the bundled watchdog (and receiver) deployed to the
 * local FunctionGraph, two local ECS servers each running the real openclaw gateway on Node 24,
 * Telegram and MaaS fakes behind it. Cycles are stepped by invoking the watchdog. box-1 takes
 * the crashes (kill, SIGSTOP) and the chat round trip; box-2 the outside failures (Telegram,
 * MaaS) and the polling stall. The numbers measured are printed at the end.
 */
let h: OpenclawHarness;
const measured = new Measurements();
const suiteStarted = Date.now();

beforeAll(async () => {
  const started = Date.now();
  h = await startOpenclawHarness(2);
  measured.add("local cloud with 2 real gateways started, both /readyz 200", Date.now() - started);
  for (const box of ["box-1", "box-2"]) {
    const ready = h.boots(box).find((r) => r.event === "ready");
    if (ready) measured.add(`first boot of ${box} (launch → /readyz 200)`, ready.ms);
  }
});

afterAll(async () => {
  await h?.stop();
  measured.add("suite wall time", Date.now() - suiteStarted);
  measured.note(`openclaw cache (Node 24 + openclaw@${OPENCLAW_VERSION}): ${installSize()}`);
  measured.print();
});

const ecs = (action: string, params: Record<string, unknown>) =>
  h.cloud.control("ecs", action, params);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cycles(box: string, count: number): Promise<FleetReport[]> {
  const reports: FleetReport[] = [];
  for (let i = 0; i < count; i++) reports.push(await h.cycle(box));
  return reports;
}

/** Watchdog cycles, a second apart, until `check` holds (the gateway boots in real time). */
async function cycleUntil(
  box: string,
  what: string,
  check: (report: FleetReport) => Promise<boolean> | boolean,
  limitMs = BOOT_LIMIT_MS,
): Promise<FleetReport> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const report = await h.cycle(box);
    if (await check(report)) return report;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${limitMs / 1000} s of cycles`);
    await sleep(1_000);
  }
}

/** Past REAL_POLICY's ingressLongestTurn (20 s): 3 × its ingressStallAfter (10 s). */
const LONG_TURN_MS = 30_000;

interface MaasRequest {
  endpoint: string;
  stream: boolean;
  status: number | null;
  time: string;
}
const maasChats = async () =>
  ((await h.cloud.control("maas", "requests")) as MaasRequest[]).filter(
    (r) => r.endpoint === "chat",
  );

const gatewayOf = (report: FleetReport) => report.boxes[0]?.observations?.gateway;
const titles = async (box: string) => (await h.alerts(box)).map((m) => m.plainText.split("\n")[0]);
const resolvedCount = async (box: string) =>
  (await titles(box)).filter((t) => /resolved|back to normal/i.test(t ?? "")).length;

async function readyz(box: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { url, token } = h.gateway(box);
  const response = await fetch(`${url}/readyz`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function gatewayMessages(box: string): Promise<SentMessage[]> {
  return (await h.cloud.control("telegram", "messages", {
    bot: h.gateway(box).bot,
  })) as SentMessage[];
}

/** The operator (the allowed user) writes a DM to the box's gateway bot. */
async function dm(box: string, text: string): Promise<void> {
  const operator = h.cloud.endpoints.operatorUserId;
  await h.cloud.control("telegram", "inject-message", {
    bot: h.gateway(box).bot,
    chatId: operator,
    userId: operator,
    text,
  });
}

/** The operator writes to the box's gateway bot; resolves with the gateway's answer. */
async function roundTrip(box: string, text: string, limitMs = 180_000): Promise<SentMessage> {
  const before = (await gatewayMessages(box)).length;
  await dm(box, text);
  return eventually(
    async () => (await gatewayMessages(box)).slice(before).find((m) => !m.edited),
    `${box}'s gateway to answer on Telegram`,
    limitMs,
    500,
  );
}

describe("the watchdog against the real OpenClaw gateway", () => {
  it("healthy: no alert, no action; diagnose shows the real gateway ready", async () => {
    await cycles("box-1", 2);
    await cycles("box-2", 2);
    for (const box of ["box-1", "box-2"]) {
      expect(await h.alerts(box)).toEqual([]);
      expect(await h.ecsActions(box)).toEqual([]);
    }
    const report = await h.diagnose("box-1");
    const observed = report.boxes[0]?.observations;
    expect(report.mode).toBe("dry-run");
    expect(observed?.gateway).toMatchObject({ status: "ok", failing: [], httpStatus: 200 });
    // shared/text/duration.ts: "45 s", "2 min", "1 h 5 min".
    expect(observed?.gateway.detail).toMatch(/^ready \(up \d+ (s|min|h|d)( \d+ (s|min|h))?\)$/);
    expect(observed?.maas?.status).toBe("ok");
    expect(observed?.telegram?.status).toBe("ok");
    expect(observed?.telegram?.pendingUpdateCount).toBe(0);
    // /readyz carries no version, so the probe cannot show it; /startupz of the same gateway does.
    const startup = await fetch(`${h.gateway("box-1").url}/startupz`).then((r) => r.json());
    expect(startup).toMatchObject({ ok: true, status: "started", version: OPENCLAW_VERSION });
  });

  it("two real gateways on one machine keep separate lock files in /tmp", () => {
    const one = lockFilesOf(h.stateDir("box-1"));
    const two = lockFilesOf(h.stateDir("box-2"));
    expect(one.length).toBeGreaterThan(0);
    expect(two.length).toBeGreaterThan(0);
    expect(one.filter((f) => two.includes(f))).toEqual([]);
  });

  it("receiver: /status in the alert chat reports the real gateway", async (ctx) => {
    if (!h.receiverUrl) ctx.skip();
    const e = h.cloud.endpoints;
    await h.cloud.control("telegram", "inject-message", {
      bot: e.telegramBots.alerts.username,
      chatId: e.alertChatId,
      userId: e.operatorUserId,
      text: "/status box-1",
    });
    const answer = await eventually(
      async () =>
        (
          (await h.cloud.control("telegram", "messages", {
            bot: e.telegramBots.alerts.username,
            chatId: e.alertChatId,
          })) as SentMessage[]
        ).find((m) => /box-1/.test(m.plainText) && /gateway/i.test(m.plainText)),
      "the receiver's /status answer",
      60_000,
    );
    expect(answer.plainText).toMatch(/gateway: ok .*ready \(up \d+ (s|min)/);
  });

  it("SIGKILLed: its unit brings the real gateway back by itself; the watchdog stays silent", async () => {
    const before = (await h.server("box-1")).guestPid;
    const alertsBefore = (await h.alerts("box-1")).length;
    const killedAt = Date.now();
    await ecs("kill-guest", { serverId: h.serverOf("box-1") });
    // The watchdog checks all along (a second apart) while systemd's restart and the boot run.
    const seen: string[] = [];
    const plans: string[] = [];
    await cycleUntil(
      "box-1",
      "the gateway ready again",
      (report) => {
        seen.push(gatewayOf(report)?.status ?? "?");
        plans.push(...(report.boxes[0]?.plan ?? []));
        return seen.length > 1 && gatewayOf(report)?.status === "ok";
      },
      180_000,
    );
    measured.add("self-restart: SIGKILL → ready seen by the watchdog", Date.now() - killedAt);
    const boot = await h.readyBoot("box-1", before);
    measured.add("boot after the unit's restart (launch → /readyz 200)", boot.ms);
    for (const report of await cycles("box-1", 3)) plans.push(...(report.boxes[0]?.plan ?? []));
    expect(seen.some((status) => status !== "ok")).toBe(true);
    // Seen as a restart from outside: the start time from /readyz uptimeMs moved on.
    expect(plans.filter((line) => /restarted by itself/.test(line))).toHaveLength(1);
    const server = await h.server("box-1");
    expect(server).toMatchObject({ status: "ACTIVE", nRestarts: 1, lastExit: "killed (SIGKILL)" });
    expect(server.guestPid).not.toBe(before);
    expect(await h.ecsActions("box-1")).toEqual([]);
    expect(await h.alerts("box-1")).toHaveLength(alertsBefore);
  });

  it("after the recovery, a Telegram message still gets the model's answer through the gateway", async () => {
    const started = Date.now();
    const reply = await roundTrip("box-1", "are you back?");
    measured.add("Telegram round trip after recovery (inject → reply)", Date.now() - started);
    expect(reply.chatId).toBe(h.cloud.endpoints.operatorUserId);
    expect(reply.plainText).toMatch(/^Local MaaS reply:/);
    const requests = (await h.cloud.control("maas", "requests")) as {
      endpoint: string;
      stream: boolean;
      status: number | null;
    }[];
    expect(requests.some((r) => r.endpoint === "chat" && r.stream && r.status === 200)).toBe(true);
  });

  it("a long agent turn (slow model, 3 more DMs meanwhile): no ingress stall, no action; all answered", async () => {
    const e = h.cloud.endpoints;
    // The first cycle runs the tiny completion probe: done before the model is slowed.
    await h.cycle("box-1");
    const alertsBefore = (await h.alerts("box-1")).length;
    const actionsBefore = (await h.ecsActions("box-1")).length;
    const answered = (await gatewayMessages("box-1")).length;
    const chatsBefore = (await maasChats()).length;
    const pending: number[] = [];
    const reports: FleetReport[] = [];
    let turnMs = 0;
    // Held until the reset below; only the gateway's model calls (the probe uses /models).
    await h.cloud.control("maas", "slow", { ms: 600_000, endpoint: "chat" });
    try {
      await dm("box-1", "long question number 1");
      await eventually(
        async () => (await maasChats()).length > chatsBefore,
        "the turn's model call",
      );
      for (const n of [2, 3, 4]) await dm("box-1", `long question number ${n}`);
      await cycleUntil(
        "box-1",
        "a model call held past the stall windows",
        async (report) => {
          reports.push(report);
          pending.push(report.boxes[0]?.observations?.telegram?.pendingUpdateCount ?? -1);
          const held = (await maasChats()).slice(chatsBefore).find((r) => r.status === null);
          turnMs = held ? Date.now() - Date.parse(held.time) : 0;
          return turnMs > LONG_TURN_MS;
        },
        180_000,
      );
    } finally {
      await h.cloud.control("maas", "reset");
    }
    measured.add("long agent turn held by the slow model (3 more DMs waiting)", turnMs);
    measured.note(
      `pending_update_count over the ${pending.length} cycles of that turn: max ${Math.max(...pending)}`,
    );
    for (const report of reports) {
      expect(gatewayOf(report)?.status).toBe("ok");
      expect(report.boxes[0]?.openIncidents).toEqual([]);
      expect(report.boxes[0]?.plan.join("\n")).not.toMatch(/ingress-stalled|stopped reading/i);
    }
    expect(pending.every((count) => count >= 0)).toBe(true);
    expect(await h.alerts("box-1")).toHaveLength(alertsBefore);
    expect(await h.ecsActions("box-1")).toHaveLength(actionsBefore);
    // The held turn's answer, then a follow-up turn for the DMs that came in meanwhile.
    const replies = await eventually(
      async () => {
        const chats = (await maasChats()).slice(chatsBefore);
        const sent = (await gatewayMessages("box-1")).slice(answered).filter((m) => !m.edited);
        const done = chats.length >= 2 && chats.every((c) => c.status === 200);
        return done && sent.length >= chats.length ? sent : undefined;
      },
      "the model's answers to every turn on Telegram",
      120_000,
      500,
    );
    for (const reply of replies) {
      expect(reply.chatId).toBe(e.operatorUserId);
      expect(reply.plainText).toMatch(/^Local MaaS reply:/);
    }
    // Every DM was fetched and confirmed: nothing left in Telegram's queue for the gateway's bot.
    const channels = (await h.cloud.control("telegram", "updates")) as {
      bot: string;
      pending: unknown[];
      unconfirmed: number[];
    }[];
    const channel = channels.find((c) => c.bot === h.gateway("box-1").bot);
    expect(channel).toMatchObject({ pending: [], unconfirmed: [] });
  });

  it("frozen with SIGSTOP (accepts, answers nothing): treated as down and rebooted", async () => {
    const before = (await h.server("box-1")).guestPid;
    const resolvedBefore = await resolvedCount("box-1");
    const frozenAt = Date.now();
    await ecs("hang", { serverId: h.serverOf("box-1") });
    const hung = await cycleUntil(
      "box-1",
      "a reboot",
      async () => (await h.ecsActions("box-1")).length > 0,
      180_000,
    );
    expect(gatewayOf(hung)?.status).toBe("down");
    expect(gatewayOf(hung)?.detail).toMatch(/does not answer|no answer/i);
    // systemd does not see a hang (the process has not exited): the watchdog reboots.
    expect(await h.ecsActions("box-1")).toEqual(["reboot SOFT"]);
    await h.readyBoot("box-1", before);
    await cycleUntil(
      "box-1",
      "resolved message",
      async () => (await resolvedCount("box-1")) > resolvedBefore,
    );
    measured.add("recovery: SIGSTOP → reboot → resolved", Date.now() - frozenAt);
    expect((await h.server("box-1")).hung).toBe(false);
  });

  it("Telegram down, while running and across a restart (failing: telegram): alerts, no reboot", async () => {
    await h.cloud.control("telegram", "down");
    try {
      const running = await cycles("box-2", 3);
      const last = running.at(-1)?.boxes[0]?.observations;
      expect(last?.gateway.status).toBe("ok");
      expect(last?.telegram?.status).toBe("down");

      const before = (await h.server("box-2")).guestPid;
      const restartedAt = Date.now();
      await ecs("set-status", { serverId: h.serverOf("box-2"), status: "SHUTOFF" });
      await ecs("set-status", { serverId: h.serverOf("box-2"), status: "ACTIVE" });
      await h.readyBoot("box-2", before);
      // OpenClaw fails readiness only after its fixed 120 s channel-connect grace.
      const failing = await eventually(
        async () => {
          const answer = await readyz("box-2");
          return answer.status === 503 ? answer.body : undefined;
        },
        "/readyz to report the Telegram channel failing",
        300_000,
        2_000,
      );
      measured.add("restart with Telegram down → /readyz failing", Date.now() - restartedAt);
      expect(failing).toMatchObject({ ready: false, failing: ["telegram"] });

      const degraded = await cycles("box-2", 3);
      expect(gatewayOf(degraded.at(-1) as FleetReport)).toMatchObject({
        status: "degraded",
        failing: ["telegram"],
      });
      expect(await h.ecsActions("box-2")).toEqual([]);
    } finally {
      await h.cloud.control("telegram", "up");
    }
    const upAt = Date.now();
    // The alerts waited in the outbox; the next cycle delivers them.
    await cycleUntil(
      "box-2",
      "the delayed alerts",
      async () => (await titles("box-2")).some((t) => /degraded/i.test(t ?? "")),
      60_000,
    );
    const said = (await titles("box-2")).join("\n");
    expect(said).toMatch(/Telegram API unavailable/i);
    expect(said).toMatch(/gateway degraded/i);
    await cycleUntil("box-2", "the gateway ready again", (r) => gatewayOf(r)?.status === "ok");
    measured.add("Telegram back up → the watchdog sees the gateway ready", Date.now() - upAt);
    expect(await h.ecsActions("box-2")).toEqual([]);
  });

  it("MaaS rejects the key: alert with the key hint, never a reboot", async () => {
    const seen = (await h.alerts("box-2")).length;
    await h.cloud.control("maas", "status", { status: 401 });
    try {
      await cycles("box-2", 2);
      const text = (await h.alerts("box-2"))
        .slice(seen)
        .map((m) => m.plainText)
        .join("\n");
      expect(text).toMatch(/MaaS rejects the API key/);
      expect(text).toMatch(/check the (MaaS API )?key/i);
      expect(await h.ecsActions("box-2")).toEqual([]);
    } finally {
      await h.cloud.control("maas", "reset");
    }
  });

  it("polling stalled (relay holds getUpdates): ingress stall → reboot → backlog answered", async () => {
    const before = (await h.server("box-2")).guestPid;
    await ecs("stall-polling", { serverId: h.serverOf("box-2") });
    const e = h.cloud.endpoints;
    const answered = (await gatewayMessages("box-2")).length;
    await h.cloud.control("telegram", "inject-message", {
      bot: h.gateway("box-2").bot,
      chatId: e.operatorUserId,
      userId: e.operatorUserId,
      text: "hello while stalled",
    });
    const stalled = await cycleUntil(
      "box-2",
      "reboot for the stall",
      async () => (await h.ecsActions("box-2")).length > 0,
      120_000,
    );
    expect(gatewayOf(stalled)?.status).toBe("ok");
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    expect((await titles("box-2")).join("\n")).toMatch(/stopped reading Telegram/i);
    await h.readyBoot("box-2", before);
    const reply = await eventually(
      async () => (await gatewayMessages("box-2")).slice(answered).find((m) => !m.edited),
      "the rebooted gateway to answer the waiting message",
      180_000,
      500,
    );
    expect(reply.chatId).toBe(e.operatorUserId);
  });

  it("no secret appears in any function log or Telegram message", async () => {
    const invocations = (await h.cloud.control("functiongraph", "invocations", {
      limit: 1000,
    })) as { log?: string; result?: string }[];
    const messages = await h.cloud.control("telegram", "messages", {});
    // The log and the result only: a receiver's recorded APIG event carries the webhook secret
    // header by design (that is how Telegram authenticates itself).
    const written = invocations.map((i) => ({ log: i.log, result: i.result }));
    const everything = JSON.stringify({ written, messages });
    expect(invocations.length).toBeGreaterThan(10);
    for (const secret of h.secrets) expect(everything).not.toContain(secret);
  });
});
