import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod/mini";
import { act } from "../cloud/act";
import { hasBootstrap } from "../cloud/user-data";
import "../errors/zod-english";
import type { BoxConfig } from "../config";
import { confirmKeyboard, type RenderedMessage, renderReply } from "../notify/render";
import {
  ACTIONS,
  type BudgetKind,
  MANUAL_ACTIONS,
  type ManualAction,
  manualSpec,
} from "../policy/catalog";
import { budgetUsed, graceFor } from "../policy/remediation";
import { LIMITS } from "../policy/state";
import { formatDuration, operatorName } from "../policy/text";
import { type OperatorCommand, operatorSchema } from "../policy/types";
import { clip } from "../text/clip";
import { audit } from "./actions";
import { clock } from "./summary";
import type { Turn } from "./turn";

/**
 * Reboot and rebootstrap take two presses. The prompt message is the unit of idempotency: its
 * record (`confirm/<chat>/<message>` in the ledger) goes pending → started → done | failed, or
 * pending → cancelled, and only the press that moves it from pending to started acts. A second
 * press, a redelivered update or a forged one finds the record past pending and does nothing.
 *
 * Across function instances: OBS has no conditional PUT, so "moves it from pending" cannot be one
 * atomic step. The receiver is deployed with max instances 1 (and the webhook with one
 * connection), so presses normally meet in one instance, where `serialize` orders them. Should two
 * instances still run at once, each writes its claim (a fresh id) into the record, waits
 * `claimSettleMs`, and reads the record back: OBS reads after writes are consistent and the last
 * write wins, so only the instance whose claim is still there acts. Residual race: an instance
 * that read "pending" before the other's claim landed, and whose own write then took longer than
 * the settle time, overwrites a claim the other already confirmed; both would act. That needs an
 * OBS PUT slower than the settle time on top of two instances and two presses within it.
 */

const recordSchema = z.object({
  state: z.enum(["pending", "started", "done", "failed", "cancelled"]),
  box: z.string(),
  action: z.enum(MANUAL_ACTIONS),
  askedAt: z.number(),
  askedBy: operatorSchema,
  pressedAt: z.optional(z.number()),
  pressedBy: z.optional(operatorSchema),
  jobId: z.optional(z.string()),
  error: z.optional(z.string()),
  /** The press that moved it to started: a random id, read back before acting. */
  claim: z.optional(z.string()),
});
type ConfirmRecord = z.infer<typeof recordSchema>;

export function confirmKey(chatId: number, messageId: number): string {
  return `confirm/${chatId}/${messageId}`;
}

/** The id of the manual-action command: one prompt, one command, however often it is written. */
export function manualCommandId(chatId: number, messageId: number): string {
  return `tg-confirm-${chatId}-${messageId}`;
}

const titleOf = (action: ManualAction) => manualSpec(action).title;

/** Posts the prompt with its confirm/cancel buttons and records it as pending. */
export async function askConfirmation(
  turn: Turn,
  box: BoxConfig,
  action: ManualAction,
): Promise<void> {
  if (ACTIONS[action].needsBootstrap && !hasBootstrap(box)) {
    await turn.say(noBootstrap(box, action));
    return;
  }
  const prompt = await promptMessage(turn, box, action);
  const messageId = await turn.say(prompt);
  if (messageId === undefined) return;
  const record: ConfirmRecord = {
    state: "pending",
    box: box.name,
    action,
    askedAt: turn.now,
    askedBy: turn.by,
  };
  try {
    await turn.services.ledger.put(confirmKey(turn.chatId, messageId), record);
  } catch (error) {
    turn.log.error("confirmation prompt not recorded", { box: box.name, action, error });
    await turn.edit(
      messageId,
      renderReply({
        title: `❌ ${titleOf(action)} of ${box.name} cannot be confirmed now`,
        lines: [
          `The state store failed: ${(error as Error).message}`,
          `Send /${action} again later.`,
        ],
      }),
    );
  }
}

async function promptMessage(
  turn: Turn,
  box: BoxConfig,
  action: ManualAction,
): Promise<RenderedMessage> {
  const { policy } = turn.config;
  const kind: BudgetKind | undefined = ACTIONS[action].budget;
  const used = kind ? await budgetLine(turn, box, kind) : undefined;
  const what = manualSpec(action).confirm(box.serverId, formatDuration(graceFor(action, policy)));
  return renderReply({
    title: `⚠️ ${titleOf(action)} ${box.name}?`,
    lines: [
      ...what,
      ...(used ? [used] : []),
      `Asked by ${operatorName(turn.by)}; confirm within ${formatDuration(turn.settings.confirmTtlMs)}.`,
    ],
    keyboard: confirmKeyboard(box.name, action),
  });
}

async function budgetLine(
  turn: Turn,
  box: BoxConfig,
  kind: BudgetKind,
): Promise<string | undefined> {
  const { policy } = turn.config;
  try {
    const loaded = await turn.services.store.load(box.name);
    if (loaded.kind !== "found") return undefined;
    const used = budgetUsed(loaded.stored.policy, kind, turn.now, policy);
    return `${kind.charAt(0).toUpperCase()}${kind.slice(1)} in the last ${formatDuration(policy.budget.window)}: ${used} of ${policy.budget[kind]} (manual ones count too).`;
  } catch {
    return undefined;
  }
}

function noBootstrap(box: BoxConfig, action: ManualAction): RenderedMessage {
  return renderReply({
    title: `${titleOf(action)} of ${box.name} is not available`,
    lines: [
      "This box has no bootstrap user_data in the config or in OBS.",
      "Run `npm run infra -- deploy` again to store it, or use /reboot.",
    ],
  });
}

export interface Press {
  box: BoxConfig;
  action: ManualAction;
  queryId: string;
  /** The prompt message holding the button. */
  messageId: number;
}

/** A press of "Yes, reboot": acts only when it moves the prompt's record from pending. */
export async function confirmAction(turn: Turn, press: Press): Promise<void> {
  const key = confirmKey(turn.chatId, press.messageId);
  await turn.serialize(key, async () => {
    const record = await readRecord(turn, key);
    if (typeof record === "string") {
      await turn.answer(press.queryId, record);
      return;
    }
    const refusal = refusalFor(turn, record, press);
    if (refusal) {
      if (refusal.edit) await turn.edit(press.messageId, refusal.edit);
      await turn.answer(press.queryId, refusal.answer);
      return;
    }
    const started: ConfirmRecord = {
      ...record,
      state: "started",
      pressedAt: turn.now,
      pressedBy: turn.by,
      claim: randomUUID(),
    };
    if (!(await claim(turn, press, key, started))) return;
    if (!(await tellWatchdog(turn, press))) {
      await putQuietly(turn, key, {
        ...started,
        state: "failed",
        error: "the watchdog could not be told (command not stored); nothing was done",
      });
      await turn.answer(
        press.queryId,
        "Could not record the action for the watchdog (state store down): nothing done, press again later.",
      );
      return;
    }
    await perform(turn, press, key, started);
  });
}

/** Writes this press's claim, lets a concurrent one land, and acts only if the claim stayed. */
async function claim(
  turn: Turn,
  press: Press,
  key: string,
  started: ConfirmRecord,
): Promise<boolean> {
  try {
    await turn.services.ledger.put(key, started);
    await sleep(turn.settings.claimSettleMs);
  } catch (error) {
    turn.log.error("confirmation not recorded; not acting", { box: press.box.name, error });
    await turn.answer(
      press.queryId,
      "Could not record the confirmation (state store down): nothing done, press again later.",
    );
    return false;
  }
  const back = await readRecord(turn, key);
  if (typeof back === "string") {
    await turn.answer(press.queryId, back);
    return false;
  }
  if (back.claim === started.claim && back.state === "started") return true;
  turn.log.warn("another instance claimed this confirmation first; not acting", {
    box: press.box.name,
  });
  await turn.answer(press.queryId, "Already in progress: another press was first; see /status.");
  return false;
}

async function readRecord(turn: Turn, key: string): Promise<ConfirmRecord | string> {
  try {
    const parsed = recordSchema.safeParse(await turn.services.ledger.get(key));
    return parsed.success
      ? parsed.data
      : "This confirmation is unknown or expired: nothing done. Send the command again.";
  } catch (error) {
    turn.log.error("confirmation record unreadable; not acting", { key, error });
    return "Could not check this confirmation (state store down): nothing done, press again later.";
  }
}

function refusalFor(
  turn: Turn,
  record: ConfirmRecord,
  press: Press,
): { answer: string; edit?: RenderedMessage } | undefined {
  const label = titleOf(record.action);
  const who = record.pressedBy ? operatorName(record.pressedBy) : "someone";
  const at = record.pressedAt === undefined ? "" : ` at ${clock(record.pressedAt, turn.now)}`;
  switch (record.state) {
    case "done":
      return {
        answer: `Already done: ${label.toLowerCase()} requested by ${who}${at}${record.jobId ? ` (job ${record.jobId})` : ""}.`,
      };
    case "started":
      return { answer: `Already in progress since${at || " earlier"} (${who}); see /status.` };
    case "failed":
      return { answer: `That attempt failed; send /${record.action} again to retry.` };
    case "cancelled":
      return { answer: "This request was cancelled; send the command again." };
    case "pending":
      break;
  }
  if (record.box !== press.box.name || record.action !== press.action) {
    turn.log.warn("button does not match its prompt; ignored", {
      prompt: `${record.action} ${record.box}`,
      button: `${press.action} ${press.box.name}`,
    });
    return { answer: "This button does not match its prompt: nothing done." };
  }
  if (record.askedAt > turn.now + LIMITS.clockSkewMs) {
    // Only the receiver writes these records, dated by its own clock: a future one is forged.
    turn.log.warn("confirmation record dated in the future; ignored", { box: record.box });
    return {
      answer: "This confirmation is unknown or expired: nothing done. Send the command again.",
    };
  }
  if (turn.now - record.askedAt > turn.settings.confirmTtlMs) {
    return {
      answer: "Too late: this prompt expired. Send the command again.",
      edit: renderReply({
        title: `⌛ ${label} of ${record.box} was not confirmed in time`,
        lines: [`Send /${record.action} again if it is still needed.`],
      }),
    };
  }
  return undefined;
}

async function perform(
  turn: Turn,
  press: Press,
  key: string,
  started: ConfirmRecord,
): Promise<void> {
  const { box, action } = press;
  const label = titleOf(action);
  let jobId: string;
  try {
    const compute = await turn.services.compute();
    ({ jobId } = await act(action, box, compute, turn.services.store));
  } catch (error) {
    const message = (error as Error).message;
    turn.log.error("manual action failed", { box: box.name, action, error });
    await putQuietly(turn, key, { ...started, state: "failed", error: clip(message, 300) });
    await withdraw(turn, press);
    await audit(turn, box, {
      type: "remediation-failed",
      component: "gateway",
      detail: `manual ${action} via Telegram failed: ${message}`,
    });
    await turn.edit(
      press.messageId,
      renderReply({
        title: `❌ ${label} of ${box.name} failed`,
        lines: [message, `Nothing was done. Send /${action} again to retry.`],
      }),
    );
    await turn.answer(press.queryId, `${label} failed: see the message.`);
    return;
  }
  await putQuietly(turn, key, { ...started, state: "done", jobId });
  const told = await tellWatchdog(turn, press, { jobId });
  await audit(turn, box, {
    type: "manual-action",
    component: "gateway",
    detail: `${action} via Telegram (ECS job ${jobId})`,
    jobId,
    // The watchdog's history key for it: the budget rebuilt from the log counts it once.
    action,
    key: `manual:${manualCommandId(turn.chatId, press.messageId)}`,
  });
  turn.log.warn("manual action requested", { box: box.name, action, jobId });
  await turn.edit(press.messageId, doneMessage(turn, press, jobId, told));
  await turn.answer(press.queryId, `${label} of ${box.name} requested.`);
}

/**
 * The manual-action command makes the watchdog grant the grace period and count the budget. It is
 * written before the action (so an action is never left uncounted) and again, same id and object,
 * with the job id once ECS accepted it.
 */
async function tellWatchdog(
  turn: Turn,
  press: Press,
  extra: Pick<OperatorCommand, "jobId" | "failed"> = {},
): Promise<boolean> {
  const command: OperatorCommand = {
    id: manualCommandId(turn.chatId, press.messageId),
    kind: "manual-action",
    at: turn.now,
    by: turn.by,
    action: press.action,
    ...extra,
  };
  try {
    await turn.services.store.addCommand(press.box.name, command);
    return true;
  } catch (error) {
    turn.log.error("manual-action command not stored: the watchdog grants no grace", {
      box: press.box.name,
      error,
    });
    return false;
  }
}

/**
 * ECS refused: the command written before the action is replaced by one saying so. If the watchdog
 * already applied the first, the action stays counted: the safe side of a budget.
 */
async function withdraw(turn: Turn, press: Press): Promise<void> {
  await tellWatchdog(turn, press, { failed: true });
}

function doneMessage(turn: Turn, press: Press, jobId: string, told: boolean): RenderedMessage {
  const { policy } = turn.config;
  const grace = graceFor(press.action, policy);
  return renderReply({
    title: `🔄 ${titleOf(press.action)} of ${press.box.name} requested`,
    lines: [
      `By ${operatorName(turn.by)} at ${clock(turn.now, turn.now)}; ECS job ${jobId}.`,
      ...manualSpec(press.action).done,
      told
        ? `The watchdog waits ${formatDuration(grace)} before counting failures; /status shows progress.`
        : "⚠️ The watchdog could not be told (state store down): it may count failures during the boot.",
    ],
  });
}

async function putQuietly(turn: Turn, key: string, record: ConfirmRecord): Promise<void> {
  try {
    await turn.services.ledger.put(key, record);
  } catch (error) {
    // Left at "started": a later press is still refused, which is the safe side.
    turn.log.warn("confirmation record not updated", { key, state: record.state, error });
  }
}

/** "Cancel": the prompt is closed for good. */
export async function cancelAction(turn: Turn, press: Omit<Press, "action">): Promise<void> {
  const key = confirmKey(turn.chatId, press.messageId);
  await turn.serialize(key, async () => {
    const record = await readRecord(turn, key);
    if (typeof record === "string") {
      await turn.answer(press.queryId, record);
      return;
    }
    if (record.state !== "pending") {
      await turn.answer(press.queryId, "Too late to cancel: see the message.");
      return;
    }
    try {
      const cancelled = { ...record, state: "cancelled", pressedAt: turn.now, pressedBy: turn.by };
      await turn.services.ledger.put(key, cancelled);
    } catch (error) {
      // The prompt stays pending (and its buttons stay): better than a cancel that did not hold.
      turn.log.warn("cancel not recorded", { key, error });
      await turn.answer(press.queryId, "Could not cancel (state store down): press again later.");
      return;
    }
    await turn.edit(
      press.messageId,
      renderReply({
        title: `${titleOf(record.action)} of ${record.box} cancelled`,
        lines: [`By ${operatorName(turn.by)}. Nothing was done.`],
      }),
    );
    await turn.answer(press.queryId, "Cancelled.");
  });
}
