import { act } from "../cloud/act";
import type { BoxConfig } from "../config";
import type { Action, BoxState, Notification, Outcome } from "../policy";
import type { Logger } from "../runtime/logger";
import type { CycleDeps } from "./ports";

type Notify = Extract<Action, { kind: "notify" }>;
type Remediate = Extract<Action, { kind: "remediate" }>;

/**
 * Carries out the policy's actions in order and reports each outcome. Stops starting new work
 * when the function is near its timeout: unsent notifications stay in the outbox, and an
 * unstarted remediation is reported failed so it keeps its budget and is asked for again.
 */
export async function perform(
  actions: readonly Action[],
  box: BoxConfig,
  state: BoxState,
  deps: CycleDeps,
  log: Logger,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const threadOf = threads(state);
  for (const action of actions) {
    if (action.kind === "audit") continue;
    const outOfTime = deps.remainingMs() < deps.config.runtime.safetyMargin;
    if (action.kind === "notify") {
      if (outOfTime) continue;
      const outcome = await notify(action, box, threadOf, deps, log);
      outcomes.push(outcome);
    } else if (outOfTime) {
      outcomes.push(failed(action, "not started: the function was near its timeout"));
    } else {
      outcomes.push(await remediate(action, box, deps, log));
    }
  }
  return outcomes;
}

/** Telegram message id per incident id, so replies thread under the incident's first message. */
function threads(state: BoxState): Map<string, number> {
  const map = new Map<string, number>();
  for (const incident of Object.values(state.incidents)) {
    if (incident?.messageId !== undefined) map.set(incident.id, incident.messageId);
  }
  return map;
}

async function notify(
  action: Notify,
  box: BoxConfig,
  threadOf: Map<string, number>,
  deps: CycleDeps,
  log: Logger,
): Promise<Outcome> {
  const notification: Notification = withHead(action.notification, threadOf);
  const replyTo =
    notification.replyToMessageId ??
    (notification.replyTo ? threadOf.get(notification.replyTo) : undefined);
  try {
    const sent = await deps.notifier.send({
      box: box.name,
      notification,
      resend: action.resend,
      ...(replyTo !== undefined ? { replyToMessageId: replyTo } : {}),
    });
    if (
      sent.messageId !== undefined &&
      notification.incidentId &&
      !threadOf.has(notification.incidentId)
    ) {
      threadOf.set(notification.incidentId, sent.messageId);
    }
    log.info("notified", { notification: notification.id, type: notification.type, via: sent.via });
    return {
      kind: "notified",
      notificationId: notification.id,
      ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
    };
  } catch (error) {
    const message = (error as Error).message;
    log.warn("notification not delivered; kept in the outbox", {
      notification: notification.id,
      error: message,
    });
    return { kind: "notify-failed", notificationId: notification.id, error: message };
  }
}

/** A "resolved" whose first message went out earlier in this cycle learns which one to rewrite. */
function withHead(notification: Notification, threadOf: Map<string, number>): Notification {
  const edit = notification.edit;
  if (!edit || edit.messageId !== undefined || notification.incidentId === undefined) {
    return notification;
  }
  const messageId = threadOf.get(notification.incidentId);
  return messageId === undefined ? notification : { ...notification, edit: { ...edit, messageId } };
}

async function remediate(
  action: Remediate,
  box: BoxConfig,
  deps: CycleDeps,
  log: Logger,
): Promise<Outcome> {
  try {
    const compute = await deps.compute();
    const { jobId } = await act(action.action, box, compute, deps.store);
    log.warn("remediation requested", { action: action.action, jobId, reason: action.reason });
    return {
      kind: "remediated",
      idempotencyKey: action.idempotencyKey,
      action: action.action,
      jobId,
    };
  } catch (error) {
    log.error("remediation failed", { action: action.action, error });
    return failed(action, (error as Error).message);
  }
}

function failed(action: Remediate, error: string): Outcome {
  return {
    kind: "remediate-failed",
    idempotencyKey: action.idempotencyKey,
    action: action.action,
    error,
  };
}
