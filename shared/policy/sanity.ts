import type { PolicyConfig } from "../config/policy-schema";
import { audit, type Cycle, note } from "./context";
import { graceFor } from "./remediation";
import { COMPONENTS, LIMITS, MANUAL_ACTIONS, PAUSE_LIMITS, REMEDIATIONS } from "./state";

/**
 * The stored state is data the watchdog reads back, and a clock that ran ahead (or a hand-edited
 * object) can date things in the future. Every time window here is "now minus something", so a
 * future time would sit inside it for as long as it is ahead: three future reboots would hold the
 * budget spent for years, a future grace would stop failures counting, a future reminder time
 * would silence reminders. So, before deciding: a moment later than the clock skew allows becomes
 * now, a future entry of a list is dropped, and an end time ("until") is held to the longest span
 * the policy itself would ever set. Once per cycle it is audited, naming what was repaired.
 */
export function repairFutureTimes(cycle: Cycle): void {
  const { state, now, config } = cycle;
  const fixed = new Set<string>();
  const limit = now + LIMITS.clockSkewMs;
  const moment = (at: number | undefined, what: string): number | undefined => {
    if (at === undefined || at <= limit) return at;
    fixed.add(what);
    return now;
  };
  const until = (at: number | undefined, longest: number, what: string): number | undefined => {
    if (at === undefined || at <= now + longest + LIMITS.clockSkewMs) return at;
    fixed.add(what);
    return now + longest;
  };
  const past = <T>(items: T[], at: (item: T) => number, what: string): T[] => {
    const kept = items.filter((item) => at(item) <= limit);
    if (kept.length < items.length) fixed.add(what);
    return kept;
  };

  for (const component of COMPONENTS) {
    const counter = state.counters[component];
    counter.firstFailureAt = moment(counter.firstFailureAt, "counters");
    counter.lastOkAt = moment(counter.lastOkAt, "counters");
    const flap = state.flapping[component];
    if (flap) flap.since = moment(flap.since, "flapping") ?? now;
    const incident = state.incidents[component];
    if (!incident) continue;
    incident.openedAt = moment(incident.openedAt, "incidents") ?? now;
    incident.firstFailureAt = moment(incident.firstFailureAt, "incidents") ?? now;
    incident.announcedAt = moment(incident.announcedAt, "incidents");
    incident.lastReminderAt = moment(incident.lastReminderAt, "reminders");
    incident.needsHumanAt = moment(incident.needsHumanAt, "incidents");
    incident.ackedUntil = until(incident.ackedUntil, PAUSE_LIMITS.maxMs, "acks");
    for (const step of incident.steps) step.at = moment(step.at, "steps") ?? now;
  }
  state.openLog = past(state.openLog, (open) => open.at, "incident opens");
  const remediation = state.remediation;
  remediation.graceUntil = until(remediation.graceUntil, longestGrace(config), "grace");
  remediation.stallSince = moment(remediation.stallSince, "ingress");
  if (remediation.budgetExhausted) {
    remediation.budgetExhausted.at = moment(remediation.budgetExhausted.at, "budget") ?? now;
  }
  state.history = past(state.history, (entry) => entry.at, "budget history");
  if (state.mute) {
    state.mute.at = moment(state.mute.at, "mute") ?? now;
    state.mute.until = until(state.mute.until, PAUSE_LIMITS.maxMs, "mute") ?? now;
  }
  state.ingress.pendingSince = moment(state.ingress.pendingSince, "ingress");
  for (const entry of state.outbox) entry.createdAt = moment(entry.createdAt, "outbox") ?? now;
  if (state.seenCommands) {
    for (const seen of state.seenCommands) seen.at = moment(seen.at, "command ids") ?? now;
  }
  state.commandHorizon = moment(state.commandHorizon, "command ids");

  if (fixed.size === 0) return;
  const detail = `times later than now in the stored state were repaired: ${[...fixed].join(", ")}`;
  note(cycle, detail);
  audit(cycle, { type: "state-repaired", detail });
}

function longestGrace(config: PolicyConfig): number {
  return Math.max(...[...REMEDIATIONS, ...MANUAL_ACTIONS].map((a) => graceFor(a, config)));
}
