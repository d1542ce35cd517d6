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
  budgetKindOf,
  decide,
  graceFor,
  initialState,
  type OperatorCommand,
  type Outcome,
} from "../../shared/policy";
import {
  GATEWAY_STATUSES,
  type GatewayStatus,
  MAAS_STATUSES,
  type MaasStatus,
  type Observations,
  SERVER_STATUSES,
  type ServerStatus,
  TELEGRAM_STATUSES,
  type TelegramStatus,
} from "../../shared/probes/types";

// Random sequences of observations, operator commands and (often failing) outcomes, with the
// invariants checked after every single step.

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MAX_STATE_BYTES = 32_000;

interface Segment {
  gateway: GatewayStatus;
  server: ServerStatus | "error" | undefined;
  maas: MaasStatus | undefined;
  telegram: TelegramStatus | undefined;
  pending: number;
  offline: boolean;
  delivery: "ok" | "flaky" | "down";
  remediation: "ok" | "fail" | "lost";
  length: number;
}

interface CommandSpec {
  kind: OperatorCommand["kind"];
  ago: number;
  lasts: number | undefined;
  action: "reboot" | "rebootstrap";
  component: "gateway" | "maas" | undefined;
  /** Re-deliver the previous command (same id) instead of a new one. */
  repeat: boolean;
}

interface StepSpec {
  advance: number;
  command: CommandSpec | undefined;
  deliverBits: number;
}

const weighted = <T>(...pairs: [number, T][]) =>
  fc.oneof(...pairs.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

const segmentArb: fc.Arbitrary<Segment> = fc.record({
  gateway: fc.oneof(
    { weight: 4, arbitrary: fc.constant<GatewayStatus>("ok") },
    { weight: 3, arbitrary: fc.constant<GatewayStatus>("down") },
    { weight: 2, arbitrary: fc.constantFrom(...GATEWAY_STATUSES) },
  ),
  server: fc.oneof(
    { weight: 4, arbitrary: fc.constant<ServerStatus>("ACTIVE") },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom<ServerStatus | "error">(...SERVER_STATUSES, "error") },
  ),
  maas: fc.oneof(
    { weight: 4, arbitrary: fc.constant<MaasStatus>("ok") },
    { weight: 2, arbitrary: fc.constantFrom<MaasStatus | undefined>(...MAAS_STATUSES, undefined) },
  ),
  telegram: fc.oneof(
    { weight: 4, arbitrary: fc.constant<TelegramStatus>("ok") },
    {
      weight: 1,
      arbitrary: fc.constantFrom<TelegramStatus | undefined>(...TELEGRAM_STATUSES, undefined),
    },
  ),
  pending: weighted([4, 0], [1, 3]),
  offline: weighted([9, false], [1, true]),
  delivery: weighted([5, "ok" as const], [3, "flaky" as const], [2, "down" as const]),
  remediation: weighted([6, "ok" as const], [3, "fail" as const], [1, "lost" as const]),
  length: fc.integer({ min: 1, max: 25 }),
});

const commandArb: fc.Arbitrary<CommandSpec> = fc.record({
  kind: fc.constantFrom<OperatorCommand["kind"]>("ack", "mute", "unmute", "manual-action"),
  ago: fc.integer({ min: 0, max: 10 * MINUTE }),
  lasts: fc.option(fc.integer({ min: 0, max: 3 * HOUR }), { nil: undefined }),
  action: fc.constantFrom("reboot" as const, "rebootstrap" as const),
  component: fc.constantFrom("gateway" as const, "maas" as const, undefined),
  repeat: weighted([4, false], [1, true]),
});

const stepArb: fc.Arbitrary<StepSpec> = fc.record({
  advance: fc.oneof(
    { weight: 12, arbitrary: fc.constant(MINUTE) },
    { weight: 3, arbitrary: fc.integer({ min: 5_000, max: 5 * MINUTE }) },
    { weight: 1, arbitrary: fc.integer({ min: HOUR, max: 13 * HOUR }) },
  ),
  command: fc.option(commandArb, { freq: 12, nil: undefined }),
  deliverBits: fc.nat(),
});

const configArb: fc.Arbitrary<PolicyConfig> = fc.constantFrom(
  defaultPolicyConfig,
  policySchema.parse({ budget: { reboots: 1, rebootstraps: 1 }, grace: { rebootstrap: "5m" } }),
  policySchema.parse({
    failureThreshold: 2,
    successThreshold: 1,
    reminders: { first: "5m", max: "20m" },
    flapping: { opens: 2, window: "30m" },
    ladder: ["hard-reboot"],
  }),
);

function observe(segment: Segment): Observations {
  const obs: Observations = {
    gateway: {
      status: segment.gateway,
      latencyMs: 5,
      detail: `gateway ${segment.gateway}`,
      failing: segment.gateway === "degraded" ? ["telegram"] : [],
    },
    watchdogErrors: segment.server === "error" ? ["ECS: 503"] : [],
  };
  if (segment.offline) {
    obs.maas = {
      status: "down",
      latencyMs: 5000,
      detail: "timeout",
      checked: "models",
      unreachable: true,
    };
    obs.telegram = { status: "down", latencyMs: 5000, detail: "timeout", unreachable: true };
  } else {
    if (segment.maas) {
      obs.maas = { status: segment.maas, latencyMs: 50, detail: segment.maas, checked: "models" };
    }
    if (segment.telegram) {
      obs.telegram = {
        status: segment.telegram,
        latencyMs: 50,
        detail: segment.telegram,
        pendingUpdateCount: segment.pending,
      };
    }
  }
  if (segment.server === "error") obs.server = { status: "error", detail: "ECS API 503" };
  else if (segment.server) obs.server = { status: segment.server, latencyMs: 80, detail: "" };
  return obs;
}

const ALL_OK: Segment = {
  gateway: "ok",
  server: "ACTIVE",
  maas: "ok",
  telegram: "ok",
  pending: 0,
  offline: false,
  delivery: "ok",
  remediation: "ok",
  length: 1,
};

/** What the test itself remembers to judge the policy, independent of the policy's state. */
class Model {
  now = T0;
  state: BoxState = initialState("box-p");
  private seenCommands = new Set<string>();
  private previous: OperatorCommand | undefined;
  private emitted = new Set<string>();
  private budgetUse: { at: number; kind: "reboots" | "rebootstraps" }[] = [];
  private graceUntil = 0;
  private messageId = 1;
  private commandSeq = 0;
  opened = new Set<string>();
  resolved = new Set<string>();
  steps = 0;

  constructor(readonly config: PolicyConfig) {}

  step(segment: Segment, spec: StepSpec): void {
    this.now += spec.advance;
    this.steps += 1;
    const commands = this.commands(spec.command);
    const obs = observe(segment);
    const before = JSON.stringify(this.state);
    const { state, actions } = decide(this.state, obs, this.now, this.config, commands);
    expect(JSON.stringify(this.state)).toBe(before);
    this.checkState(state);

    for (const command of commands) this.noteCommand(command);
    this.checkNotifications(actions);
    this.checkRemediations(actions, obs, state, segment);
    for (const action of actions) {
      if (action.kind !== "audit" || !action.event.incidentId) continue;
      if (action.event.type === "incident-opened") this.opened.add(action.event.incidentId);
      if (action.event.type === "incident-resolved") this.resolved.add(action.event.incidentId);
    }
    this.checkLifecycle(actions, state);

    const outcomes = this.outcomes(actions, segment, spec.deliverBits);
    this.state = applyOutcomes(state, outcomes, this.now, this.config);
    this.checkState(this.state);
  }

  private commands(spec: CommandSpec | undefined): OperatorCommand[] {
    if (!spec) return [];
    if (spec.repeat && this.previous) return [this.previous];
    this.commandSeq += 1;
    const at = Math.max(T0, this.now - spec.ago);
    const command: OperatorCommand = {
      id: `cmd-${this.commandSeq}`,
      kind: spec.kind,
      at,
      by: { userId: 7, username: "op" },
    };
    if (spec.lasts !== undefined) command.until = at + spec.lasts;
    if (spec.kind === "manual-action") command.action = spec.action;
    if (spec.kind === "ack" && spec.component) command.incidentComponent = spec.component;
    if (spec.kind === "mute") command.reason = "planned work";
    this.previous = command;
    return [command];
  }

  /** Manual actions count against the budget and start a grace, exactly once per command id. */
  private noteCommand(command: OperatorCommand): void {
    if (this.seenCommands.has(command.id)) return;
    this.seenCommands.add(command.id);
    if (command.kind !== "manual-action" || !command.action) return;
    const kind = budgetKindOf(command.action);
    if (kind) this.budgetUse.push({ at: command.at, kind });
    this.graceUntil = Math.max(this.graceUntil, command.at + graceFor(command.action, this.config));
  }

  /**
   * Issue 23: flapping never swallows an incident. Every incident opened while not muted has its
   * first message handed out in that cycle (a flap group's quietly), and every incident whose
   * first message went out gets its "resolved", flapping, acked or muted, with the rewrite of the
   * first message and no buttons to press.
   */
  private checkLifecycle(actions: Action[], next: BoxState): void {
    const sent = new Map(
      actions.flatMap((a) => (a.kind === "notify" ? [[a.notification.id, a.notification]] : [])),
    );
    const muted = next.mute !== undefined && this.now < next.mute.until;
    for (const action of actions) {
      if (action.kind !== "audit" || !action.event.incidentId) continue;
      const id = action.event.incidentId;
      if (action.event.type === "incident-opened" && !muted) {
        const head = sent.get(`${id}:opened`) ?? sent.get(`${id}:watchdog-network`);
        expect(head, `incident ${id} opened without its alert`).toBeDefined();
        const component = action.event.component;
        const flap = component ? next.flapping[component] : undefined;
        const incident = component ? next.incidents[component] : undefined;
        if (flap && incident?.id === id && flap.cause === incident.cause) {
          expect(head?.quiet, `a flap group's alert ${id} rings`).toBe(true);
        }
      }
      if (action.event.type === "incident-resolved" && this.told.has(id)) {
        const resolved = sent.get(`${id}:resolved`);
        expect(resolved, `incident ${id} was told but not its resolution`).toBeDefined();
        expect(resolved?.buttons).toBeUndefined();
        expect(resolved?.edit?.lines[0]).toMatch(/^State: resolved after /);
      }
    }
  }

  told = new Set<string>();

  private checkState(state: BoxState): void {
    const parsed = boxStateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`state fails its schema: ${parsed.error.message}`);
    expect(JSON.stringify(state).length).toBeLessThan(MAX_STATE_BYTES);
  }

  private checkNotifications(actions: Action[]): void {
    for (const action of actions) {
      if (action.kind !== "notify") continue;
      const id = action.notification.id;
      if (action.resend) {
        expect(this.emitted.has(id), `resend of ${id} that was never sent`).toBe(true);
      } else {
        expect(this.emitted.has(id), `notification ${id} created twice`).toBe(false);
        this.emitted.add(id);
      }
    }
  }

  private checkRemediations(
    actions: Action[],
    obs: Observations,
    next: BoxState,
    segment: Segment,
  ): void {
    for (const action of actions) {
      if (action.kind !== "remediate") continue;
      const { now, config } = this;
      // Only the box: a down gateway on a running or stopped server, or a confirmed stall.
      expect(segment.offline).toBe(false);
      const stalled =
        obs.gateway.status === "ok" &&
        obs.telegram?.status === "ok" &&
        (obs.telegram.pendingUpdateCount ?? 0) > 0 &&
        (obs.server === undefined || obs.server.status === "ACTIVE");
      const down =
        obs.gateway.status === "down" &&
        (obs.server?.status === "ACTIVE" || obs.server?.status === "SHUTOFF");
      expect(stalled || down, `remediation with ${JSON.stringify(segment)}`).toBe(true);
      // Never while someone paused it.
      expect(next.mute === undefined || now >= next.mute.until).toBe(true);
      const acked = next.incidents.gateway?.ackedUntil;
      expect(acked === undefined || now >= acked).toBe(true);
      // Never inside a grace window.
      expect(now, "remediation inside a grace window").toBeGreaterThanOrEqual(this.graceUntil);
      // Never over the budget in the rolling window.
      const kind = budgetKindOf(action.action);
      if (kind) {
        const limit = kind === "reboots" ? config.budget.reboots : config.budget.rebootstraps;
        const used = this.budgetUse.filter(
          (u) => u.kind === kind && now - u.at < config.budget.window,
        ).length;
        expect(used, `${kind} over budget`).toBeLessThan(limit);
      }
      if (segment.remediation !== "fail") {
        if (kind) this.budgetUse.push({ at: now, kind });
        this.graceUntil = Math.max(this.graceUntil, now + graceFor(action.action, config));
      }
    }
  }

  private outcomes(actions: Action[], segment: Segment, bits: number): Outcome[] {
    return actions.flatMap((action, index): Outcome[] => {
      if (action.kind === "notify") {
        const id = action.notification.id;
        const ok =
          segment.delivery === "ok" ||
          (segment.delivery === "flaky" && ((bits >> (index % 31)) & 1) === 1);
        if (!ok) return [{ kind: "notify-failed", notificationId: id, error: "Telegram 502" }];
        const { type, incidentId } = action.notification;
        if (incidentId && (type === "opened" || type === "watchdog-network")) {
          this.told.add(incidentId);
        }
        this.messageId += 1;
        return [{ kind: "notified", notificationId: id, messageId: this.messageId }];
      }
      if (action.kind === "remediate") {
        const base = { idempotencyKey: action.idempotencyKey, action: action.action };
        if (segment.remediation === "lost") return [];
        return segment.remediation === "fail"
          ? [{ kind: "remediate-failed", ...base, error: "ECS API 500" }]
          : [{ kind: "remediated", ...base, jobId: `job-${this.now}` }];
      }
      return [];
    });
  }

  run(segments: Segment[], steps: StepSpec[]): void {
    let cursor = 0;
    for (const segment of segments) {
      for (let i = 0; i < segment.length; i += 1) {
        const spec = steps[cursor % steps.length] ?? {
          advance: MINUTE,
          command: undefined,
          deliverBits: 0,
        };
        cursor += 1;
        this.step(segment, spec);
      }
    }
  }

  /** Everything healthy, Telegram delivering, mute lifted: every incident must close. */
  settle(): void {
    const unmute: CommandSpec = {
      kind: "unmute",
      ago: 0,
      lasts: undefined,
      action: "reboot",
      component: undefined,
      repeat: false,
    };
    this.step(ALL_OK, { advance: MINUTE, command: unmute, deliverBits: 0 });
    for (let i = 0; i < 5; i += 1) {
      this.step(ALL_OK, { advance: MINUTE, command: undefined, deliverBits: 0 });
    }
  }
}

describe("policy invariants over random sequences", () => {
  it("holds budget, grace, inhibition, idempotency, schema and size at every step; all incidents resolve", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(segmentArb, { minLength: 1, maxLength: 25 }),
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        (config, segments, steps) => {
          const model = new Model(config);
          model.run(segments, steps);
          model.settle();
          const open = Object.values(model.state.incidents).filter(Boolean);
          expect(open).toEqual([]);
          for (const id of model.opened) expect(model.resolved.has(id), id).toBe(true);
          expect(model.state.outbox).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("stays within its schema and 32 KB over 2,000 steps of a flaky box and a flaky Telegram", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(segmentArb, { minLength: 120, maxLength: 160 }),
        fc.array(stepArb, { minLength: 50, maxLength: 100 }),
        (config, segments, steps) => {
          const model = new Model(config);
          while (model.steps < 2_000) model.run(segments, steps);
          model.settle();
          expect(Object.values(model.state.incidents).filter(Boolean)).toEqual([]);
        },
      ),
      { numRuns: 3, endOnFailure: true },
    );
  });
});
