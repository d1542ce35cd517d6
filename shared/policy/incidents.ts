import type { PolicyConfig } from "../config/policy-schema";
import { CAUSE_INFO, causeClass } from "./causes";
import { audit, type Cycle, isAcked, isMuted, isRecent, note } from "./context";
import {
  enqueue,
  flappingEndNotice,
  flappingNotice,
  needsHumanNotice,
  openedNotice,
  reminderNotice,
  resolvedNotice,
  updateNotice,
} from "./notifications";
import { heldForRestart } from "./restarts";
import {
  type BoxState,
  type Cause,
  type Component,
  type Counter,
  type Incident,
  LIMITS,
  type OpenRecord,
} from "./state";
import { formatDuration, truncate } from "./text";
import type { Verdict } from "./types";

export function countVerdict(counter: Counter, verdict: Verdict, now: number): void {
  if (verdict.kind === "skip") {
    counter.lastStatus = "skipped";
    if (verdict.unwell) counter.consecutiveSuccesses = 0;
    return;
  }
  if (verdict.kind === "ok") {
    counter.consecutiveSuccesses += 1;
    counter.consecutiveFailures = 0;
    counter.firstFailureAt = undefined;
    counter.lastOkAt = now;
    counter.lastStatus = "ok";
    return;
  }
  counter.consecutiveFailures += 1;
  counter.consecutiveSuccesses = 0;
  // Every message of the incident measures from here, so they agree on how long it has lasted.
  counter.firstFailureAt = Math.min(counter.firstFailureAt ?? now, verdict.since ?? now);
  counter.lastStatus = verdict.cause;
}

/**
 * 401/404 from MaaS, a rejected bot token or a gateway that answers with the wrong thing do not
 * get better by waiting: those open at `deterministicFailureThreshold` (default: the first check).
 */
export function openThreshold(cause: Cause, config: PolicyConfig): number {
  return CAUSE_INFO[cause].deterministic
    ? Math.min(config.deterministicFailureThreshold, config.failureThreshold)
    : config.failureThreshold;
}

/** Opens, updates or resolves the component's one incident from this cycle's verdict. */
export function trackIncident(cycle: Cycle, component: Component, verdict: Verdict): void {
  const { state, config } = cycle;
  const counter = state.counters[component];
  const incident = state.incidents[component];
  if (verdict.kind === "fail") {
    if (incident) updateCause(cycle, incident, verdict);
    else if (
      counter.consecutiveFailures >= openThreshold(verdict.cause, config) &&
      !heldForRestart(cycle, component, verdict)
    ) {
      openIncident(cycle, component, verdict);
    }
    return;
  }
  if (verdict.kind === "ok" && incident) {
    if (counter.consecutiveSuccesses >= config.successThreshold) resolveIncident(cycle, incident);
  }
}

function openIncident(
  cycle: Cycle,
  component: Component,
  verdict: Extract<Verdict, { kind: "fail" }>,
): void {
  const { state, now, config } = cycle;
  const counter = state.counters[component];
  const incident: Incident = {
    id: `${state.box}.${component}.${now}`,
    component,
    cause: verdict.cause,
    openedAt: now,
    firstFailureAt: counter.firstFailureAt ?? now,
    detail: truncate(verdict.detail, LIMITS.text),
    reminderCount: 0,
    seq: 0,
    steps: [],
  };
  if (verdict.hint) incident.hint = truncate(verdict.hint, LIMITS.text);
  if (causeClass(verdict.cause) === "human") incident.needsHumanAt = now;
  state.incidents[component] = incident;
  audit(cycle, {
    type: "incident-opened",
    component,
    incidentId: incident.id,
    detail: `${CAUSE_INFO[verdict.cause].title} after ${counter.consecutiveFailures} failed check(s): ${incident.detail}`,
  });
  const sameFailure = recordOpen(cycle, incident);
  const flap = state.flapping[component];
  if (flap && (flap.cause === undefined || flap.cause === incident.cause)) {
    incident.quiet = true;
    announce(cycle, incident, "Part of a flap group: told quietly, no reminders.");
  } else if (!flap && sameFailure >= config.flapping.opens) {
    incident.quiet = true;
    startFlapping(cycle, component, incident.cause);
    announce(cycle, incident, "Part of a flap group: told quietly, no reminders.");
  } else {
    announce(cycle, incident);
  }
}

/** Remembers the open; returns how many opens of this failure (component and cause) are recent. */
function recordOpen(cycle: Cycle, incident: Incident): number {
  const { state, now, config } = cycle;
  const { component, cause } = incident;
  const log = [...state.openLog, { component, cause, at: now, incidentId: incident.id }];
  const recent = log.filter((open) => isRecent(open.at, now, config.flapping.window));
  state.openLog = lastPerComponent(recent, LIMITS.opensPerComponent);
  return recentOpens(state, component, cause).length;
}

/** Capped per component, so a flood of one component's opens cannot push out another's. */
function lastPerComponent(log: readonly OpenRecord[], max: number): OpenRecord[] {
  const kept = new Map<Component, number>();
  const newestFirst = [...log].reverse().filter((open) => {
    const count = (kept.get(open.component) ?? 0) + 1;
    kept.set(open.component, count);
    return count <= max;
  });
  return newestFirst.reverse();
}

function recentOpens(state: BoxState, component: Component, cause: Cause): OpenRecord[] {
  return state.openLog.filter((o) => o.component === component && o.cause === cause);
}

function announce(cycle: Cycle, incident: Incident, extra?: string): void {
  const { state, now } = cycle;
  const notice = openedNotice(state, incident, extra);
  if (incident.quiet) {
    notice.quiet = true;
    const flapMessage = state.flapping[incident.component]?.messageId;
    if (flapMessage !== undefined) notice.replyToMessageId = flapMessage;
  }
  const reason = `${incident.component} failed ${state.counters[incident.component].consecutiveFailures} check(s) in a row: ${incident.cause}`;
  if (enqueue(state, now, notice, reason)) incident.headNoticeId = notice.id;
  else note(cycle, `${incident.component}: "opened" held back while muted`);
}

function updateCause(
  cycle: Cycle,
  incident: Incident,
  verdict: Extract<Verdict, { kind: "fail" }>,
): void {
  const { state, now } = cycle;
  incident.detail = truncate(verdict.detail, LIMITS.text);
  if (verdict.cause === incident.cause) return;
  const from = incident.cause;
  incident.cause = verdict.cause;
  incident.hint = verdict.hint ? truncate(verdict.hint, LIMITS.text) : undefined;
  audit(cycle, {
    type: "cause-changed",
    component: incident.component,
    incidentId: incident.id,
    detail: `${from} → ${verdict.cause}: ${incident.detail}`,
  });
  const to = causeClass(verdict.cause);
  if (to === "human" && incident.needsHumanAt === undefined) {
    incident.needsHumanAt = now;
    const why = CAUSE_INFO[verdict.cause].hint;
    enqueue(state, now, needsHumanNotice(state, incident, why), `cause is now ${verdict.cause}`);
    audit(cycle, {
      type: "needs-human",
      component: incident.component,
      incidentId: incident.id,
      detail: why,
    });
    return;
  }
  // Only a change of what the watchdog will do is news; 429 ↔ 500 churn is not.
  if (incident.quiet || causeClass(from) === to) return;
  const notice = updateNotice(state, incident, `now ${CAUSE_INFO[verdict.cause].title}`, [
    incident.detail,
    incident.hint ?? CAUSE_INFO[verdict.cause].hint,
  ]);
  enqueue(state, now, notice, `cause changed from ${from} to ${verdict.cause}`);
}

function resolveIncident(cycle: Cycle, incident: Incident): void {
  const { state, now } = cycle;
  state.incidents[incident.component] = undefined;
  // The next outage gets its own "paused" notice, but a flapping failure does not get one per flap.
  const flap = state.flapping[incident.component];
  const inFlapGroup = flap !== undefined && (flap.cause ?? incident.cause) === incident.cause;
  if (incident.component === "gateway" && !inFlapGroup) {
    state.remediation.budgetExhausted = undefined;
  }
  const lasted = formatDuration(now - incident.firstFailureAt);
  audit(cycle, {
    type: "incident-resolved",
    component: incident.component,
    incidentId: incident.id,
    detail: `${CAUSE_INFO[incident.cause].title}: resolved after ${lasted}`,
  });
  // Told once its first message is out or on its way; an incident nobody heard of ends quietly.
  const headWaiting = state.outbox.some((e) => e.notification.id === incident.headNoticeId);
  if (incident.announcedAt !== undefined || headWaiting) {
    const reason = `${state.counters[incident.component].consecutiveSuccesses} ok check(s) in a row`;
    enqueue(state, now, resolvedNotice(state, incident, now), reason);
  } else {
    note(cycle, `${incident.component}: resolved quietly (it was never announced)`);
  }
}

/**
 * Announces what a mute held back, and brings a flap that stays down out of quiet mode. Runs
 * before remediation so an incident's first message always precedes its updates.
 */
export function announcePending(cycle: Cycle, incident: Incident): void {
  const { state, now, config } = cycle;
  if (isMuted(state, now)) return;
  if (incident.headNoticeId === undefined) {
    announce(cycle, incident, "(held back by a mute until now)");
    return;
  }
  if (!incident.quiet || now - incident.openedAt < config.reminders.first) return;
  incident.quiet = false;
  // This notice is the loud news; reminders count from it, not from the quiet first message.
  incident.lastReminderAt = now;
  const notice = updateNotice(state, incident, "it stays down", [
    "It had been flapping; this time it stays down.",
    `Failing for ${formatDuration(now - incident.firstFailureAt)}: ${incident.detail}`,
  ]);
  notice.quiet = false;
  enqueue(state, now, notice, "a flap that stayed down for the first reminder interval");
}

export function reminderInterval(count: number, config: PolicyConfig): number {
  const { first, backoff, max } = config.reminders;
  return Math.min(first * backoff ** Math.max(0, count - 1), max);
}

/** Reminds with back-off while the incident is announced, not quiet, not acked, not muted. */
export function remind(cycle: Cycle, incident: Incident): void {
  const { state, now, config } = cycle;
  if (incident.quiet || incident.announcedAt === undefined || isMuted(state, now)) return;
  if (isAcked(incident.ackedUntil, now)) return;
  const next = incident.reminderCount + 1;
  const due = (incident.lastReminderAt ?? incident.announcedAt) + reminderInterval(next, config);
  if (now < due) return;
  incident.reminderCount = next;
  incident.lastReminderAt = now;
  enqueue(
    state,
    now,
    reminderNotice(state, incident, now),
    `reminder ${next}: open for ${formatDuration(now - incident.openedAt)} and not acked`,
  );
}

function startFlapping(cycle: Cycle, component: Component, cause: Cause): void {
  const { state, now, config } = cycle;
  state.flapping[component] = { since: now, cause };
  const group = recentOpens(state, component, cause);
  const notice = flappingNotice(state, component, cause, group, config);
  const detail = `${group.length} incidents of ${cause} within ${formatDuration(config.flapping.window)}: ${group.map((o) => o.incidentId).join(", ")}`;
  const flap = state.flapping[component];
  if (flap && enqueue(state, now, notice, detail)) flap.noticeId = notice.id;
  audit(cycle, { type: "flapping-started", component, detail: truncate(detail, LIMITS.text) });
}

/** Flapping ends once no incident of the component opened for a whole window and none is open. */
export function calmFlapping(cycle: Cycle, component: Component): void {
  const { state, now, config } = cycle;
  const flap = state.flapping[component];
  if (!flap || state.incidents[component]) return;
  const lastOpen = state.openLog.filter((o) => o.component === component).at(-1)?.at ?? flap.since;
  if (now - lastOpen < config.flapping.window) return;
  state.flapping[component] = undefined;
  if (flap.noticeId !== undefined) {
    const notice = flappingEndNotice(state, component, flap.since, now, flap.messageId);
    enqueue(state, now, notice, "no incident opened for a whole flapping window");
  }
  audit(cycle, {
    type: "flapping-ended",
    component,
    detail: `stable for ${formatDuration(now - lastOpen)}`,
  });
}
