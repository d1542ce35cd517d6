import { describe, expect, it } from "vitest";
import { BOX_LAYOUT } from "../../infra/bootstrap/layout";
import {
  defaultPolicyConfig,
  type PolicyConfig,
  policySchema,
} from "../../shared/config/policy-schema";
import {
  type Action,
  applyOutcomes,
  type BoxState,
  boxStateSchema,
  budgetUsed,
  decide,
  explain,
  explainLines,
  initialState,
  type Notification,
  type OperatorCommand,
  type Outcome,
  resetState,
  serverCheckDue,
} from "../../shared/policy";
import { GATEWAY_UNIT } from "../../shared/policy/notifications";
import type {
  GatewayResult,
  MaasResult,
  Observations,
  ServerResult,
  TelegramResult,
} from "../../shared/probes/types";
import {
  gatewayResult,
  maasResult,
  observations,
  serverResult,
  telegramResult,
} from "../support/observations";

// Traces in the style of gatus' alerting_test.go: feed one cycle at a time, one minute apart,
// and assert counters, incidents and actions after each.

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface ObsSpec {
  /** "error": the gateway probe itself did not run (the probe function failed). */
  gateway?: GatewayResult["status"] | "error";
  failing?: readonly string[];
  maas?: MaasResult["status"] | null;
  maasHint?: string;
  telegram?: TelegramResult["status"] | null;
  pending?: number;
  server?: ServerResult["status"] | "error";
  /** MaaS and Telegram both fail with a network error. */
  offline?: boolean;
  watchdogErrors?: string[];
}

function observe(spec: ObsSpec = {}): Observations {
  const offline = spec.offline ? { unreachable: true } : {};
  return observations({
    gateway: gatewayFor(spec),
    maas:
      spec.maas === null
        ? undefined
        : maasResult(spec.offline ? "down" : spec.maas, {
            latencyMs: 40,
            detail: `maas ${spec.offline ? "down" : (spec.maas ?? "ok")}`,
            ...offline,
            ...(spec.maasHint ? { hint: spec.maasHint } : {}),
          }),
    telegram:
      spec.telegram === null
        ? undefined
        : telegramResult(spec.offline ? "down" : spec.telegram, {
            latencyMs: 30,
            pendingUpdateCount: spec.pending ?? 0,
            ...offline,
          }),
    ...serverFor(spec),
    watchdogErrors: spec.watchdogErrors ?? [],
  });
}

function gatewayFor(spec: ObsSpec): Observations["gateway"] {
  const gateway = spec.gateway ?? "ok";
  if (gateway === "error") {
    return { status: "error", detail: "gateway-probe function x: not found (HTTP 404 FSS.1051)" };
  }
  return gatewayResult(gateway, {
    latencyMs: 12,
    detail: gateway === "down" ? "connect ECONNREFUSED 10.0.0.5:18789" : `readyz ${gateway}`,
    failing: [...(spec.failing ?? [])],
  });
}

function serverFor(spec: ObsSpec): Pick<Observations, "server"> {
  if (spec.server === "error") {
    return { server: { status: "error", detail: "ECS API 503", unreachable: false } };
  }
  if (!spec.server) return {};
  return { server: serverResult(spec.server, { latencyMs: 80, detail: `server ${spec.server}` }) };
}

const DOWN: ObsSpec = { gateway: "down", server: "ACTIVE" };

interface StepOptions {
  commands?: OperatorCommand[];
  /** Deliver notifications (default) or fail them all. */
  deliver?: boolean;
  remediation?: "ok" | "fail";
  advance?: number;
}

class Trace {
  state: BoxState;
  now = T0 - MINUTE;
  actions: Action[] = [];
  private messageId = 100;

  constructor(
    readonly config: PolicyConfig = defaultPolicyConfig,
    state: BoxState = initialState("box-1"),
  ) {
    this.state = state;
  }

  step(spec: ObsSpec = {}, options: StepOptions = {}): Action[] {
    this.now += options.advance ?? MINUTE;
    const before = JSON.stringify(this.state);
    const decision = decide(this.state, observe(spec), this.now, this.config, options.commands);
    expect(JSON.stringify(this.state)).toBe(before);
    expect(boxStateSchema.safeParse(decision.state).success).toBe(true);
    const outcomes: Outcome[] = decision.actions.flatMap((action): Outcome[] => {
      if (action.kind === "notify") {
        const id = action.notification.id;
        if (options.deliver === false) {
          return [{ kind: "notify-failed", notificationId: id, error: "Telegram 502" }];
        }
        this.messageId += 1;
        return [{ kind: "notified", notificationId: id, messageId: this.messageId }];
      }
      if (action.kind === "remediate") {
        const base = { idempotencyKey: action.idempotencyKey, action: action.action };
        return options.remediation === "fail"
          ? [{ kind: "remediate-failed", ...base, error: "ECS API 503 Service Unavailable" }]
          : [{ kind: "remediated", ...base, jobId: `job-${this.now}` }];
      }
      return [];
    });
    this.state = applyOutcomes(decision.state, outcomes, this.now, this.config);
    this.actions = decision.actions;
    return decision.actions;
  }

  run(count: number, spec: ObsSpec = {}, options: StepOptions = {}): Action[] {
    const all: Action[] = [];
    for (let i = 0; i < count; i += 1) all.push(...this.step(spec, options));
    return all;
  }

  get gateway() {
    return this.state.counters.gateway;
  }
}

function fresh(actions: Action[]): Notification[] {
  return actions.flatMap((a) => (a.kind === "notify" && !a.resend ? [a.notification] : []));
}

function types(actions: Action[]): string[] {
  return fresh(actions).map((n) => n.type);
}

function remediations(actions: Action[]): string[] {
  return actions.flatMap((a) => (a.kind === "remediate" ? [a.action] : []));
}

function audits(actions: Action[]): string[] {
  return actions.flatMap((a) => (a.kind === "audit" ? [a.event.type] : []));
}

function command(
  kind: OperatorCommand["kind"],
  at: number,
  extra: Partial<OperatorCommand> = {},
): OperatorCommand {
  return { id: `cmd-${kind}-${at}`, kind, at, by: { userId: 42, username: "alice" }, ...extra };
}

describe("gateway crash: alert at threshold, then the ladder", () => {
  it("climbs soft → hard → rebootstrap → needs-human, each after grace and threshold", () => {
    const trace = new Trace();

    expect(trace.step(DOWN)).toEqual([]);
    expect(trace.gateway).toMatchObject({ consecutiveFailures: 1, consecutiveSuccesses: 0 });
    expect(trace.step(DOWN)).toEqual([]);
    expect(trace.gateway.consecutiveFailures).toBe(2);

    let actions = trace.step(DOWN); // 12:02, threshold 3
    expect(trace.gateway.consecutiveFailures).toBe(3);
    expect(types(actions)).toEqual(["opened", "update"]);
    expect(remediations(actions)).toEqual(["soft-reboot"]);
    const opened = fresh(actions)[0];
    expect(opened).toMatchObject({
      id: `box-1.gateway.${T0 + 2 * MINUTE}:opened`,
      component: "gateway",
      severity: "critical",
      title: "gateway down on box-1",
      buttons: ["ack", "mute", "reboot", "status"],
    });
    expect(opened?.lines).toContain("connect ECONNREFUSED 10.0.0.5:18789");
    expect(audits(actions)).toEqual(["incident-opened", "remediation-requested"]);
    const incident = trace.state.incidents.gateway;
    expect(incident).toMatchObject({ cause: "down", announcedAt: T0 + 2 * MINUTE, messageId: 101 });
    expect(incident?.steps).toMatchObject([{ action: "soft-reboot", status: "done" }]);
    expect(trace.state.remediation.graceUntil).toBe(T0 + 7 * MINUTE);

    // 12:03–12:06: inside the 5 min grace, down and booting do not count.
    for (const spec of [DOWN, { gateway: "booting" as const }, DOWN, DOWN]) {
      expect(remediations(trace.step(spec))).toEqual([]);
      expect(trace.gateway.consecutiveFailures).toBe(3);
      expect(trace.state.remediation.streak).toBe(0);
    }
    // 12:07 grace over: the threshold has to be met again before the next rung.
    expect(remediations(trace.step(DOWN))).toEqual([]);
    expect(trace.state.remediation.streak).toBe(1);
    expect(remediations(trace.step(DOWN))).toEqual([]);
    actions = trace.step(DOWN); // 12:09
    expect(remediations(actions)).toEqual(["hard-reboot"]);
    expect(types(actions)).toEqual(["update"]);
    expect(fresh(actions)[0]).toMatchObject({ replyTo: incident?.id, replyToMessageId: 101 });

    expect(remediations(trace.run(4, DOWN))).toEqual([]); // 12:10–12:13 grace
    expect(remediations(trace.run(2, DOWN))).toEqual([]); // 12:14, 12:15
    actions = trace.step(DOWN); // 12:16
    expect(remediations(actions)).toEqual(["rebootstrap"]);
    expect(trace.state.remediation.graceUntil).toBe(T0 + 31 * MINUTE);

    expect(remediations(trace.run(14, DOWN))).toEqual([]); // 12:17–12:30 grace
    actions = trace.run(3, DOWN); // 12:31–12:33
    expect(remediations(actions)).toEqual([]);
    expect(types(actions)).toEqual(["reminder", "needs-human"]);
    expect(fresh(actions)[1]?.title).toBe("needs a human: gateway down on box-1");
    expect(fresh(actions)[1]?.lines).toContain(
      "Actions taken: soft reboot, hard reboot, rebootstrap.",
    );

    // After that: nothing automatic any more, the needs-human message is not repeated.
    actions = trace.run(60, DOWN);
    expect(remediations(actions)).toEqual([]);
    expect(types(actions)).toEqual(["reminder"]);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(2);
    expect(budgetUsed(trace.state, "rebootstraps", trace.now, trace.config)).toBe(1);
  });

  it("resolves mid-ladder with the outage duration and the actions taken", () => {
    const trace = new Trace();
    trace.run(3, DOWN); // 12:00–12:02, soft reboot at 12:02
    trace.run(2, { gateway: "booting", server: "REBOOT" });
    expect(trace.step().length).toBe(0); // 12:05 first ok
    expect(trace.gateway).toMatchObject({ consecutiveFailures: 0, consecutiveSuccesses: 1 });
    const actions = trace.step(); // 12:06 second ok
    expect(types(actions)).toEqual(["resolved"]);
    const resolved = fresh(actions)[0];
    expect(resolved).toMatchObject({ severity: "info", replyToMessageId: 101 });
    expect(resolved?.lines).toEqual(["Resolved after 6 min.", "Actions taken: soft reboot."]);
    expect(audits(actions)).toEqual(["incident-resolved"]);
    expect(trace.state.incidents.gateway).toBeUndefined();
  });

  it("does not resolve a gateway that answers once between crashes inside the grace", () => {
    const trace = new Trace();
    trace.run(3, DOWN); // 12:00–12:02, soft reboot at 12:02; grace until 12:07
    for (const spec of [{}, DOWN, {}, { gateway: "booting" as const }, {}]) {
      expect(types(trace.step(spec))).toEqual([]);
      expect(trace.state.incidents.gateway).toBeDefined();
    }
    expect(trace.gateway.consecutiveSuccesses).toBe(1);
    // 12:08–12:10: still crashing after the grace, so the ladder goes on.
    expect(remediations(trace.run(3, DOWN))).toEqual(["hard-reboot"]);
  });
});

describe("server states", () => {
  it("starts a SHUTOFF server and resolves once it answers", () => {
    const trace = new Trace();
    const off = { gateway: "down", server: "SHUTOFF" } as const;
    trace.run(2, off);
    const actions = trace.step(off);
    expect(trace.state.incidents.gateway?.cause).toBe("server-shutoff");
    expect(remediations(actions)).toEqual(["start"]);
    expect(trace.state.remediation.graceUntil).toBe(trace.now + 3 * MINUTE);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(0);
    trace.run(2, { gateway: "down", server: "BUILD" });
    expect(types(trace.run(2))).toEqual(["resolved"]);
  });

  it("asks a human at once for an ERROR server and never acts", () => {
    const trace = new Trace();
    const error = { gateway: "down", server: "ERROR" } as const;
    trace.run(2, error);
    let actions = trace.step(error);
    expect(types(actions)).toEqual(["opened"]);
    expect(fresh(actions)[0]?.lines).toContain(
      "Automatic repair cannot fix this: needs a human (ECS console, or open a ticket).",
    );
    expect(trace.state.incidents.gateway?.needsHumanAt).toBe(trace.now);
    actions = trace.run(20, error);
    expect(remediations(actions)).toEqual([]);
    expect(types(actions)).toEqual([]);
  });

  it("sends needs-human when a down gateway's server turns DELETED", () => {
    const trace = new Trace();
    trace.run(3, DOWN);
    trace.run(4, DOWN); // grace
    const actions = trace.step({ gateway: "down", server: "DELETED" });
    expect(types(actions)).toEqual(["needs-human"]);
    expect(remediations(trace.run(20, { gateway: "down", server: "DELETED" }))).toEqual([]);
  });

  it("does not count a server that is rebooting, nor act without a server status", () => {
    const trace = new Trace();
    trace.run(5, { gateway: "down", server: "HARD_REBOOT" });
    expect(trace.gateway.consecutiveFailures).toBe(0);
    const actions = trace.run(5, { gateway: "down", server: "error" });
    expect(trace.state.incidents.gateway?.cause).toBe("down");
    expect(remediations(actions)).toEqual([]);
    expect(remediations(trace.step(DOWN))).toEqual(["soft-reboot"]);
  });

  it("waits on a server the cloud is resizing or migrating, and acts once that is over", () => {
    // ECS Statuses (ecs_08_0002): MIGRATING, RESIZE, REVERT_RESIZE, VERIFY_RESIZE are the
    // cloud's own operations in progress, like a reboot: never counted, never acted on.
    const trace = new Trace();
    for (const server of ["MIGRATING", "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE"] as const) {
      const actions = trace.run(5, { gateway: "down", server });
      expect(remediations(actions)).toEqual([]);
      expect(types(actions)).toEqual([]);
      expect(trace.gateway.consecutiveFailures).toBe(0);
    }
    trace.run(3, DOWN);
    expect(trace.state.incidents.gateway?.cause).toBe("down");
  });
});

describe("alert only: nothing a reboot can fix", () => {
  it.each([
    ["auth", 1, "Check the key: MaaS answered 401/403."],
    [
      "not-found",
      1,
      "Check the base URL and model: the base URL must not end with /chat/completions.",
    ],
    ["rate-limited", 3, "MaaS answers 429: check the quota of the key and model."],
    ["down", 3, "MaaS fails or does not answer; the box is not rebooted for this."],
  ] as const)(
    "MaaS %s opens after %i check(s) with its hint, no remediation",
    (status, at, hint) => {
      const trace = new Trace();
      const actions = trace.run(at, { maas: status, server: "ACTIVE" });
      expect(types(actions)).toEqual(["opened"]);
      expect(fresh(actions)[0]?.lines).toContain(hint);
      expect(fresh(actions)[0]?.buttons).toEqual(["ack", "mute", "status"]);
      expect(remediations(trace.run(30, { maas: status, server: "ACTIVE" }))).toEqual([]);
      expect(trace.state.counters.gateway.consecutiveFailures).toBe(0);
    },
  );

  it("prefers the probe's own hint", () => {
    const trace = new Trace();
    const actions = trace.step({ maas: "not-found", maasHint: "remove /chat/completions" });
    expect(fresh(actions)[0]?.lines).toContain("remove /chat/completions");
  });

  it("alerts on a Telegram outage and a revoked token, never reboots", () => {
    const trace = new Trace();
    const actions = trace.run(3, { telegram: "down" });
    expect(types(actions)).toEqual(["opened"]);
    expect(trace.state.incidents.telegram?.cause).toBe("telegram-down");
    expect(remediations(trace.run(30, { telegram: "down" }))).toEqual([]);

    const revoked = new Trace();
    expect(types(revoked.step({ telegram: "token-revoked" }))).toEqual(["opened"]);
  });

  it("alerts on degraded failing:[telegram] and on misconfigured, never reboots", () => {
    const trace = new Trace();
    const degraded = { gateway: "degraded", failing: ["telegram"], server: "ACTIVE" } as const;
    const actions = trace.run(3, degraded);
    expect(types(actions)).toEqual(["opened"]);
    expect(trace.state.incidents.gateway?.detail).toContain("failing: telegram");
    expect(remediations(trace.run(30, degraded))).toEqual([]);

    const wrong = new Trace();
    const misconfigured = wrong.step({ gateway: "misconfigured", server: "ACTIVE" });
    expect(fresh(misconfigured)[0]?.title).toBe("gateway misconfigured on box-1");
    expect(fresh(misconfigured)[0]?.lines.join(" ")).toContain("A reboot cannot fix this");
    expect(remediations(wrong.run(30, { gateway: "misconfigured", server: "ACTIVE" }))).toEqual([]);
  });

  it("tells when a degraded gateway goes down, then climbs the ladder", () => {
    const trace = new Trace();
    trace.run(3, { gateway: "degraded", failing: ["telegram"] });
    let actions = trace.run(2, DOWN);
    expect(types(actions)).toEqual(["update"]);
    expect(remediations(actions)).toEqual([]);
    actions = trace.step(DOWN);
    expect(remediations(actions)).toEqual(["soft-reboot"]);
  });
});

describe("ingress stall", () => {
  it("counts pending updates on a ready gateway after 2 min, alerts, then reboots", () => {
    const trace = new Trace();
    const stalled = { pending: 5 };
    trace.run(2, stalled); // 12:00, 12:01: clock started at 12:00
    expect(trace.state.ingress.pendingSince).toBe(T0);
    expect(trace.gateway.consecutiveFailures).toBe(0);
    trace.step(stalled); // 12:02
    expect(trace.gateway).toMatchObject({ consecutiveFailures: 1, lastStatus: "ingress-stalled" });
    trace.step(stalled);
    const actions = trace.step(stalled); // 12:04
    expect(types(actions)).toEqual(["opened", "update"]);
    expect(fresh(actions)[0]?.title).toBe("gateway stopped reading Telegram on box-1");
    expect(remediations(actions)).toEqual(["soft-reboot"]);
    expect(trace.state.ingress.pendingSince).toBeUndefined();
    trace.run(3, { gateway: "booting", pending: 7 });
    expect(types(trace.run(2))).toEqual(["resolved"]);
  });

  it("keeps the stall clock when the reboot request is refused, and asks again", () => {
    const trace = new Trace();
    const stalled = { pending: 5 };
    trace.run(4, stalled);
    const refused = trace.step(stalled, { remediation: "fail" }); // 12:04: reboot refused by ECS
    expect(remediations(refused)).toEqual(["soft-reboot"]);
    expect(trace.state.ingress.pendingSince).toBe(T0);
    const again = trace.step(stalled);
    expect(trace.gateway.lastStatus).toBe("ingress-stalled");
    expect(trace.state.incidents.gateway).toBeDefined();
    expect(remediations(again)).toEqual(["soft-reboot"]);
    expect(types(trace.run(3, { gateway: "booting" }))).toEqual([]);
    expect(types(trace.run(2))).toEqual(["resolved"]);
  });

  it("reads a busy gateway (fetched updates unconfirmed during long turns) as no stall", () => {
    // Three DMs in three runner slots, each turn minutes long: Telegram counts them as pending
    // until the next getUpdates, which the runner only sends when a slot frees.
    const trace = new Trace();
    trace.run(3, { pending: 2 });
    trace.run(6, { pending: 3 }); // 12:00 … 12:08, never falling, never above 4
    expect(trace.gateway.consecutiveFailures).toBe(0);
    expect(trace.state.incidents.gateway).toBeUndefined();
    trace.step({ pending: 1 }); // a turn ended: updates confirmed, the clock starts again
    expect(trace.state.ingress).toEqual({ pendingSince: T0 + 9 * MINUTE, lastCount: 1 });
    trace.run(9, { pending: 1 }); // 12:18
    expect(trace.gateway.consecutiveFailures).toBe(0);
  });

  it("calls a count within the gateway's concurrency a stall only after the longest turn", () => {
    const trace = new Trace();
    trace.run(10, { pending: 1 }); // 12:00 … 12:09: could be one long turn
    expect(trace.gateway.consecutiveFailures).toBe(0);
    trace.step({ pending: 1 }); // 12:10: no turn takes that long
    expect(trace.gateway).toMatchObject({ consecutiveFailures: 1, lastStatus: "ingress-stalled" });
    trace.run(2, { pending: 1 });
    expect(trace.state.incidents.gateway?.detail).toMatch(
      /^1 Telegram update\(s\) pending, none confirmed for 12 min \(longer than an agent turn may take \(10 min\)\)/,
    );
  });

  it("resets the clock when the updates drain or the gateway is not ready", () => {
    const trace = new Trace();
    trace.run(2, { pending: 3 });
    trace.step({ pending: 0 });
    expect(trace.state.ingress.pendingSince).toBeUndefined();
    trace.run(2, { pending: 3 });
    trace.step({ gateway: "booting", pending: 3 });
    trace.run(2, { pending: 3 });
    expect(trace.gateway.consecutiveFailures).toBe(0);
  });
});

describe("the watchdog's own problems", () => {
  it("reads every external probe unreachable as the watchdog's network, never the box", () => {
    const trace = new Trace();
    const offline = { offline: true, gateway: "down", server: "error" } as const;
    trace.run(2, offline);
    const actions = trace.step(offline);
    expect(types(actions)).toEqual(["watchdog-network"]);
    expect(fresh(actions)[0]?.lines.join(" ")).toContain("no VPC access");
    expect(trace.state.counters.gateway.consecutiveFailures).toBe(0);
    expect(trace.state.counters.maas.consecutiveFailures).toBe(0);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(remediations(trace.run(30, { ...offline, server: "ACTIVE" }))).toEqual([]);
    expect(types(trace.run(2))).toEqual(["resolved"]);
  });

  it("a gateway probe that cannot run is a watchdog problem: alerted once when it lasts, never a reboot", () => {
    const trace = new Trace();
    const broken = { gateway: "error", server: "ACTIVE" } as const;
    expect(types(trace.run(2, broken))).toEqual([]);
    const actions = trace.step(broken);
    expect(types(actions)).toEqual(["watchdog-network"]);
    expect(fresh(actions)[0]?.title).toMatch(/cannot run its gateway probe/);
    expect(fresh(actions)[0]?.lines.join(" ")).toMatch(/HTTP 404/);
    const later = trace.run(30, broken);
    expect(remediations(later)).toEqual([]);
    expect(types(later).filter((t) => t !== "reminder")).toEqual([]);
    expect(trace.state.counters.gateway.consecutiveFailures).toBe(0);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(types(trace.run(2))).toEqual(["resolved"]);
  });

  it("a probe error between two outage cycles neither counts nor resets the gateway's failures", () => {
    const trace = new Trace();
    trace.run(2, DOWN);
    trace.step({ gateway: "error", server: "ACTIVE" });
    expect(trace.state.counters.gateway.consecutiveFailures).toBe(2);
  });

  it("never counts watchdog-side errors (OBS, ECS API) as box failures", () => {
    const trace = new Trace();
    const actions = trace.run(20, { server: "error", watchdogErrors: ["OBS: 503 SlowDown"] });
    expect(actions).toEqual([]);
    expect(trace.state.counters.gateway).toMatchObject({ consecutiveFailures: 0 });
  });
});

describe("budget", () => {
  it("counts manual reboots, and says once that automatic remediation is paused", () => {
    const trace = new Trace();
    const manual = [1, 2, 3].map((h) =>
      command("manual-action", T0 - h * HOUR, { id: `m${h}`, action: "reboot", jobId: `j${h}` }),
    );
    let actions = trace.step({}, { commands: manual });
    expect(audits(actions)).toEqual(["manual-action", "manual-action", "manual-action"]);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(3);
    trace.run(2, DOWN);
    actions = trace.step(DOWN);
    expect(types(actions)).toEqual(["opened", "budget-exhausted"]);
    expect(remediations(actions)).toEqual([]);
    expect(fresh(actions)[1]).toMatchObject({
      title: "automatic remediation paused on box-1: needs a human",
      buttons: ["ack", "mute", "reboot", "status"],
    });
    expect(fresh(actions)[1]?.lines[1]).toBe("The budget frees up at 2024-05-02 09:00 UTC.");
    actions = trace.run(20, DOWN);
    expect(types(actions)).not.toContain("budget-exhausted");
    expect(remediations(actions)).toEqual([]);
  });

  it("resumes when the rolling window frees a reboot", () => {
    const config = policySchema.parse({ budget: { reboots: 1, window: "1h" } });
    const trace = new Trace(config);
    trace.step({}, { commands: [command("manual-action", T0, { action: "reboot" })] });
    trace.run(10, DOWN);
    expect(trace.state.remediation.budgetExhausted?.kind).toBe("reboots");
    const actions = trace.run(60, DOWN, {});
    expect(remediations(actions)).toEqual(["soft-reboot"]);
  });
});

describe("operators: ack, mute, manual actions", () => {
  it("ack stops reminders and pauses actions until it expires", () => {
    const trace = new Trace();
    trace.run(3, DOWN); // soft reboot at 12:02
    const ack = command("ack", trace.now + MINUTE, { incidentComponent: "gateway" });
    let actions = trace.step(DOWN, { commands: [ack] }); // 12:03, acked until 13:03
    expect(audits(actions)).toEqual(["ack"]);
    expect(trace.state.incidents.gateway).toMatchObject({ ackedBy: "@alice" });
    actions = trace.run(59, DOWN); // 12:04–13:02: well past grace and threshold
    expect(remediations(actions)).toEqual([]);
    expect(types(actions)).toEqual([]);
    actions = trace.step(DOWN); // 13:03: ack over
    expect(audits(actions)).toContain("ack-expired");
    expect(remediations(actions)).toEqual(["hard-reboot"]);
    expect(types(actions)).toEqual(["update", "reminder"]);
  });

  it("mute silences everything but resolved, pauses actions, and unmute announces what waited", () => {
    const trace = new Trace();
    trace.step({ maas: "auth" });
    const mute = command("mute", trace.now, { until: trace.now + 3 * HOUR, reason: "maintenance" });
    let actions = trace.run(40, { ...DOWN, maas: "auth" }, { commands: [mute] });
    expect(audits(actions)).toContain("mute");
    expect(actions.filter((a) => a.kind === "notify")).toEqual([]);
    expect(remediations(actions)).toEqual([]);
    expect(trace.state.incidents.gateway?.headNoticeId).toBeUndefined();

    actions = trace.run(2, { gateway: "down", server: "ACTIVE", maas: "ok" });
    expect(types(actions)).toEqual(["resolved"]);
    expect(fresh(actions)[0]?.component).toBe("maas");

    actions = trace.step(DOWN, { commands: [command("unmute", trace.now + MINUTE)] });
    expect(audits(actions)).toContain("unmute");
    expect(types(actions)).toEqual(["opened", "update"]);
    expect(fresh(actions)[0]?.lines).toContain("(held back by a mute until now)");
    expect(remediations(actions)).toEqual(["soft-reboot"]);
  });

  it("ends a mute by itself when it expires", () => {
    const trace = new Trace();
    const mute = command("mute", T0, { until: T0 + 10 * MINUTE });
    trace.run(10, { telegram: "down" }, { commands: [mute] });
    expect(trace.state.mute).toBeDefined();
    const actions = trace.step({ telegram: "down" });
    expect(audits(actions)).toContain("mute-expired");
    expect(types(actions)).toEqual(["opened"]);
  });

  it("a manual reboot starts the grace and counts against the budget", () => {
    const trace = new Trace();
    trace.run(2, DOWN);
    const reboot = command("manual-action", trace.now + MINUTE, { action: "reboot", jobId: "j-7" });
    const actions = trace.step(DOWN, { commands: [reboot] });
    expect(audits(actions)).toEqual(["manual-action"]);
    expect(trace.state.remediation.graceUntil).toBe(trace.now + 5 * MINUTE);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(1);
    trace.run(4, DOWN);
    expect(trace.gateway.consecutiveFailures).toBe(2);
    expect(trace.state.incidents.gateway).toBeUndefined();
  });

  it("records a manual action on the open incident without moving the ladder", () => {
    const trace = new Trace();
    trace.run(3, DOWN); // soft reboot
    const rebootstrap = command("manual-action", trace.now, { action: "rebootstrap" });
    trace.step(DOWN, { commands: [rebootstrap] });
    expect(trace.state.incidents.gateway?.steps.map((s) => [s.action, s.by])).toEqual([
      ["soft-reboot", undefined],
      ["rebootstrap", "@alice"],
    ]);
    expect(trace.state.remediation.graceAction).toBe("rebootstrap");
    const actions = trace.run(18, DOWN); // 15 min grace, then the threshold
    expect(remediations(actions)).toEqual(["hard-reboot"]);
  });

  it("applies each command id once", () => {
    const trace = new Trace();
    trace.step({ maas: "auth" });
    const ack = command("ack", trace.now);
    const acks = [0, 1, 2].flatMap(() => audits(trace.step({ maas: "auth" }, { commands: [ack] })));
    expect(acks.filter((type) => type === "ack")).toHaveLength(1);
    expect(trace.state.seenCommands?.map((c) => c.id)).toEqual([ack.id]);
  });

  it("ignores an ack with nothing to ack", () => {
    const trace = new Trace();
    expect(audits(trace.step({}, { commands: [command("ack", T0)] }))).toEqual(["command-ignored"]);
  });
});

describe("reminders", () => {
  it("remind after 30 min, then back off ×2 up to every 4 h", () => {
    const trace = new Trace();
    trace.step({ maas: "auth" }); // announced at 12:00
    const at: number[] = [];
    for (let i = 0; i < 12 * 60; i += 1) {
      if (types(trace.step({ maas: "auth" })).includes("reminder")) at.push(trace.now - T0);
    }
    expect(at.map((ms) => ms / MINUTE)).toEqual([30, 90, 210, 450, 690]);
    expect(trace.state.incidents.maas?.reminderCount).toBe(5);
  });

  it("wait for the first message to be delivered", () => {
    const trace = new Trace();
    trace.run(60, { maas: "auth" }, { deliver: false });
    expect(trace.state.incidents.maas?.announcedAt).toBeUndefined();
    expect(trace.state.incidents.maas?.reminderCount).toBe(0);
  });
});

describe("flapping: the same failure recurring (issue 23)", () => {
  const flap = (trace: Trace) => [
    ...trace.run(3, { maas: "rate-limited" }),
    ...trace.run(2, { maas: "ok" }),
  ];

  it("groups the 4th open of one cause, still tells each incident quietly, and calms down", () => {
    const trace = new Trace();
    const opens: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      opens.push(trace.now + 3 * MINUTE);
      expect(types(flap(trace))).toEqual(["opened", "resolved"]);
    }
    opens.push(trace.now + 3 * MINUTE);
    let actions = flap(trace);
    expect(types(actions)).toEqual(["flapping", "opened", "resolved"]);
    expect(audits(actions)).toContain("flapping-started");
    const [flapping, opened, resolved] = fresh(actions);
    expect(flapping?.title).toBe("maas is flapping on box-1: MaaS rate-limited");
    expect(flapping?.lines[0]).toBe(
      '4 incidents of "MaaS rate-limited" within 2 h, opened at 12:02, 12:07, 12:12 and 12:17 UTC.',
    );
    expect(flapping?.lines[2]).toBe(
      `Incidents: ${opens.map((at) => `box-1.maas.${at}`).join(", ")}`,
    );
    expect(opened).toMatchObject({
      quiet: true,
      lines: expect.arrayContaining(["maas rate-limited"]),
    });
    expect(resolved?.replyToMessageId).toBeDefined();
    const flapMessage = trace.state.flapping.maas?.messageId;
    for (let i = 0; i < 5; i += 1) {
      actions = flap(trace);
      expect(types(actions)).toEqual(["opened", "resolved"]);
      const [again, over] = fresh(actions);
      expect(again).toMatchObject({ quiet: true, replyToMessageId: flapMessage });
      expect(over?.type).toBe("resolved");
    }
    actions = trace.run(117, { maas: "ok" });
    expect(types(actions)).toEqual([]);
    actions = trace.step({ maas: "ok" });
    expect(types(actions)).toEqual(["flapping"]);
    expect(fresh(actions)[0]).toMatchObject({
      title: "maas stopped flapping on box-1",
      replyToMessageId: flapMessage,
      quiet: true,
    });
    expect(types(flap(trace))).toEqual(["opened", "resolved"]);
  });

  it("still reports loudly a flap that stays down", () => {
    const trace = new Trace();
    for (let i = 0; i < 4; i += 1) flap(trace);
    const actions = trace.run(40, { maas: "rate-limited" });
    expect(types(actions)).toEqual(["opened", "update"]);
    const [opened, staysDown] = fresh(actions);
    expect(opened?.quiet).toBe(true);
    expect(staysDown).toMatchObject({ quiet: false, title: expect.stringContaining("stays down") });
    expect(staysDown?.lines).toContain("It had been flapping; this time it stays down.");
  });

  it("four incidents of four causes within an hour: each told and resolved, no flapping, fair budget", () => {
    const trace = new Trace();
    const all: Action[] = [];
    const incident = (spec: ObsSpec, failing: number) => {
      const actions = [...trace.run(failing, spec), ...trace.run(2), ...trace.run(8)];
      all.push(...actions);
      return types(actions);
    };
    expect(incident({ gateway: "misconfigured" }, 1)).toEqual(["opened", "resolved"]);
    expect(incident(DOWN, 3)).toEqual(["opened", "update", "resolved"]);
    expect(incident({ pending: 5 }, 5)).toEqual(["opened", "update", "resolved"]);
    expect(incident({ gateway: "degraded", failing: ["telegram"] }, 3)).toEqual([
      "opened",
      "resolved",
    ]);
    expect(trace.now - T0).toBeLessThan(HOUR);
    expect(audits(all)).not.toContain("flapping-started");
    expect(trace.state.flapping.gateway).toBeUndefined();
    // Only the two box failures acted, one soft reboot each: 2 of 3 reboots used, none paused.
    expect(remediations(all)).toEqual(["soft-reboot", "soft-reboot"]);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(2);
    expect(audits(all)).not.toContain("budget-exhausted");
    const titles = fresh(all)
      .filter((n) => n.type === "resolved")
      .map((n) => n.title);
    expect(titles).toEqual([
      "resolved: gateway misconfigured on box-1",
      "resolved: gateway down on box-1",
      "resolved: gateway stopped reading Telegram on box-1",
      "resolved: gateway degraded on box-1",
    ]);
  });

  it("a flap group of box failures spends one reboot per flap within the budget, a refused one none", () => {
    const trace = new Trace();
    const all: Action[] = [];
    for (let i = 0; i < 5; i += 1) {
      const remediation = i === 2 ? "fail" : "ok";
      all.push(...trace.run(3, DOWN, { remediation }), ...trace.run(2), ...trace.run(10));
    }
    expect(audits(all)).toContain("flapping-started");
    // Flap 3's reboot was refused by ECS: nothing happened, so it gave its budget back.
    expect(remediations(all)).toEqual(["soft-reboot", "soft-reboot", "soft-reboot", "soft-reboot"]);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(3);
    // Flap 5 finds the budget spent: one "paused" notice for the whole group, and its resolved.
    expect(types(all).filter((t) => t === "budget-exhausted")).toHaveLength(1);
    expect(types(all).filter((t) => t === "resolved")).toHaveLength(5);
  });
});

describe("alert lifecycle (issue 18)", () => {
  it("'resolved' rewrites the first message: state, duration, no buttons", () => {
    const trace = new Trace();
    const opened = fresh(trace.run(3, DOWN))[0];
    const messageId = trace.state.incidents.gateway?.messageId;
    expect(messageId).toBeDefined();
    const resolved = fresh(trace.run(5)).find((n) => n.type === "resolved");
    expect(opened?.buttons).toContain("ack");
    expect(resolved).toMatchObject({
      replyToMessageId: messageId,
      edit: {
        messageId,
        title: "resolved: gateway down on box-1",
        lines: [
          "State: resolved after 4 min (failing since 2024-05-01 12:00 UTC, resolved 2024-05-01 12:04 UTC).",
          "connect ECONNREFUSED 10.0.0.5:18789",
          "Actions taken: soft reboot.",
        ],
      },
    });
    expect(resolved?.buttons).toBeUndefined();
  });

  it("'resolved' is sent under an ack and under a mute", () => {
    const acked = new Trace();
    acked.run(3, DOWN);
    acked.step(DOWN, { commands: [command("ack", acked.now + MINUTE)] });
    expect(acked.state.incidents.gateway?.ackedUntil).toBeDefined();
    expect(types(acked.run(5))).toEqual(["resolved"]);

    const muted = new Trace();
    muted.run(1, { maas: "auth" });
    muted.step({ maas: "auth" }, { commands: [command("mute", muted.now + MINUTE)] });
    expect(muted.state.mute).toBeDefined();
    expect(types(muted.run(2, { maas: "ok" }))).toEqual(["resolved"]);
  });

  it("needs-human messages carry the next step: ssh and the gateway unit's journal", () => {
    const config = { ...defaultPolicyConfig, ladder: ["soft-reboot"] as PolicyConfig["ladder"] };
    const trace = new Trace(config);
    trace.run(3, DOWN);
    const actions = trace.run(12, DOWN);
    const human = fresh(actions).find((n) => n.type === "needs-human");
    expect(human?.lines).toContain(
      "Next: ssh to the box, then `systemctl status openclaw-gateway` and `journalctl -u openclaw-gateway -n 200 --no-pager`.",
    );
    expect(`${GATEWAY_UNIT}.service`).toBe(BOX_LAYOUT.gatewayUnit);
    const error = new Trace();
    const deleted = fresh(error.run(3, { gateway: "down", server: "ERROR" }));
    expect(deleted.map((n) => n.type)).toContain("opened");
  });

  it("one incident's messages agree on its duration (a polling stall counts from the first wait)", () => {
    const trace = new Trace();
    const stalled = { pending: 5 };
    const actions = trace.run(5, stalled); // pending since 12:00; opens and reboots at 12:04
    const [opened, reboot] = fresh(actions);
    expect(opened?.lines).toContain("Failing since 2024-05-01 12:00 UTC.");
    expect(opened?.lines[0]).toContain("none confirmed for 4 min");
    expect(reboot?.lines[0]).toContain("gateway stopped reading Telegram for 4 min");
    trace.run(3, { gateway: "booting" });
    const resolved = fresh(trace.run(2)).find((n) => n.type === "resolved");
    expect(resolved?.lines[0]).toBe("Resolved after 9 min.");
  });
});

describe("outbox: gatus' two asymmetries", () => {
  it("counts an incident as announced only once 'opened' was delivered", () => {
    const trace = new Trace();
    let actions = trace.step({ maas: "auth" }, { deliver: false });
    const opened = fresh(actions)[0];
    expect(opened?.type).toBe("opened");
    expect(trace.state.incidents.maas?.announcedAt).toBeUndefined();
    expect(trace.state.outbox[0]?.lastError).toBe("Telegram 502");

    actions = trace.step({ maas: "auth" }, { deliver: false });
    expect(fresh(actions)).toEqual([]);
    expect(actions[0]).toMatchObject({
      kind: "notify",
      resend: true,
      notification: { id: opened?.id },
    });

    actions = trace.step({ maas: "auth" });
    expect(actions[0]).toMatchObject({ kind: "notify", resend: true });
    expect(trace.state.incidents.maas).toMatchObject({ announcedAt: trace.now, messageId: 101 });
    expect(trace.state.outbox).toEqual([]);
  });

  it("clears a recovered incident even when 'resolved' cannot be sent, and keeps it queued", () => {
    const trace = new Trace();
    trace.step({ maas: "auth" });
    let actions = trace.run(2, {}, { deliver: false });
    expect(types(actions)).toEqual(["resolved"]);
    expect(trace.state.incidents.maas).toBeUndefined();
    expect(trace.state.outbox.map((e) => e.notification.type)).toEqual(["resolved"]);

    actions = trace.step({ maas: "auth" }, { deliver: false }); // a new incident meanwhile
    expect(types(actions)).toEqual(["opened"]);
    expect(actions.filter((a) => a.kind === "notify" && a.resend)).toHaveLength(1);
    trace.step({ maas: "auth" });
    expect(trace.state.outbox).toEqual([]);
  });

  it("replies to the first message once it is known, even after the incident is over", () => {
    const trace = new Trace();
    trace.step({ maas: "auth" }, { deliver: false });
    trace.run(2, {}, { deliver: false });
    const actions = trace.step();
    const [opened, resolved] = actions.flatMap((a) => (a.kind === "notify" ? [a] : []));
    expect(opened?.notification.type).toBe("opened");
    expect(resolved?.notification).toMatchObject({
      type: "resolved",
      replyTo: opened?.notification.incidentId,
    });
    expect(trace.state.outbox).toEqual([]);
  });

  it("stays bounded through a long Telegram outage with many incidents", () => {
    const trace = new Trace();
    for (let i = 0; i < 30; i += 1) {
      trace.run(3, { maas: "rate-limited" }, { deliver: false });
      trace.run(2, {}, { deliver: false });
      trace.run(1, { telegram: "token-revoked" }, { deliver: false });
      trace.run(2, {}, { deliver: false });
    }
    expect(trace.state.outbox.length).toBeLessThanOrEqual(12);
    expect(JSON.stringify(trace.state).length).toBeLessThan(32_000);
  });
});

describe("failed remediation (ECS API error)", () => {
  it("is retried next failing cycle without using budget or grace", () => {
    const trace = new Trace();
    trace.run(2, DOWN);
    let actions = trace.step(DOWN, { remediation: "fail" });
    expect(remediations(actions)).toEqual(["soft-reboot"]);
    const firstKey = actions.find((a) => a.kind === "remediate");
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(0);
    expect(trace.state.remediation.graceUntil).toBeUndefined();
    expect(trace.state.outbox.map((e) => e.notification.title)).toEqual([
      "gateway down on box-1: soft reboot failed",
    ]);

    actions = trace.step(DOWN, { remediation: "fail" });
    expect(remediations(actions)).toEqual(["soft-reboot"]);
    const secondKey = actions.find((a) => a.kind === "remediate");
    expect(secondKey).not.toEqual(firstKey);
    expect(types(actions)).toEqual(["update"]); // "soft reboot failed", told once

    actions = trace.step(DOWN);
    expect(remediations(actions)).toEqual(["soft-reboot"]);
    expect(types(actions)).toEqual([]);
    expect(trace.state.incidents.gateway?.steps).toMatchObject([
      { action: "soft-reboot", status: "done", attempts: 3 },
    ]);
    expect(budgetUsed(trace.state, "reboots", trace.now, trace.config)).toBe(1);
  });

  it("keeps budget and grace when no outcome ever arrives", () => {
    const trace = new Trace();
    trace.run(2, DOWN);
    const decision = decide(trace.state, observe(DOWN), trace.now + MINUTE, trace.config);
    expect(budgetUsed(decision.state, "reboots", trace.now + MINUTE, trace.config)).toBe(1);
    expect(decision.state.remediation.graceUntil).toBe(trace.now + 6 * MINUTE);
  });
});

describe("state and dry run", () => {
  it("tells once that the state was reset", () => {
    const trace = new Trace(
      defaultPolicyConfig,
      resetState(
        "box-1",
        T0,
        "state.json: bad JSON",
        { kind: "rebuilt", history: [] },
        defaultPolicyConfig,
      ),
    );
    expect(types(trace.step())).toEqual(["state-reset"]);
    expect(types(trace.step())).toEqual([]);
  });

  it("explains what it would do and why not more", () => {
    const trace = new Trace();
    trace.run(3, DOWN);
    trace.step(DOWN, { commands: [command("ack", trace.now + MINUTE)] });
    trace.run(10, DOWN);
    const report = explain(trace.state, observe(DOWN), trace.now + MINUTE, trace.config);
    const lines = explainLines(report);
    expect(lines[0]).toMatch(/^gateway: fail \(down\): connect ECONNREFUSED/);
    expect(lines.join("\n")).toContain("automatic actions paused by an ack");
  });

  it("asks for the server every Nth cycle", () => {
    const trace = new Trace();
    const due: boolean[] = [];
    for (let i = 0; i < 21; i += 1) {
      due.push(serverCheckDue(trace.state, trace.config));
      trace.step();
    }
    expect(due.filter(Boolean)).toHaveLength(3);
    expect(due[0]).toBe(true);
    expect(due[10]).toBe(true);
  });
});
