import type { PolicyConfig } from "../config/policy-schema";
import { isRecent } from "./context";
import { stateResetNotice } from "./notifications";
import { budgetKindOf } from "./remediation";
import {
  type BoxState,
  type HistoryEntry,
  initialState,
  LIMITS,
  MANUAL_ACTIONS,
  type ManualAction,
  REMEDIATIONS,
  type Remediation,
} from "./state";
import { formatDuration, formatTime, operatorName, truncate } from "./text";

/** What the audit log says about the budget when the state that held it is lost. */
export type BudgetRecovery =
  | { kind: "rebuilt"; history: HistoryEntry[] }
  /** The log could not be read or is incomplete: the budget counts as spent. */
  | { kind: "unknown"; why: string };

/** The audit lines the budget can be rebuilt from (see StoredEvent). */
export interface BudgetEvent {
  type: string;
  at: number;
  action?: string | undefined;
  key?: string | undefined;
  by?: { userId: number; username?: string | undefined } | undefined;
}

/** The event types that carry budget history, for reading only those from the log. */
export const BUDGET_EVENT_TYPES = ["remediation-requested", "manual-action"] as const;

/**
 * The reboots and rebootstraps of the budget window, from the audit log: every request and every
 * manual action counts once per key (the receiver and the watchdog both log a manual one). A
 * request the cloud refused still counts: a "failed" line could be forged to buy reboots back,
 * and counting one too many is the safe side of a budget. A counted event without its action
 * (written before actions were logged) makes the log unusable: the budget then counts as spent.
 */
export function budgetFromEvents(
  events: readonly BudgetEvent[],
  now: number,
  config: PolicyConfig,
): BudgetRecovery {
  const byKey = new Map<string, HistoryEntry>();
  for (const event of events) {
    if (event.type !== "remediation-requested" && event.type !== "manual-action") continue;
    if (!isRecent(event.at, now, config.budget.window)) continue;
    const action = knownAction(event.action);
    if (action === undefined || typeof event.key !== "string" || event.key.length > 200) {
      return { kind: "unknown", why: `a ${event.type} event without its action or key` };
    }
    if (budgetKindOf(action) === undefined) continue;
    if (byKey.has(event.key)) continue;
    const entry: HistoryEntry = { action, at: event.at, key: event.key };
    if (event.type === "manual-action" && typeof event.by?.userId === "number") {
      entry.by = operatorName(event.by);
    }
    byKey.set(event.key, entry);
  }
  return { kind: "rebuilt", history: [...byKey.values()].sort((a, b) => a.at - b.at) };
}

function knownAction(action: string | undefined): Remediation | ManualAction | undefined {
  const all: readonly string[] = [...REMEDIATIONS, ...MANUAL_ACTIONS];
  return action !== undefined && all.includes(action)
    ? (action as Remediation | ManualAction)
    : undefined;
}

/**
 * A fresh state after the stored one could not be read (corrupt, or an unknown version): the
 * operators are told once, through the outbox like any other notification. The budget is not
 * reset with it (a truncated state must not buy more reboots): it is rebuilt from the audit log,
 * or, when that cannot be done, counted as spent for one window.
 */
export function resetState(
  box: string,
  now: number,
  reason: string,
  recovery: BudgetRecovery,
  config: PolicyConfig,
): BoxState {
  const state = initialState(box);
  state.history = recovery.kind === "rebuilt" ? capped(recovery.history) : spent(now, config);
  const notice = stateResetNotice(box, now, reason);
  notice.lines = [...notice.lines, truncate(budgetLine(state, recovery, now, config))];
  state.outbox.push({
    notification: notice,
    createdAt: now,
    sends: 0,
    reason: "the stored state could not be used",
  });
  return state;
}

function capped(history: HistoryEntry[]): HistoryEntry[] {
  const kind = (k: string) => history.filter((e) => budgetKindOf(e.action) === k);
  return [
    ...kind("reboots").slice(-LIMITS.historyPerKind),
    ...kind("rebootstraps").slice(-LIMITS.historyPerKind),
  ].sort((a, b) => a.at - b.at);
}

function spent(now: number, config: PolicyConfig): HistoryEntry[] {
  const fill = (action: "soft-reboot" | "rebootstrap", count: number) =>
    Array.from({ length: Math.min(count, LIMITS.historyPerKind) }, (_, i) => ({
      action,
      at: now,
      key: `state-reset:${now}:${action}:${i}`,
    }));
  return [
    ...fill("soft-reboot", config.budget.reboots),
    ...fill("rebootstrap", config.budget.rebootstraps),
  ];
}

function budgetLine(
  state: BoxState,
  recovery: BudgetRecovery,
  now: number,
  config: PolicyConfig,
): string {
  const window = formatDuration(config.budget.window);
  if (recovery.kind === "unknown") {
    return `The action budget could not be rebuilt from the audit log (${recovery.why}): it counts as spent until ${formatTime(now + config.budget.window)}; /reboot still works.`;
  }
  const count = (kind: string) => state.history.filter((e) => budgetKindOf(e.action) === kind);
  return `The action budget was rebuilt from the audit log: ${count("reboots").length} of ${config.budget.reboots} reboots and ${count("rebootstraps").length} of ${config.budget.rebootstraps} rebootstraps used in ${window}.`;
}
