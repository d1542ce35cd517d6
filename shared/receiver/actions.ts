import type { BoxConfig } from "../config";
import { renderReply } from "../notify/render";
import type { Component } from "../policy/state";
import { formatDuration, incidentRef, operatorName } from "../policy/text";
import type { OperatorCommand } from "../policy/types";
import type { StoredEvent } from "../state/schema";
import { StatusTimeoutError } from "./errors";
import { type BoxStatus, clock, renderHistory, renderStatusMessages } from "./summary";
import type { Turn } from "./turn";

/**
 * The operator's non-destructive effects: each becomes one command object for the watchdog
 * (the only writer of state) plus one audit event saying who asked. Command ids come from the
 * update id, so a delivery that slips past de-duplication is still applied once.
 */

export interface Effect {
  ok: boolean;
  /** Short text for answerCallbackQuery (200 characters at most). */
  summary: string;
}

export async function ack(
  turn: Turn,
  box: BoxConfig,
  durationMs: number,
  component?: Component,
  incident?: string,
): Promise<Effect> {
  if (component && incident && (await isOver(turn, box, component, incident))) {
    turn.log.info("stale ack button: its incident is over", { box: box.name, component });
    return { ok: false, summary: "That incident is over: nothing acked." };
  }
  if (!incident && (await nothingOpen(turn, box, component))) {
    // Acked anyway it would tell the chat that actions are paused while the watchdog ignores it.
    const where = component ? `${box.name} ${component}` : box.name;
    turn.log.info("ack refused: nothing open", { box: box.name, component });
    await turn.say(
      renderReply({
        title: `Nothing open on ${where}: nothing acked`,
        lines: ["An ack applies to an open incident; automatic actions stay on."],
      }),
    );
    return { ok: false, summary: `Nothing open on ${where}: nothing acked.` };
  }
  const until = turn.now + durationMs;
  const what = component ? `${box.name} ${component}` : box.name;
  const command = baseCommand(turn, "ack", {
    until,
    ...(component ? { incidentComponent: component } : {}),
    ...(incident ? { incidentRef: incident } : {}),
  });
  const failed = await submit(
    turn,
    box,
    command,
    `ack via Telegram until ${clock(until, turn.now)}`,
  );
  if (failed) return failed;
  await turn.say(
    renderReply({
      title: `✅ ${what} acked for ${formatDuration(durationMs)}`,
      lines: [
        `By ${operatorName(turn.by)}, until ${clock(until, turn.now)}.`,
        "No reminders and no automatic actions until then; the watchdog applies it at its next check.",
      ],
    }),
  );
  return { ok: true, summary: `Acked ${what} for ${formatDuration(durationMs)}.` };
}

/**
 * True when the stored state shows that the button's incident is no longer the open one. A state
 * that cannot be read decides nothing here: the command carries the reference and the watchdog
 * refuses it there. One window is answered wrongly: the watchdog sends an incident's first message
 * moments before it saves the state that holds the incident, and a press within those moments is
 * told "over"; pressed again it acks.
 */
async function isOver(
  turn: Turn,
  box: BoxConfig,
  component: Component,
  ref: string,
): Promise<boolean> {
  try {
    const loaded = await turn.services.store.load(box.name);
    if (loaded.kind !== "found") return false;
    const open = loaded.stored.policy.incidents[component];
    return open === undefined || incidentRef(open.id) !== ref;
  } catch (error) {
    turn.log.warn("state unreadable: the watchdog checks the ack's incident", { error });
    return false;
  }
}

/** True when the stored state shows no open incident (of `component`, if given). */
async function nothingOpen(turn: Turn, box: BoxConfig, component?: Component): Promise<boolean> {
  try {
    const loaded = await turn.services.store.load(box.name);
    if (loaded.kind === "missing") return true;
    if (loaded.kind !== "found") return false;
    const incidents = loaded.stored.policy.incidents;
    return component
      ? incidents[component] === undefined
      : Object.values(incidents).every((i) => i === undefined);
  } catch (error) {
    turn.log.warn("state unreadable: the watchdog checks whether anything is open", { error });
    return false;
  }
}

export async function mute(
  turn: Turn,
  box: BoxConfig,
  durationMs: number,
  reason: string | undefined,
): Promise<Effect> {
  const until = turn.now + durationMs;
  const command = baseCommand(turn, "mute", { until, ...(reason ? { reason } : {}) });
  const detail = `mute via Telegram until ${clock(until, turn.now)}${reason ? ` (${reason})` : ""}`;
  const failed = await submit(turn, box, command, detail);
  if (failed) return failed;
  await turn.say(
    renderReply({
      title: `🔕 ${box.name} muted for ${formatDuration(durationMs)}`,
      lines: [
        `By ${operatorName(turn.by)}, until ${clock(until, turn.now)}${reason ? `: ${reason}` : ""}.`,
        'Only "resolved" is sent and no automatic action is taken until then; /unmute ends it.',
      ],
    }),
  );
  return { ok: true, summary: `Muted ${box.name} for ${formatDuration(durationMs)}.` };
}

export async function unmute(turn: Turn, box: BoxConfig): Promise<Effect> {
  const failed = await submit(turn, box, baseCommand(turn, "unmute", {}), "unmute via Telegram");
  if (failed) return failed;
  await turn.say(
    renderReply({
      title: `🔔 ${box.name} unmuted`,
      lines: [`By ${operatorName(turn.by)}; notifications resume at the watchdog's next check.`],
    }),
  );
  return { ok: true, summary: `Unmuted ${box.name}.` };
}

function baseCommand(
  turn: Turn,
  kind: OperatorCommand["kind"],
  fields: Partial<OperatorCommand>,
): OperatorCommand {
  return { id: `tg-${turn.updateId}`, kind, at: turn.now, by: turn.by, ...fields };
}

/** Writes the command, then the audit event; a failed command write is told to the operator. */
export async function submit(
  turn: Turn,
  box: BoxConfig,
  command: OperatorCommand,
  detail: string,
): Promise<Effect | undefined> {
  try {
    await turn.services.store.addCommand(box.name, command);
  } catch (error) {
    turn.log.error("operator command not stored", { box: box.name, kind: command.kind, error });
    await turn.say(
      renderReply({
        title: `❌ ${command.kind} for ${box.name} not recorded`,
        lines: [
          `The state store failed: ${(error as Error).message}`,
          "Nothing changed; try again in a minute.",
        ],
      }),
    );
    return { ok: false, summary: `Could not record the ${command.kind}: try again.` };
  }
  await audit(turn, box, { type: auditType(command), detail });
  turn.log.info("operator command stored", { box: box.name, kind: command.kind, id: command.id });
  return undefined;
}

function auditType(command: OperatorCommand): StoredEvent["type"] {
  return command.kind === "manual-action" ? "manual-action" : command.kind;
}

/** Appends one audit event by the current operator; a failure is logged only. */
export async function audit(
  turn: Turn,
  box: BoxConfig,
  event: Pick<StoredEvent, "type" | "detail"> & Partial<StoredEvent>,
): Promise<void> {
  const stored: StoredEvent = {
    at: turn.now,
    box: box.name,
    by: turn.by,
    requestId: turn.requestId,
    ...event,
  };
  try {
    await turn.services.store.appendEvents(box.name, [stored]);
  } catch (error) {
    turn.log.warn("audit event not written", { box: box.name, type: event.type, error });
  }
}

/** Runs the watchdog's dry-run for each box at once, bounded by the webhook's time. */
export async function status(turn: Turn, boxes: readonly BoxConfig[]): Promise<void> {
  // Leave time to post the answer; a nearly spent function still gets a short look.
  const budget = Math.min(turn.settings.statusTimeoutMs, Math.max(500, turn.remainingMs() - 3_000));
  const [statuses, channel] = await Promise.all([
    Promise.all(boxes.map((box) => boxStatus(turn, box, budget))),
    turn.services.store.loadAlertChannel().catch((error: unknown) => {
      turn.log.warn("status: alert channel record unreadable", { error });
      return undefined;
    }),
  ]);
  for (const message of renderStatusMessages(statuses, turn.config.policy, channel)) {
    await turn.say(message);
  }
}

async function boxStatus(turn: Turn, box: BoxConfig, budgetMs: number): Promise<BoxStatus> {
  const { store, diagnose } = turn.services;
  const [report, loaded, events] = await Promise.allSettled([
    // Through then(): a diagnose that throws at once is a rejected check, not a lost reply.
    withTimeout(
      Promise.resolve().then(() => diagnose(box)),
      budgetMs,
    ),
    store.load(box.name),
    store.recentEvents(box.name, { limit: 60, days: 2, now: turn.now }),
  ]);
  const result: BoxStatus = { box: box.name, now: turn.now };
  if (report.status === "fulfilled") result.report = report.value;
  else {
    result.problem = (report.reason as Error).message;
    turn.log.warn("status: diagnose failed", { box: box.name, error: report.reason });
  }
  if (loaded.status === "fulfilled" && loaded.value.kind === "found") {
    result.state = loaded.value.stored.policy;
  }
  if (events.status === "fulfilled") result.events = events.value;
  return result;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StatusTimeoutError(
            `the probes did not finish within ${formatDuration(ms)} (one is waiting for its timeout); the last check's results follow`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function history(turn: Turn, boxes: readonly BoxConfig[]): Promise<void> {
  const histories = await Promise.all(
    boxes.map(async (box) => {
      try {
        const events = await turn.services.store.recentEvents(box.name, {
          limit: 40,
          days: 7,
          now: turn.now,
        });
        return { box: box.name, events };
      } catch (error) {
        turn.log.warn("history: audit log unreadable", { box: box.name, error });
        return {
          box: box.name,
          events: [],
          problem: `audit log unreadable: ${(error as Error).message}`,
        };
      }
    }),
  );
  await turn.say(renderHistory(histories, turn.now));
}
