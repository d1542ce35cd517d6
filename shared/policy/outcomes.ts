import type { PolicyConfig } from "../config/policy-schema";
import { enqueue, updateNotice } from "./notifications";
import { graceFor } from "./remediation";
import { type BoxState, COMPONENTS, LIMITS } from "./state";
import { actionLabel, truncate } from "./text";
import type { Outcome } from "./types";

/**
 * Folds what happened to the actions of a cycle back into the state. Pure: returns a new state.
 * gatus' two asymmetries: an incident counts as announced only once its first message was
 * delivered; a failed "resolved" keeps waiting in the outbox but never reopens anything.
 */
export function applyOutcomes(
  state: BoxState,
  outcomes: readonly Outcome[],
  now: number,
  config: PolicyConfig,
): BoxState {
  const next = structuredClone(state);
  for (const outcome of outcomes) {
    switch (outcome.kind) {
      case "notified":
        delivered(next, outcome.notificationId, outcome.messageId, now);
        break;
      case "notify-failed":
        notDelivered(next, outcome.notificationId, outcome.error);
        break;
      case "remediated":
        remediated(next, outcome.idempotencyKey, outcome.jobId, now, config);
        break;
      case "remediate-failed":
        remediationFailed(next, outcome.idempotencyKey, outcome.error, now, config);
        break;
    }
  }
  return next;
}

function delivered(state: BoxState, id: string, messageId: number | undefined, now: number): void {
  const index = state.outbox.findIndex((entry) => entry.notification.id === id);
  const entry = state.outbox[index];
  if (!entry) return;
  state.outbox.splice(index, 1);
  const notification = entry.notification;
  const incident = state.incidents[notification.component];
  if (incident && incident.headNoticeId === id) {
    incident.announcedAt ??= now;
    if (messageId !== undefined) incident.messageId ??= messageId;
  }
  const flap = state.flapping[notification.component];
  if (flap && flap.noticeId === id && messageId !== undefined) flap.messageId ??= messageId;
  if (messageId === undefined || !isHead(notification.type)) return;
  // Replies already queued (e.g. "resolved" of an incident that is over) learn where to reply.
  for (const waiting of state.outbox) {
    const reply = waiting.notification;
    if (reply.replyTo !== notification.incidentId) continue;
    reply.replyToMessageId ??= messageId;
    if (reply.edit) reply.edit.messageId ??= messageId;
  }
}

function isHead(type: string): boolean {
  return type === "opened" || type === "watchdog-network";
}

function notDelivered(state: BoxState, id: string, error: string): void {
  const entry = state.outbox.find((e) => e.notification.id === id);
  if (entry) entry.lastError = truncate(error, LIMITS.text);
}

function findStep(state: BoxState, key: string) {
  for (const component of COMPONENTS) {
    const incident = state.incidents[component];
    const step = incident?.steps.find((s) => s.key === key);
    if (incident && step) return { incident, step };
  }
  return undefined;
}

function remediated(
  state: BoxState,
  key: string,
  jobId: string | undefined,
  now: number,
  config: PolicyConfig,
): void {
  const found = findStep(state, key);
  if (found) {
    found.step.status = "done";
    if (jobId !== undefined) found.step.jobId = jobId;
  }
  // The boot starts when the cloud accepted the request, not when it was asked for.
  if (state.remediation.graceKey === key && found) {
    const until = now + graceFor(found.step.action, config);
    state.remediation.graceUntil = Math.max(state.remediation.graceUntil ?? 0, until);
  }
}

/**
 * The cloud refused or could not be reached (ECS 5xx, throttling): nothing happened to the box, so
 * the action gives back its budget and grace and is asked for again next failing cycle.
 */
function remediationFailed(
  state: BoxState,
  key: string,
  error: string,
  now: number,
  config: PolicyConfig,
): void {
  state.history = state.history.filter((entry) => entry.key !== key);
  if (state.remediation.graceKey === key) {
    // Nothing happened to the box: a stalled gateway is still stalled, and for as long as before.
    state.ingress.pendingSince ??= state.remediation.stallSince;
    state.remediation.stallSince = undefined;
    state.remediation.graceUntil = undefined;
    state.remediation.graceAction = undefined;
    state.remediation.graceKey = undefined;
  }
  const found = findStep(state, key);
  if (!found || found.step.status === "failed") return;
  found.step.status = "failed";
  found.step.error = truncate(error, LIMITS.text);
  state.remediation.streak = Math.max(state.remediation.streak, config.failureThreshold);
  if (found.step.attempts > 1) return;
  const label = actionLabel(found.step.action);
  const notice = updateNotice(state, found.incident, `${label} failed`, [
    `The ${label} was not done: ${truncate(error, 150)}`,
    "It is asked for again on the next failing check.",
  ]);
  enqueue(state, now, notice, `${label} request failed`);
}
