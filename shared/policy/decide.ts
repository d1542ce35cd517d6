import type { PolicyConfig } from "../config/policy-schema";
import type { Observations } from "../probes/types";
import { causeClass } from "./causes";
import { applyCommands } from "./commands";
import { audit, type Cycle, note } from "./context";
import { announcePending, calmFlapping, countVerdict, remind, trackIncident } from "./incidents";
import { boundOutbox, emitOutbox } from "./notifications";
import { pruneHistory, remediate } from "./remediation";
import { classifyGateway, observeRestarts } from "./restarts";
import { repairFutureTimes } from "./sanity";
import { type BoxState, COMPONENTS } from "./state";
import { formatTime } from "./text";
import type { Action, OperatorCommand, Verdicts } from "./types";
import { evaluate } from "./verdicts";

export interface Decision {
  state: BoxState;
  actions: Action[];
}

export interface Explanation extends Decision {
  verdicts: Verdicts;
  /** What the policy did not do this cycle and why (thresholds, grace, pauses, budget). */
  notes: string[];
}

/**
 * One check cycle's decision: commands, then the verdict per component, then incidents,
 * remediation and reminders, then the outbox. Pure: `now` is the only clock, the input state is
 * never modified.
 */
export function decide(
  state: BoxState,
  obs: Observations,
  now: number,
  config: PolicyConfig,
  commands: readonly OperatorCommand[] = [],
): Decision {
  const { state: next, actions } = explain(state, obs, now, config, commands);
  return { state: next, actions };
}

/** decide() plus the verdicts and notes: what `diagnose` prints as "the policy would now…". */
export function explain(
  state: BoxState,
  obs: Observations,
  now: number,
  config: PolicyConfig,
  commands: readonly OperatorCommand[] = [],
): Explanation {
  const cycle: Cycle = { state: structuredClone(state), now, config, actions: [], notes: [] };
  repairFutureTimes(cycle);
  applyCommands(cycle, commands);
  expirePauses(cycle);
  pruneHistory(cycle);

  for (const error of obs.watchdogErrors) note(cycle, `watchdog-side error, not counted: ${error}`);
  const { verdicts, ingress } = evaluate(cycle.state, obs, now, config);
  cycle.state.ingress = ingress;
  observeRestarts(cycle, obs);
  verdicts.gateway = classifyGateway(cycle, verdicts.gateway, obs);
  for (const component of COMPONENTS) {
    countVerdict(cycle.state.counters[component], verdicts[component], now);
  }
  countStreak(cycle.state, verdicts);
  for (const component of COMPONENTS) {
    trackIncident(cycle, component, verdicts[component]);
    const incident = cycle.state.incidents[component];
    if (incident) announcePending(cycle, incident);
  }
  remediate(cycle, verdicts.gateway, obs);
  for (const component of COMPONENTS) {
    const incident = cycle.state.incidents[component];
    if (incident) remind(cycle, incident);
    calmFlapping(cycle, component);
  }

  boundOutbox(cycle);
  emitOutbox(cycle);
  cycle.state.cycle += 1;
  return { state: cycle.state, actions: cycle.actions, verdicts, notes: cycle.notes };
}

/** Consecutive counted gateway failures whose cause the ladder can act on. */
function countStreak(state: BoxState, verdicts: Verdicts): void {
  const gateway = verdicts.gateway;
  if (gateway.kind === "skip") return;
  const remediable = gateway.kind === "fail" && causeClass(gateway.cause) === "box";
  state.remediation.streak = remediable ? state.remediation.streak + 1 : 0;
}

function expirePauses(cycle: Cycle): void {
  const { state, now } = cycle;
  if (state.mute && now >= state.mute.until) {
    audit(cycle, {
      type: "mute-expired",
      detail: `mute (${state.mute.reason}) ended at ${formatTime(state.mute.until)}`,
    });
    state.mute = undefined;
  }
  for (const component of COMPONENTS) {
    const incident = state.incidents[component];
    if (incident?.ackedUntil === undefined || now < incident.ackedUntil) continue;
    audit(cycle, {
      type: "ack-expired",
      component,
      incidentId: incident.id,
      detail: `ack by ${incident.ackedBy ?? "?"} ended at ${formatTime(incident.ackedUntil)}`,
    });
    incident.ackedUntil = undefined;
    incident.ackedBy = undefined;
  }
}

/** Lines for a dry run: each component's verdict, then what would be done and why not more. */
export function explainLines(explanation: Explanation): string[] {
  const lines = COMPONENTS.map((component) => {
    const verdict = explanation.verdicts[component];
    const label = verdict.kind === "fail" ? `fail (${verdict.cause})` : verdict.kind;
    const counter = explanation.state.counters[component];
    return `${component}: ${label}: ${verdict.detail} [failures ${counter.consecutiveFailures}, oks ${counter.consecutiveSuccesses}]`;
  });
  for (const action of explanation.actions) {
    if (action.kind === "notify") {
      const resend = action.resend ? " (resend)" : "";
      lines.push(`would notify${resend}: ${action.notification.title}: ${action.reason}`);
    } else if (action.kind === "remediate") {
      lines.push(`would ${action.action}: ${action.reason}`);
    } else {
      lines.push(`would record ${action.event.type}: ${action.event.detail}`);
    }
  }
  for (const text of explanation.notes) lines.push(`note: ${text}`);
  return lines;
}
