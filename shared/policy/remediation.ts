import type { PolicyConfig } from "../config/policy-schema";
import type { Observations } from "../probes/types";
import { isProbeError } from "../probes/types";
import { BUDGET_KINDS, type BudgetKind, budgetKindOf, graceKeyOf } from "./catalog";
import { CAUSE_INFO, causeClass } from "./causes";
import { audit, type Cycle, isAcked, isMuted, isRecent, note } from "./context";
import { budgetNotice, enqueue, needsHumanNotice, updateNotice } from "./notifications";
import {
  type BoxState,
  type HistoryEntry,
  type Incident,
  LIMITS,
  type ManualAction,
  type Remediation,
  type Step,
} from "./state";
import { actionLabel, formatDuration, formatTime } from "./text";
import type { Verdict } from "./types";

export { type BudgetKind, budgetKindOf } from "./catalog";

export function graceFor(action: Remediation | ManualAction, config: PolicyConfig): number {
  return config.grace[graceKeyOf(action)];
}

function budgetLimit(kind: BudgetKind, config: PolicyConfig): number {
  return config.budget[kind];
}

export function budgetUsed(state: BoxState, kind: BudgetKind, now: number, config: PolicyConfig) {
  return inWindow(state, kind, now, config).length;
}

function inWindow(state: BoxState, kind: BudgetKind, now: number, config: PolicyConfig) {
  return state.history.filter(
    (entry) => budgetKindOf(entry.action) === kind && isRecent(entry.at, now, config.budget.window),
  );
}

/** Forgets actions older than the budget window and keeps each kind below its cap. */
export function pruneHistory(cycle: Cycle): void {
  const { state, now, config } = cycle;
  const recent = state.history.filter((entry) => isRecent(entry.at, now, config.budget.window));
  const keep = (kind: BudgetKind) =>
    recent.filter((e) => budgetKindOf(e.action) === kind).slice(-LIMITS.historyPerKind);
  state.history = BUDGET_KINDS.flatMap(keep).sort((a, b) => a.at - b.at);
  const exhausted = state.remediation.budgetExhausted;
  if (
    exhausted &&
    budgetUsed(state, exhausted.kind, now, config) < budgetLimit(exhausted.kind, config)
  ) {
    state.remediation.budgetExhausted = undefined;
  }
}

/** Once per key: a history rebuilt from the audit log may already hold a pending manual action. */
export function recordHistory(state: BoxState, entry: HistoryEntry): void {
  if (state.history.some((e) => e.key === entry.key)) return;
  state.history.push(entry);
}

/** Every action, automatic or manual, gives the box time to boot before failures count again. */
export function startGrace(
  state: BoxState,
  action: Remediation | ManualAction,
  at: number,
  key: string,
  config: PolicyConfig,
): void {
  const until = at + graceFor(action, config);
  const current = state.remediation.graceUntil;
  if (current !== undefined && current >= until) return;
  state.remediation.graceUntil = until;
  state.remediation.graceAction = action;
  state.remediation.graceKey = key;
}

export function addStep(incident: Incident, step: Step): void {
  incident.steps.push(step);
  while (incident.steps.length > LIMITS.steps) {
    const failed = incident.steps.findIndex((s) => s.status === "failed");
    incident.steps.splice(Math.max(failed, 0), 1);
  }
}

type Rung = Remediation | "needs-human";

/** The next rung for the incident's cause, from the automatic steps it already took. */
export function nextRung(incident: Incident, config: PolicyConfig): Rung {
  const taken = incident.steps.filter((s) => s.by === undefined && s.status !== "failed");
  if (incident.cause === "server-shutoff") {
    return taken.some((s) => s.action === "start") ? "needs-human" : "start";
  }
  const ladder: readonly Remediation[] = config.ladder;
  const last = taken.filter((s) => ladder.includes(s.action as Remediation)).at(-1);
  const index = last ? ladder.indexOf(last.action as Remediation) + 1 : 0;
  return ladder[index] ?? "needs-human";
}

/**
 * The ladder for a gateway incident whose root cause is the box. Acts only on a failing, counted
 * cycle (so never inside a grace window), after the failure threshold was met again since the
 * last action, while nobody acked or muted, and within the budget.
 */
export function remediate(cycle: Cycle, verdict: Verdict, obs: Observations): void {
  const { state, now, config } = cycle;
  const incident = state.incidents.gateway;
  if (!incident || verdict.kind !== "fail") return;
  if (causeClass(incident.cause) !== "box") return;
  const streak = state.remediation.streak;
  if (streak < config.failureThreshold) {
    note(cycle, `gateway: ${streak}/${config.failureThreshold} failures since the last action`);
    return;
  }
  if (isMuted(state, now)) {
    note(
      cycle,
      `gateway: automatic actions paused by a mute until ${formatTime(state.mute?.until ?? now)}`,
    );
    return;
  }
  if (isAcked(incident.ackedUntil, now)) {
    note(
      cycle,
      `gateway: automatic actions paused by an ack until ${formatTime(incident.ackedUntil ?? now)}`,
    );
    return;
  }
  const blocker = serverBlocker(incident, obs);
  if (blocker) {
    note(cycle, `gateway: no action this cycle: ${blocker}`);
    return;
  }
  const rung = nextRung(incident, config);
  if (rung === "needs-human") {
    askHuman(cycle, incident);
    return;
  }
  const kind = budgetKindOf(rung);
  if (kind && budgetUsed(state, kind, now, config) >= budgetLimit(kind, config)) {
    budgetSpent(cycle, incident, kind);
    return;
  }
  request(cycle, incident, rung);
}

/** A reboot needs the server ACTIVE; a start needs it SHUTOFF; an ECS API error means wait. */
function serverBlocker(incident: Incident, obs: Observations): string | undefined {
  const server = obs.server;
  if (isProbeError(server)) return `the server status is unknown (${server.detail})`;
  if (incident.cause === "ingress-stalled") {
    // The gateway answers, so the server runs; ShowServer is not required.
    return server && server.status !== "ACTIVE" ? `server is ${server.status}` : undefined;
  }
  if (!server) return "the server status was not checked this cycle";
  const wanted = incident.cause === "server-shutoff" ? "SHUTOFF" : "ACTIVE";
  return server.status === wanted ? undefined : `server is ${server.status}, not ${wanted}`;
}

function request(cycle: Cycle, incident: Incident, action: Remediation): void {
  const { state, now, config } = cycle;
  const retry = incident.steps.at(-1);
  const isRetry = retry?.action === action && retry.status === "failed" && retry.by === undefined;
  incident.seq += 1;
  const key = `${incident.id}:${action}:${incident.seq}`;
  const step: Step = { action, at: now, key, status: "requested", attempts: 1 };
  if (isRetry) {
    step.attempts = retry.attempts + 1;
    incident.steps.pop();
  }
  addStep(incident, step);
  if (budgetKindOf(action)) recordHistory(state, { action, at: now, key });
  // Counted at once, so a lost outcome can never let the budget or the grace be exceeded.
  startGrace(state, action, now, key, config);
  state.remediation.streak = 0;
  state.remediation.stallSince = state.ingress.pendingSince;
  state.ingress = {};
  const reason = describeRequest(state, incident, action, now, config);
  cycle.actions.push({
    kind: "remediate",
    action,
    incidentId: incident.id,
    idempotencyKey: key,
    reason,
  });
  audit(cycle, {
    type: "remediation-requested",
    component: "gateway",
    incidentId: incident.id,
    detail: reason,
    action,
    key,
  });
  if (isRetry) return;
  const notice = updateNotice(state, incident, `automatic ${actionLabel(action)}`, [
    reason,
    `Failures do not count for ${formatDuration(graceFor(action, config))} while it boots.`,
  ]);
  enqueue(state, now, notice, reason);
}

function describeRequest(
  state: BoxState,
  incident: Incident,
  action: Remediation,
  now: number,
  config: PolicyConfig,
): string {
  const why = `${CAUSE_INFO[incident.cause].title} for ${formatDuration(now - incident.firstFailureAt)}`;
  const kind = budgetKindOf(action);
  if (!kind) return `${actionLabel(action)}: ${why}`;
  const used = budgetUsed(state, kind, now, config);
  return `${actionLabel(action)}: ${why} (${used} of ${budgetLimit(kind, config)} ${kind} in ${formatDuration(config.budget.window)})`;
}

function askHuman(cycle: Cycle, incident: Incident): void {
  const { state, now } = cycle;
  if (incident.needsHumanAt !== undefined) {
    note(cycle, "gateway: every automatic rung was tried; waiting for a human");
    return;
  }
  incident.needsHumanAt = now;
  const why = "Every automatic step was tried and the gateway is still down.";
  enqueue(state, now, needsHumanNotice(state, incident, why), why);
  audit(cycle, { type: "needs-human", component: "gateway", incidentId: incident.id, detail: why });
}

function budgetSpent(cycle: Cycle, incident: Incident, kind: BudgetKind): void {
  const { state, now, config } = cycle;
  const used = inWindow(state, kind, now, config);
  const oldest = used[0];
  const nextAt = oldest ? oldest.at + config.budget.window : undefined;
  const detail = `budget spent: ${used.length} ${kind} in ${formatDuration(config.budget.window)}`;
  if (state.remediation.budgetExhausted) {
    note(cycle, `gateway: ${detail}; waiting for a human`);
    return;
  }
  state.remediation.budgetExhausted = { kind, at: now };
  const notice = budgetNotice(state, incident, kind, used.length, nextAt, config, now);
  enqueue(state, now, notice, detail);
  audit(cycle, {
    type: "budget-exhausted",
    component: "gateway",
    incidentId: incident.id,
    detail,
  });
}
