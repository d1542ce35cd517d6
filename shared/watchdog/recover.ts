import type { BoxConfig } from "../config";
import {
  type BoxState,
  BUDGET_EVENT_TYPES,
  type BudgetRecovery,
  budgetFromEvents,
  initialState,
  resetState,
  STATE_VERSION,
} from "../policy";
import type { LoadResult } from "../state/port";
import type { StoredEvent, StoredState } from "../state/schema";
import type { CycleDeps } from "./ports";

/**
 * The state a cycle starts from when none could be read. A truncated or deleted state.json must
 * not buy more reboots: its budget is rebuilt from the audit log (events/), or counts as spent
 * when the log cannot tell; the operators are told once (the "state reset" notice says which).
 */
export async function storedFrom(
  result: LoadResult,
  box: BoxConfig,
  deps: CycleDeps,
): Promise<StoredState> {
  const now = deps.clock();
  if (result.kind === "found") return result.stored;
  const recovery = await recoverBudget(box, deps, now);
  const reason =
    result.kind === "corrupt"
      ? `${result.reason}; the old object was kept as ${result.movedTo}`
      : lostState(recovery);
  if (reason !== undefined) {
    const policy = resetState(box.name, now, reason, recovery, deps.config.policy);
    return { version: STATE_VERSION, savedAt: 0, policy, probes: {} };
  }
  // A first run still counts what the receiver did before it (a /reboot right after deploy).
  const policy: BoxState = initialState(box.name);
  if (recovery.kind === "rebuilt") policy.history = recovery.history;
  return { version: STATE_VERSION, savedAt: 0, policy, probes: {} };
}

/**
 * A missing state is a first run, unless the audit log shows the watchdog's own actions: then
 * state.json was deleted, and the budget must not restart with it. A log that cannot be read at
 * all says nothing (a first run cannot be told apart), so that starts fresh.
 */
function lostState(recovery: BudgetRecovery): string | undefined {
  if (recovery.kind === "unknown") {
    return recovery.why === UNREADABLE_LOG ? undefined : `state.json is missing; ${recovery.why}`;
  }
  return recovery.history.some((entry) => !entry.key.startsWith("manual:"))
    ? "state.json is missing although the audit log shows the watchdog's recent actions"
    : undefined;
}

const UNREADABLE_LOG = "the audit log could not be read";

/** Far more than a window's counted actions (the state caps them at 40). */
const BUDGET_EVENTS_LIMIT = 200;

/** The lost state's budget, from the audit log; an unreadable or overfull log counts as spent. */
async function recoverBudget(
  box: BoxConfig,
  deps: CycleDeps,
  now: number,
): Promise<BudgetRecovery> {
  const window = deps.config.policy.budget.window;
  let events: StoredEvent[];
  try {
    events = await deps.store.recentEvents(box.name, {
      limit: BUDGET_EVENTS_LIMIT,
      days: Math.ceil(window / 86_400_000) + 1,
      now,
      types: BUDGET_EVENT_TYPES,
    });
  } catch (error) {
    deps.log.error("audit log unreadable: the budget cannot be rebuilt", { box: box.name, error });
    return { kind: "unknown", why: UNREADABLE_LOG };
  }
  if (events.length >= BUDGET_EVENTS_LIMIT) {
    return { kind: "unknown", why: `more than ${BUDGET_EVENTS_LIMIT} actions in the log` };
  }
  return budgetFromEvents(events, now, deps.config.policy);
}
