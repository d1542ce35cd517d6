import { describe, expect, it } from "vitest";
import { defaultPolicyConfig } from "../../shared/config/policy-schema";
import { initialState } from "../../shared/policy";
import {
  historyLines,
  probeLine,
  renderHelp,
  renderHistory,
  renderStatus,
  renderStatusMessages,
  sparkline,
} from "../../shared/receiver";
import type { StoredEvent } from "../../shared/state/schema";
import type { CycleReport } from "../../shared/watchdog/cycle";
import {
  gatewayResult,
  maasResult,
  observations,
  serverResult,
  telegramResult,
} from "../support/observations";

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const event = (
  at: number,
  type: StoredEvent["type"],
  extra: Partial<StoredEvent> = {},
): StoredEvent => ({
  at,
  box: "prod",
  type,
  detail: `${type} detail`,
  ...extra,
});

function report(overrides: Partial<CycleReport> = {}): CycleReport {
  return {
    box: "prod",
    mode: "dry-run",
    decided: true,
    observations: observations({
      gateway: gatewayResult("down", { latencyMs: 12.4, detail: "connection refused <b>" }),
      maas: maasResult("ok", { latencyMs: 210, detail: "/models answered" }),
      telegram: telegramResult("ok", { latencyMs: 80, detail: "getMe ok" }),
      server: serverResult("ACTIVE", { latencyMs: 35, detail: "server ACTIVE" }),
    }),
    plan: [],
    outcomes: [],
    openIncidents: [
      {
        component: "gateway",
        cause: "down",
        openedAt: NOW - 7 * 60_000,
        failingSince: NOW - 10 * 60_000,
        acked: false,
      },
    ],
    errors: [],
    durationMs: 300,
    ...overrides,
  };
}

describe("sparkline", () => {
  it("is flat without incidents", () => {
    expect(sparkline([], NOW)).toBe("▁".repeat(24));
  });

  it("fills the hours an incident was open", () => {
    const events = [
      event(NOW - 3 * H, "incident-opened", { component: "gateway" }),
      event(NOW - 2 * H, "incident-resolved", { component: "gateway" }),
    ];
    expect(sparkline(events, NOW)).toBe(`${"▁".repeat(21)}█▁▁`);
  });

  it("shows a partial hour lower and an incident still open until now", () => {
    const events = [event(NOW - 30 * 60_000, "incident-opened", { component: "maas" })];
    const line = sparkline(events, NOW, ["maas"]);
    expect(line.slice(0, 23)).toBe("▁".repeat(23));
    expect(line.at(-1)).not.toBe("▁");
    expect(line.at(-1)).not.toBe("█");
  });

  it("counts an incident open before the window from the window's start", () => {
    expect(sparkline([], NOW, ["gateway"])).toBe("█".repeat(24));
    const resolvedOnly = [event(NOW - 22 * H, "incident-resolved", { component: "gateway" })];
    expect(sparkline(resolvedOnly, NOW)).toBe(`██${"▁".repeat(22)}`);
  });
});

describe("renderStatus", () => {
  it("lists each component with latency and status, incidents, actions and the 24 h line", () => {
    const state = initialState("prod");
    state.incidents.gateway = {
      id: "inc-1",
      component: "gateway",
      cause: "down",
      openedAt: NOW - 7 * 60_000,
      firstFailureAt: NOW - 10 * 60_000,
      detail: "refused",
      reminderCount: 0,
      seq: 0,
      steps: [],
      ackedUntil: NOW + H,
      ackedBy: "@ann",
    };
    state.mute = { until: NOW + 2 * H, reason: "deploy", by: "@bob", at: NOW };
    state.history = [{ action: "soft-reboot", at: NOW - H, key: "k" }];
    const events = [
      event(NOW - 5 * 60_000, "manual-action", {
        detail: "reboot via Telegram (ECS job j-1)",
        by: { userId: 7, username: "ann" },
      }),
      event(NOW - 7 * 60_000, "incident-opened", { component: "gateway" }),
    ];
    const rendered = renderStatus(
      [{ box: "prod", now: NOW, report: report(), state, events }],
      defaultPolicyConfig,
    );
    expect(rendered.text).toContain("prod · status");
    expect(rendered.text).toContain("🔴 gateway: down · 12 ms · connection refused <b>");
    expect(rendered.text).toContain("✅ maas: ok · 210 ms");
    expect(rendered.text).toContain("✅ server: ACTIVE · 35 ms");
    // From the first failure, as the alert's "Failing for" and "Resolved after" count it.
    expect(rendered.text).toContain("open: gateway down for 10 min, acked until 13:00 UTC by @ann");
    expect(rendered.text).toContain("muted until 14:00 UTC by @bob (deploy)");
    expect(rendered.text).toContain("reboots 1/3");
    expect(rendered.text).toContain("11:55 UTC reboot via Telegram (ECS job j-1) (@ann)");
    expect(rendered.text).toMatch(/24 h ▁{23}\S now/);
    // Everything operator- or probe-controlled is escaped.
    expect(rendered.html).toContain("connection refused &lt;b&gt;");
    expect(rendered.html).not.toContain("<b>>");
  });

  it("falls back to the stored verdicts when no fresh check came back", () => {
    const state = initialState("prod");
    state.counters.gateway.lastStatus = "down";
    const rendered = renderStatus(
      [
        {
          box: "prod",
          now: NOW,
          problem: "the probes did not finish within 8 s",
          state,
          events: [],
        },
      ],
      defaultPolicyConfig,
    );
    expect(rendered.text).toContain("no fresh check: the probes did not finish within 8 s");
    expect(rendered.text).toContain("gateway: down at the last check");
    expect(rendered.text).toContain("No open incident.");
  });

  it("puts several boxes in one message", () => {
    const rendered = renderStatus(
      [
        { box: "prod", now: NOW, report: report() },
        { box: "lab", now: NOW, report: report({ box: "lab", openIncidents: [] }) },
      ],
      defaultPolicyConfig,
    );
    expect(rendered.text).toContain("Status of 2 boxes");
    expect(rendered.text).toContain("▸ prod");
    expect(rendered.text).toContain("▸ lab");
    expect(rendered.text.length).toBeLessThan(4096);
  });

  it("says when a component was not checked", () => {
    expect(probeLine("maas", undefined)).toBe("▫️ maas: not checked");
    expect(probeLine("server", { status: "error", detail: "ECS API 503" })).toBe(
      "🟠 server: error · ECS API 503",
    );
  });
});

describe("history and help", () => {
  it("lists incidents and actions newest first, with who did them", () => {
    const lines = historyLines(
      [
        event(NOW - 60_000, "ack", { detail: "ack via Telegram", by: { userId: 9 } }),
        event(NOW - 2 * 86_400_000, "incident-opened", { component: "gateway" }),
        event(NOW - 3 * 86_400_000, "notified"),
      ],
      NOW,
    );
    expect(lines).toEqual([
      "11:59 UTC ack: ack via Telegram (user 9)",
      "11-23 12:00 UTC incident-opened gateway: incident-opened detail",
    ]);
    expect(historyLines([], NOW)).toEqual(["Nothing recorded in the last 7 days."]);
    expect(
      renderHistory([{ box: "prod", events: [], problem: "audit log unreadable" }], NOW).text,
    ).toContain("audit log unreadable");
  });

  it("names the box argument only with several boxes", () => {
    expect(renderHelp(["prod"], defaultPolicyConfig).text).toContain("/ack [duration]");
    const multi = renderHelp(["prod", "lab"], defaultPolicyConfig).text;
    expect(multi).toContain("/ack <box> [duration]");
    expect(multi).toContain("Boxes: prod, lab.");
    expect(multi).toContain("data disk is kept");
  });
});

describe("renderStatusMessages", () => {
  const many = (count: number) =>
    Array.from({ length: count }, (_, i) => {
      const box = `box-${String(i + 1).padStart(3, "0")}`;
      const long = `${"connection refused by the gateway after a long wait 🚀 ".repeat(3)}`;
      const base = report({ box });
      return {
        box,
        now: NOW,
        report: {
          ...base,
          observations: base.observations && {
            ...base.observations,
            gateway: { ...base.observations.gateway, detail: long },
          },
        },
      };
    });

  it("is the one full message while it fits", () => {
    const messages = renderStatusMessages(many(2), defaultPolicyConfig);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.text).toContain("▸ box-001");
    expect(messages[0]?.text).toContain("gateway: down");
  });

  it("never drops a box: compact lines with /status <box>, split over messages under 4,096", () => {
    for (const count of [40, 150]) {
      const messages = renderStatusMessages(many(count), defaultPolicyConfig);
      const text = messages.map((m) => m.text).join("\n");
      for (let i = 1; i <= count; i++)
        expect(text).toContain(`▸ box-${String(i).padStart(3, "0")}:`);
      for (const m of messages) expect(m.html.length).toBeLessThanOrEqual(4096);
      expect(text).toContain(
        "🔴 gateway down for 10 min · 🔴 gateway down · ✅ maas ok · ✅ telegram ok",
      );
      expect(text).toContain("Send /status <box> for one box's detail.");
      if (count === 150) expect(messages.length).toBeGreaterThan(1);
    }
  });

  it("puts the alert chat's own trouble first", () => {
    const [first] = renderStatusMessages(many(1), defaultPolicyConfig, {
      version: 1,
      failure: {
        at: NOW,
        status: 403,
        error: "Telegram refused sendMessage (403: Forbidden: bot was kicked from the group chat)",
      },
    });
    expect(first?.text.split("\n")[2]).toBe(
      "⚠️ alert chat failing since 2026-11-25 12:00 UTC: Telegram refused sendMessage (403: Forbidden: bot was kicked from the group chat)",
    );
  });
});
