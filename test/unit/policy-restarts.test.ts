import fc from "fast-check";
import { describe, expect, it } from "vitest";
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
  explain,
  initialState,
  type Notification,
  type Outcome,
} from "../../shared/policy";
import type { GatewayResult, Observations } from "../../shared/probes/types";
import { observations, serverResult } from "../support/observations";

/**
 * The gateway's own repair path (restarts.ts): systemd restarts a crashed gateway, the watchdog
 * stays silent on that, warns on repeated restarts, and acts on what systemd cannot heal.
 */

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

type Gateway = "ok" | "refused" | "booting" | "hung";

/** What /readyz shows at `now` of a gateway process started at `startedAt`. */
function gatewayResult(kind: Gateway, now: number, startedAt: number | undefined): GatewayResult {
  switch (kind) {
    case "ok":
    case "booting": {
      const base: GatewayResult =
        kind === "ok"
          ? { status: "ok", latencyMs: 5, detail: "ready", failing: [], httpStatus: 200 }
          : {
              status: "booting",
              latencyMs: 5,
              detail: "gateway starting (startup-sidecars)",
              failing: ["startup-sidecars"],
              httpStatus: 503,
            };
      return startedAt === undefined ? base : { ...base, uptimeMs: now - startedAt, startedAt };
    }
    case "refused":
      return {
        status: "down",
        latencyMs: 1,
        detail:
          "10.0.0.5:18789: connection refused: is the gateway running and bound to this address?",
        failing: [],
        unreachable: true,
        refused: true,
      };
    case "hung":
      return {
        status: "down",
        latencyMs: 5_000,
        detail:
          "10.0.0.5:18789: no answer within 5000 ms: the gateway accepts connections but does not answer (hung?)",
        failing: [],
        unreachable: true,
      };
  }
}

function observe(gateway: GatewayResult): Observations {
  return observations({ gateway, server: serverResult("ACTIVE") });
}

class Trace {
  state: BoxState = initialState("box-1");
  now = T0;
  /** The running gateway process's start (what its uptime counts from). */
  startedAt: number | undefined = T0 - HOUR;
  readonly actions: Action[] = [];
  readonly notes: string[] = [];
  private messageId = 100;

  constructor(
    readonly config: PolicyConfig = defaultPolicyConfig,
    readonly withUptime = true,
  ) {}

  /** Moves the clock by `advance`, then runs one cycle seeing `kind`. */
  check(kind: Gateway, advance = MINUTE): Action[] {
    this.now += advance;
    const started = this.withUptime ? this.startedAt : undefined;
    const explained = explain(
      this.state,
      observe(gatewayResult(kind, this.now, started)),
      this.now,
      this.config,
    );
    expect(boxStateSchema.safeParse(explained.state).success).toBe(true);
    const outcomes = explained.actions.flatMap((action): Outcome[] => {
      if (action.kind === "notify") {
        this.messageId += 1;
        return [
          { kind: "notified", notificationId: action.notification.id, messageId: this.messageId },
        ];
      }
      if (action.kind === "remediate") {
        return [
          {
            kind: "remediated",
            idempotencyKey: action.idempotencyKey,
            action: action.action,
            jobId: `job-${this.now}`,
          },
        ];
      }
      return [];
    });
    this.state = applyOutcomes(explained.state, outcomes, this.now, this.config);
    this.actions.push(...explained.actions);
    this.notes.push(...explained.notes);
    return explained.actions;
  }

  /** systemd restarted the gateway at `at` (the new process's uptime counts from there). */
  restartedAt(at: number): void {
    this.startedAt = at;
  }
}

const sent = (actions: Action[]): Notification[] =>
  actions.flatMap((a) => (a.kind === "notify" && !a.resend ? [a.notification] : []));
const remediations = (actions: Action[]) =>
  actions.flatMap((a) => (a.kind === "remediate" ? [a.action] : []));

describe("a crash systemd heals", () => {
  it("between two checks (seen only as a new uptime): no incident, no action, no message", () => {
    const trace = new Trace();
    trace.check("ok");
    trace.restartedAt(trace.now + 20 * SECOND); // crashed, back 35 s later, ready
    trace.check("ok");
    expect(trace.actions).toEqual([]);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(trace.state.selfRestarts?.times).toEqual([T0 + 2 * MINUTE - 40 * SECOND]);
    expect(trace.notes.join("\n")).toMatch(/restarted by itself at .* \(systemd\); no action/);
  });

  it("seen refused, then booting, then ready: no incident, one restart counted", () => {
    const trace = new Trace();
    trace.check("ok");
    trace.check("refused");
    trace.restartedAt(trace.now + 5 * SECOND);
    trace.check("booting", 30 * SECOND);
    trace.check("ok", 30 * SECOND);
    trace.check("ok");
    expect(trace.actions.filter((a) => a.kind !== "audit")).toEqual([]);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(trace.state.selfRestarts?.times).toHaveLength(1);
  });

  it("with checks every 20 s, three refused checks inside the restart window open nothing", () => {
    const trace = new Trace();
    trace.check("ok", 20 * SECOND);
    trace.check("refused", 20 * SECOND);
    trace.check("refused", 20 * SECOND);
    trace.check("refused", 20 * SECOND); // 3 failures, 40 s: the threshold alone would open
    expect(trace.state.counters.gateway.consecutiveFailures).toBe(3);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(trace.notes.join("\n")).toMatch(/waiting out a systemd restart \(90 s\)/);
    trace.restartedAt(trace.now + 5 * SECOND);
    trace.check("ok", 20 * SECOND);
    trace.check("ok", 20 * SECOND);
    expect(sent(trace.actions)).toEqual([]);
    expect(remediations(trace.actions)).toEqual([]);
  });

  it("without an uptime on /readyz, a refused run that ends ready by itself is the restart", () => {
    const trace = new Trace(defaultPolicyConfig, false);
    trace.check("ok");
    trace.check("refused");
    trace.check("ok");
    expect(trace.state.selfRestarts?.times).toEqual([T0 + 2 * MINUTE]);
    // A hang that ends by itself is no restart (nothing says the process was gone).
    trace.check("hung");
    trace.check("ok");
    expect(trace.state.selfRestarts?.times).toHaveLength(1);
  });

  it("a start time from the future is not believed", () => {
    const trace = new Trace();
    trace.check("ok");
    trace.restartedAt(trace.now + HOUR);
    trace.check("ok");
    expect(trace.state.selfRestarts?.times).toEqual([]);
    expect(trace.state.selfRestarts?.startedAt).toBeUndefined();
  });
});

describe("repeated self-restarts (OOM every few minutes)", () => {
  it("raise one warning with the count and times, no action, then one all-clear", () => {
    const trace = new Trace();
    trace.check("ok");
    for (let i = 0; i < 4; i++) {
      for (let m = 0; m < 15; m++) trace.check("ok");
      trace.restartedAt(trace.now + 10 * SECOND);
    }
    trace.check("ok");
    const warnings = sent(trace.actions).filter((n) => n.type === "opened");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      severity: "warning",
      component: "gateway",
      title: "gateway restarted itself 3 times in 1 h on box-1",
      buttons: ["mute", "status"],
    });
    expect(warnings[0]?.lines[0]).toMatch(
      /no action was taken\. Restarts at 12:16, 12:31, 12:46 UTC\./,
    );
    expect(remediations(trace.actions)).toEqual([]);
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(trace.state.selfRestarts?.warning?.count).toBe(4);

    for (let m = 0; m < 61; m++) trace.check("ok");
    const after = sent(trace.actions).map((n) => `${n.type} ${n.title}`);
    expect(after).toEqual([
      "opened gateway restarted itself 3 times in 1 h on box-1",
      "resolved gateway stable again on box-1",
    ]);
    expect(trace.state.selfRestarts?.warning).toBeUndefined();
  });

  it("restarts the watchdog caused (a reboot) are not counted", () => {
    const trace = new Trace();
    trace.check("ok");
    for (let i = 0; i < 3; i++) trace.check("hung");
    expect(remediations(trace.actions)).toEqual(["soft-reboot"]);
    trace.restartedAt(trace.now + 2 * MINUTE);
    for (let m = 0; m < 8; m++) trace.check("ok");
    expect(trace.state.incidents.gateway).toBeUndefined();
    expect(trace.state.selfRestarts?.times).toEqual([]);
  });

  it("the threshold and period come from the policy config", () => {
    const config = policySchema.parse({ selfRestart: { warnAfter: 2, period: "10m" } });
    const trace = new Trace(config);
    trace.check("ok");
    trace.restartedAt(trace.now);
    trace.check("ok", 4 * MINUTE);
    trace.restartedAt(trace.now);
    trace.check("ok", 4 * MINUTE);
    expect(sent(trace.actions).map((n) => n.title)).toEqual([
      "gateway restarted itself 2 times in 10 min on box-1",
    ]);
  });
});

describe("what systemd cannot heal", () => {
  it("a crash loop (answers, dies again) opens after the window and climbs the ladder", () => {
    const trace = new Trace();
    trace.check("ok");
    for (let i = 0; i < 2; i++) {
      trace.check("refused", 20 * SECOND);
      trace.restartedAt(trace.now + 5 * SECOND);
      trace.check("booting", 20 * SECOND);
    }
    trace.check("refused", 20 * SECOND);
    expect(trace.state.incidents.gateway).toBeUndefined(); // 80 s: inside the window
    trace.check("refused", 20 * SECOND);
    const incident = trace.state.incidents.gateway;
    expect(incident?.cause).toBe("crash-loop");
    expect(sent(trace.actions)[0]?.title).toBe("gateway crash-looping on box-1");
    expect(remediations(trace.actions)).toEqual(["soft-reboot"]);
  });

  it("never listening: alert names exit 78 and the config; one reboot, then a human, no more reboots", () => {
    const trace = new Trace();
    trace.check("ok");
    for (let i = 0; i < 3; i++) trace.check("refused");
    const opened = sent(trace.actions)[0];
    expect(opened?.title).toBe("gateway down on box-1");
    expect(opened?.lines.join(" ")).toMatch(/unit failed \(exit 78: a config problem\)/);
    expect(remediations(trace.actions)).toEqual(["soft-reboot"]);

    // The reboot's grace passes; nothing ever listens again.
    for (let m = 0; m < 30; m++) trace.check("refused");
    expect(remediations(trace.actions)).toEqual(["soft-reboot"]);
    expect(trace.state.incidents.gateway?.cause).toBe("unit-failed");
    const human = sent(trace.actions).filter((n) => n.type === "needs-human");
    expect(human).toHaveLength(1);
    expect(human[0]?.lines.join(" ")).toMatch(/exit 78.*openclaw config validate/);
    expect(trace.state.incidents.gateway?.detail).toMatch(
      /nothing has listened since the soft reboot/,
    );
  });

  it("a hang (no answer) stays 'down' and climbs the ladder past the first rung", () => {
    const trace = new Trace();
    trace.check("ok");
    for (let m = 0; m < 14; m++) trace.check("hung");
    expect(trace.state.incidents.gateway?.cause).toBe("down");
    expect(remediations(trace.actions)).toEqual(["soft-reboot", "hard-reboot"]);
  });
});

describe("properties", () => {
  /** Each step: minutes of ready, then a crash systemd heals within `outageS` seconds. */
  const crashArb = fc.record({
    readyMinutes: fc.integer({ min: 1, max: 40 }),
    outageS: fc.integer({ min: 10, max: 80 }),
    seenDown: fc.boolean(),
    uptime: fc.boolean(),
  });

  it("crashes that heal inside the restart window never get an action or a critical alert", () => {
    fc.assert(
      fc.property(fc.array(crashArb, { minLength: 1, maxLength: 12 }), (crashes) => {
        const trace = new Trace(defaultPolicyConfig, crashes[0]?.uptime ?? true);
        trace.check("ok");
        for (const crash of crashes) {
          for (let m = 0; m < crash.readyMinutes; m++) trace.check("ok");
          if (crash.seenDown) {
            trace.check("refused", 5 * SECOND);
            trace.restartedAt(trace.now + 5 * SECOND);
            trace.check("ok", crash.outageS * SECOND);
          } else {
            trace.restartedAt(trace.now + crash.outageS * SECOND);
          }
        }
        trace.check("ok");
        expect(remediations(trace.actions)).toEqual([]);
        const critical = sent(trace.actions).filter((n) => n.severity === "critical");
        expect(critical).toEqual([]);
        // At most one warning open at a time: opens and all-clears alternate.
        const warnings = sent(trace.actions)
          .filter((n) => n.component === "gateway")
          .map((n) => n.type);
        expect(warnings.join(" ")).not.toMatch(/opened opened/);
      }),
      { numRuns: 60 },
    );
  });
});
