import type { PolicyConfig } from "../config/policy-schema";
import { CAUSE_INFO } from "./causes";
import { audit, type Cycle, isMuted } from "./context";
import {
  type BoxState,
  type Button,
  type Cause,
  type Component,
  type Incident,
  LIMITS,
  type Notification,
  type OpenRecord,
  type OutboxEntry,
} from "./state";
import { actionLabel, formatDuration, formatTime, truncate } from "./text";

/**
 * Every notification goes through the outbox: created once (its id is the transition), handed out
 * by decide() each cycle until an outcome says it was delivered.
 * A mute holds everything but "resolved": a recovery is always told.
 */
export function enqueue(
  state: BoxState,
  now: number,
  notification: Notification,
  reason: string,
): boolean {
  if (notification.type !== "resolved" && isMuted(state, now)) return false;
  if (state.outbox.some((entry) => entry.notification.id === notification.id)) return false;
  state.outbox.push({
    notification: clampNotification(notification),
    createdAt: now,
    sends: 0,
    reason: truncate(reason, LIMITS.text),
  });
  return true;
}

function clampNotification(notification: Notification): Notification {
  return {
    ...notification,
    title: truncate(notification.title),
    lines: notification.lines.slice(0, LIMITS.lines).map((line) => truncate(line)),
    ...(notification.edit
      ? {
          edit: {
            ...notification.edit,
            title: truncate(notification.edit.title),
            lines: notification.edit.lines.slice(0, LIMITS.lines).map((line) => truncate(line)),
          },
        }
      : {}),
  };
}

function buttonsFor(component: Component): Button[] {
  return component === "gateway" ? ["ack", "mute", "reboot", "status"] : ["ack", "mute", "status"];
}

function titleOf(incident: Incident): string {
  return CAUSE_INFO[incident.cause].title;
}

function stepsLine(incident: Incident): string | undefined {
  const taken = incident.steps.filter((step) => step.status !== "failed");
  if (taken.length === 0) return undefined;
  const list = taken.map((step) => actionLabel(step.action) + (step.by ? ` by ${step.by}` : ""));
  return `Actions taken: ${list.join(", ")}.`;
}

/** Where a follow-up goes: the incident's first message, once its id is known. */
function replyTo(incident: Incident): Pick<Notification, "replyTo" | "replyToMessageId"> {
  return incident.messageId === undefined
    ? { replyTo: incident.id }
    : { replyTo: incident.id, replyToMessageId: incident.messageId };
}

function compact(lines: (string | undefined)[]): string[] {
  return lines.filter((line): line is string => line !== undefined && line !== "");
}

export function openedNotice(state: BoxState, incident: Incident, extra?: string): Notification {
  const info = CAUSE_INFO[incident.cause];
  return {
    id: `${incident.id}:opened`,
    type: incident.component === "watchdog" ? "watchdog-network" : "opened",
    component: incident.component,
    incidentId: incident.id,
    severity: info.severity,
    title: `${info.title} on ${state.box}`,
    lines: compact([
      incident.detail,
      `Failing since ${formatTime(incident.firstFailureAt)}.`,
      incident.hint ?? info.hint,
      info.class === "human" ? nextStep(incident) : undefined,
      extra,
    ]),
    buttons: buttonsFor(incident.component),
  };
}

export function updateNotice(
  state: BoxState,
  incident: Incident,
  headline: string,
  lines: (string | undefined)[],
): Notification {
  incident.seq += 1;
  return {
    id: `${incident.id}:update:${incident.seq}`,
    type: "update",
    component: incident.component,
    incidentId: incident.id,
    severity: "info",
    title: `${titleOf(incident)} on ${state.box}: ${headline}`,
    lines: compact(lines),
    ...replyTo(incident),
  };
}

export function needsHumanNotice(state: BoxState, incident: Incident, why: string): Notification {
  return {
    id: `${incident.id}:needs-human`,
    type: "needs-human",
    component: incident.component,
    incidentId: incident.id,
    severity: "critical",
    title: `needs a human: ${titleOf(incident)} on ${state.box}`,
    lines: compact([why, incident.detail, stepsLine(incident), nextStep(incident)]),
    ...replyTo(incident),
    buttons: buttonsFor(incident.component),
  };
}

export function reminderNotice(state: BoxState, incident: Incident, now: number): Notification {
  const acked = incident.ackedBy ? undefined : "Ack to stop the reminders.";
  return {
    id: `${incident.id}:reminder:${incident.reminderCount}`,
    type: "reminder",
    component: incident.component,
    incidentId: incident.id,
    severity: CAUSE_INFO[incident.cause].severity,
    title: `still ${titleOf(incident)} on ${state.box}`,
    lines: compact([
      `Failing for ${formatDuration(now - incident.firstFailureAt)}: ${incident.detail}`,
      stepsLine(incident),
      incident.needsHumanAt !== undefined ? "Needs a human." : undefined,
      acked,
    ]),
    ...replyTo(incident),
    buttons: buttonsFor(incident.component),
  };
}

export function resolvedNotice(state: BoxState, incident: Incident, now: number): Notification {
  const lasted = formatDuration(now - incident.firstFailureAt);
  const headLines = compact([
    `State: resolved after ${lasted} (failing since ${formatTime(incident.firstFailureAt)}, resolved ${formatTime(now)}).`,
    incident.detail,
    stepsLine(incident),
  ]);
  return {
    id: `${incident.id}:resolved`,
    type: "resolved",
    component: incident.component,
    incidentId: incident.id,
    severity: "info",
    title: `resolved: ${titleOf(incident)} on ${state.box}`,
    lines: compact([`Resolved after ${lasted}.`, stepsLine(incident)]),
    ...replyTo(incident),
    edit: {
      ...(incident.messageId === undefined ? {} : { messageId: incident.messageId }),
      title: `resolved: ${titleOf(incident)} on ${state.box}`,
      lines: headLines,
    },
  };
}

/**
 * What a person does when the watchdog stops: for a box it may not repair, the console; for a
 * gateway that stays down, the service's log on the box (the unit infra/bootstrap installs).
 */
export const GATEWAY_UNIT = "openclaw-gateway";

export function nextStep(incident: Incident): string {
  if (incident.cause === "server-error" || incident.cause === "server-deleted") {
    return "Next: open the server in the ECS console (its status and events); recreate it with the infra scripts if it is gone.";
  }
  return `Next: ssh to the box, then \`systemctl status ${GATEWAY_UNIT}\` and \`journalctl -u ${GATEWAY_UNIT} -n 200 --no-pager\`.`;
}

export function budgetNotice(
  state: BoxState,
  incident: Incident,
  kind: "reboots" | "rebootstraps",
  used: number,
  nextAt: number | undefined,
  config: PolicyConfig,
  now: number,
): Notification {
  return {
    id: `${state.box}.budget.${kind}.${now}`,
    type: "budget-exhausted",
    component: incident.component,
    incidentId: incident.id,
    severity: "critical",
    title: `automatic remediation paused on ${state.box}: needs a human`,
    lines: compact([
      `${used} ${kind} in the last ${formatDuration(config.budget.window)} (budget ${kind === "reboots" ? config.budget.reboots : config.budget.rebootstraps}).`,
      nextAt !== undefined ? `The budget frees up at ${formatTime(nextAt)}.` : undefined,
      `Still failing: ${incident.detail}`,
      "Reboot by hand with the button, or fix the box and Ack.",
      nextStep(incident),
    ]),
    ...replyTo(incident),
    buttons: ["ack", "mute", "reboot", "status"],
  };
}

export function flappingNotice(
  state: BoxState,
  component: Component,
  cause: Cause,
  group: readonly OpenRecord[],
  config: PolicyConfig,
): Notification {
  const window = formatDuration(config.flapping.window);
  const title = CAUSE_INFO[cause].title;
  const since = group[0]?.at ?? 0;
  return {
    id: `${state.box}.${component}.flapping.${since}`,
    type: "flapping",
    component,
    severity: "warning",
    title: `${component} is flapping on ${state.box}: ${title}`,
    lines: [
      `${group.length} incidents of "${title}" within ${window}, opened at ${listTimes(group.map((o) => o.at))}.`,
      `Each one is still told quietly, with its resolved line; no reminders until none opens for ${window}. One that stays down for ${formatDuration(config.reminders.first)} is told loudly.`,
      `Incidents: ${group.map((o) => o.incidentId).join(", ")}`,
    ],
    buttons: buttonsFor(component),
  };
}

/** "12:03, 12:20 and 12:41 UTC" (dates only when the group spans days). */
function listTimes(times: readonly number[]): string {
  const all = times.map((at) => formatTime(at));
  const sameDay = new Set(all.map((t) => t.slice(0, 10))).size <= 1;
  const shown = all.map((t) => (sameDay ? t.slice(11, 16) : t.slice(0, 16)));
  const last = shown.pop();
  if (last === undefined) return "(none)";
  return `${shown.length > 0 ? `${shown.join(", ")} and ` : ""}${last} UTC`;
}

export function flappingEndNotice(
  state: BoxState,
  component: Component,
  since: number,
  now: number,
  messageId: number | undefined,
): Notification {
  const notification: Notification = {
    id: `${state.box}.${component}.flapping.${since}.end`,
    type: "flapping",
    component,
    severity: "info",
    title: `${component} stopped flapping on ${state.box}`,
    lines: [`Stable again after ${formatDuration(now - since)} of flapping.`],
    quiet: true,
  };
  if (messageId !== undefined) notification.replyToMessageId = messageId;
  return notification;
}

/** For the state adapter: a corrupt state object was moved aside and a fresh one started. */
export function stateResetNotice(box: string, now: number, reason: string): Notification {
  return {
    id: `${box}.state-reset.${now}`,
    type: "state-reset",
    component: "watchdog",
    severity: "warning",
    title: `watchdog state reset for ${box}`,
    lines: [
      truncate(reason),
      "Counters and open incidents start from zero; the old object was kept aside.",
    ],
  };
}

/** Hands out the outbox; a reply gets the incident's message id as soon as it is known. */
export function emitOutbox(cycle: Cycle): void {
  const { state, now } = cycle;
  const muted = isMuted(state, now);
  for (const entry of state.outbox) {
    const notification = entry.notification;
    if (muted && notification.type !== "resolved") continue;
    if (notification.replyTo !== undefined && notification.replyToMessageId === undefined) {
      const messageId = replyMessageId(state, notification);
      if (messageId !== undefined) notification.replyToMessageId = messageId;
    }
    cycle.actions.push({
      kind: "notify",
      notification: structuredClone(notification),
      resend: entry.sends > 0,
      reason: entry.sends > 0 ? resendReason(entry) : entry.reason,
    });
    entry.sends += 1;
  }
}

function resendReason(entry: OutboxEntry): string {
  const error = entry.lastError ? `; last error: ${entry.lastError}` : "";
  return `resend of an undelivered notification (${entry.sends} earlier attempt(s)${error})`;
}

function replyMessageId(state: BoxState, notification: Notification): number | undefined {
  const incident = state.incidents[notification.component];
  if (!incident || incident.id !== notification.replyTo) return undefined;
  return incident.messageId ?? state.flapping[notification.component]?.messageId;
}

/**
 * Keeps the outbox (and so the stored state) small during a long Telegram outage: stale updates
 * and reminders go first, then incidents nobody ever heard of that are already over; "opened" of
 * a still-open incident is never dropped.
 */
export function boundOutbox(cycle: Cycle): void {
  const { state } = cycle;
  const dropped: OutboxEntry[] = [];
  while (state.outbox.length > LIMITS.outboxSoft) {
    const stale = state.outbox.findIndex((e) =>
      ["update", "reminder"].includes(e.notification.type),
    );
    if (stale >= 0) {
      dropped.push(...state.outbox.splice(stale, 1));
      continue;
    }
    const over = unheardClosedIncident(state);
    if (over === undefined) break;
    dropped.push(...state.outbox.filter((e) => e.notification.incidentId === over));
    state.outbox = state.outbox.filter((e) => e.notification.incidentId !== over);
  }
  while (state.outbox.length > LIMITS.outboxHard) {
    const index = state.outbox.findIndex((e) => !isOpenHead(state, e));
    if (index < 0) break;
    dropped.push(...state.outbox.splice(index, 1));
  }
  for (const entry of dropped) {
    const n = entry.notification;
    const event = {
      type: "notification-dropped" as const,
      component: n.component,
      detail: `outbox full: dropped undelivered ${n.type} "${n.title}"`,
    };
    audit(cycle, n.incidentId ? { ...event, incidentId: n.incidentId } : event);
  }
}

function isOpenHead(state: BoxState, entry: OutboxEntry): boolean {
  const incident = state.incidents[entry.notification.component];
  return incident?.headNoticeId === entry.notification.id;
}

/** An incident whose "opened" and "resolved" both still wait: telling it late helps nobody. */
function unheardClosedIncident(state: BoxState): string | undefined {
  for (const entry of state.outbox) {
    const id = entry.notification.incidentId;
    if (entry.notification.type !== "resolved" || id === undefined) continue;
    const head = state.outbox.some(
      (e) =>
        e.notification.incidentId === id &&
        (e.notification.type === "opened" || e.notification.type === "watchdog-network"),
    );
    if (head) return id;
  }
  return undefined;
}
