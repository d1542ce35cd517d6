import { hasBootstrap } from "../cloud/user-data";
import type { BoxConfig } from "../config";
import type { PolicyConfig } from "../config/policy-schema";
import {
  type Action,
  applyOutcomes,
  type BoxState,
  explain,
  explainLines,
  type OperatorCommand,
  type Outcome,
  STATE_VERSION,
  serverCheckDue,
} from "../policy";
import { ACTIONS } from "../policy/catalog";
import { probedComponents } from "../policy/components";
import type { Observations } from "../probes/types";
import type { PendingCommands } from "../state/port";
import type { PendingCommand, StoredEvent, StoredState } from "../state/schema";
import { perform } from "./perform";
import type { CycleDeps } from "./ports";
import { storedFrom } from "./recover";

export type CycleMode = "act" | "dry-run" | "timer";

export interface CycleReport {
  box: string;
  mode: CycleMode;
  /** Set when the cycle backed off because another one just finished. */
  skipped?: string;
  /** False when the cycle could not read its state (OBS down) and so decided nothing. */
  decided: boolean;
  observations?: Observations;
  /** The policy's verdicts, planned actions and notes, one line each (what diagnose prints). */
  plan: string[];
  outcomes: Outcome[];
  openIncidents: {
    component: string;
    cause: string;
    openedAt: number;
    /** What every message of the incident measures its duration from. */
    failingSince?: number;
    acked: boolean;
  }[];
  errors: string[];
  durationMs: number;
}

/**
 * One check of one box: load → observe → decide → act → save. A down target is data; only the
 * watchdog's own failures (OBS) end a cycle early, and then nothing destructive happens.
 */
export async function runCycle(
  box: BoxConfig,
  deps: CycleDeps,
  mode: CycleMode = "act",
): Promise<CycleReport> {
  const started = deps.clock();
  const log = deps.log.child({ box: box.name });
  const errors: string[] = [];
  const report = (fields: Partial<CycleReport>): CycleReport => ({
    box: box.name,
    mode,
    decided: false,
    plan: [],
    outcomes: [],
    openIncidents: [],
    errors,
    durationMs: deps.clock() - started,
    ...fields,
  });

  const loaded = await load(box, deps, errors);
  const since = started - (loaded?.stored.savedAt ?? 0);
  // A save stamped in the future (a clock that ran ahead) is no recent cycle: backing off from it
  // would silence the watchdog until that time comes.
  if (mode === "timer" && since >= 0 && since < deps.config.runtime.minInterval) {
    log.info("backing off: another cycle saved the state moments ago", { sinceMs: since });
    return report({ skipped: `another cycle finished ${since} ms ago` });
  }
  const observations = await deps.observe(box, planFor(loaded?.stored, deps, started));
  observations.watchdogErrors.push(...errors);
  if (!loaded) {
    log.error("cycle skipped: state unreadable, nothing decided", { errors });
    return report({ observations });
  }

  const policy = policyFor(box, deps.config.policy);
  const now = deps.clock();
  const screened = screenCommands(loaded.commands, deps.config.alerts.allowedUserIds);
  const explanation = explain(loaded.stored.policy, observations, now, policy, screened.accepted);
  const plan = explainLines(explanation);
  if (mode === "dry-run") {
    return report({
      decided: true,
      observations,
      plan,
      openIncidents: openIncidents(loaded.stored.policy, now),
    });
  }

  const outcomes = await perform(explanation.actions, box, explanation.state, deps, log);
  const next: StoredState = {
    version: STATE_VERSION,
    savedAt: deps.clock(),
    policy: applyOutcomes(explanation.state, outcomes, deps.clock(), policy),
    probes: {
      lastCompletionAt:
        observations.maas?.checked === "completion" && observations.maas.status === "ok"
          ? now
          : loaded.stored.probes.lastCompletionAt,
    },
  };
  await save(
    box,
    deps,
    next,
    loaded.commands,
    [
      ...refusedEvents(loaded.refused, screened.refused, box, now, deps.requestId),
      ...eventsOf(explanation.actions, outcomes, box, now, deps.requestId),
    ],
    errors,
    log,
  );
  log.info("cycle done", {
    ...statusFields(observations),
    actions: explanation.actions.filter((a) => a.kind !== "audit").length,
  });
  return report({
    decided: true,
    observations,
    plan,
    outcomes,
    openIncidents: openIncidents(next.policy, now),
  });
}

/** Each probed component's status, under the component's name. */
function statusFields(observations: Observations): Record<string, string | undefined> {
  return Object.fromEntries(
    probedComponents().map(({ component, probe }) => [component, observations[probe]?.status]),
  );
}

interface Loaded {
  stored: StoredState;
  commands: PendingCommand[];
  /** Objects under commands/ that were no valid command (already removed). */
  refused: PendingCommands["rejected"];
}

/**
 * Only an allowed operator's command is applied: the receiver checks the sender, but anything
 * that can write to commands/ could claim to be anyone, so the watchdog checks again.
 */
function screenCommands(commands: readonly PendingCommand[], allowed: readonly number[]) {
  const accepted: OperatorCommand[] = [];
  const refused: OperatorCommand[] = [];
  for (const { command } of commands) {
    (allowed.includes(command.by.userId) ? accepted : refused).push(command);
  }
  return { accepted, refused };
}

function refusedEvents(
  objects: PendingCommands["rejected"],
  commands: readonly OperatorCommand[],
  box: BoxConfig,
  now: number,
  requestId: string,
): StoredEvent[] {
  const base = { at: now, box: box.name, requestId, type: "command-ignored" as const };
  return [
    ...objects.map((o) => ({ ...base, detail: `${o.key}: ${o.reason}; removed, not applied` })),
    ...commands.map((c) => ({
      ...base,
      detail: `${c.kind} ${c.id}: user ${c.by.userId} is not in alerts.allowedUserIds; not applied`,
      by: c.by,
    })),
  ];
}

async function load(
  box: BoxConfig,
  deps: CycleDeps,
  errors: string[],
): Promise<Loaded | undefined> {
  const [state, pending] = await Promise.allSettled([
    deps.store.load(box.name),
    deps.store.pendingCommands(box.name),
  ]);
  if (state.status === "rejected") {
    errors.push(`OBS: ${(state.reason as Error).message}`);
    return undefined;
  }
  const commands = pending.status === "fulfilled" ? pending.value.commands : [];
  const refused = pending.status === "fulfilled" ? pending.value.rejected : [];
  if (pending.status === "rejected")
    errors.push(`OBS commands: ${(pending.reason as Error).message}`);
  if (refused.length > 0) {
    errors.push(`ignored malformed commands: ${refused.map((r) => r.key).join(", ")}`);
  }
  return { stored: await storedFrom(state.value, box, deps), commands, refused };
}

function planFor(stored: StoredState | undefined, deps: CycleDeps, now: number) {
  const policyState = stored?.policy;
  const last = stored?.probes.lastCompletionAt;
  return {
    serverDue: policyState ? serverCheckDue(policyState, deps.config.policy) : true,
    completionDue: last === undefined || now - last >= deps.config.probes.completionEvery,
  };
}

/** Without bootstrap user_data the rungs that reinstall from it cannot be taken; skip them. */
function policyFor(box: BoxConfig, policy: PolicyConfig): PolicyConfig {
  if (hasBootstrap(box)) return policy;
  return { ...policy, ladder: policy.ladder.filter((rung) => !ACTIONS[rung].needsBootstrap) };
}

async function save(
  box: BoxConfig,
  deps: CycleDeps,
  next: StoredState,
  commands: PendingCommand[],
  events: StoredEvent[],
  errors: string[],
  log: CycleDeps["log"],
): Promise<void> {
  try {
    await deps.store.save(box.name, next);
  } catch (error) {
    // Commands stay in OBS and are applied again next cycle: the policy remembers processed ids.
    errors.push(`OBS save: ${(error as Error).message}`);
    log.error("state not saved", { error });
    return;
  }
  const tasks: Promise<void>[] = [];
  if (events.length > 0) tasks.push(deps.store.appendEvents(box.name, events));
  if (commands.length > 0) tasks.push(deps.store.removeCommands(commands.map((c) => c.key)));
  for (const result of await Promise.allSettled(tasks)) {
    if (result.status === "rejected") {
      errors.push(`OBS: ${(result.reason as Error).message}`);
      log.warn("audit or command clean-up failed", { error: result.reason });
    }
  }
}

function eventsOf(
  actions: Action[],
  outcomes: Outcome[],
  box: BoxConfig,
  now: number,
  requestId: string,
): StoredEvent[] {
  const base = { at: now, box: box.name, requestId };
  const events: StoredEvent[] = [];
  for (const action of actions) {
    if (action.kind === "audit") events.push({ ...base, ...action.event });
  }
  for (const outcome of outcomes) {
    if (outcome.kind === "remediated") {
      events.push({
        ...base,
        type: "remediation-done",
        detail: `${outcome.action} accepted`,
        ...(outcome.jobId ? { jobId: outcome.jobId } : {}),
      });
    } else if (outcome.kind === "remediate-failed") {
      // Which request failed, by its key (the rebuilt budget still counts it: the safe side).
      events.push({
        ...base,
        type: "remediation-failed",
        detail: `${outcome.action}: ${outcome.error}`,
        action: outcome.action,
        key: outcome.idempotencyKey,
      });
    } else if (outcome.kind === "notify-failed") {
      events.push({ ...base, type: "notify-failed", detail: outcome.error });
    }
  }
  return events;
}

function openIncidents(state: BoxState, now: number): CycleReport["openIncidents"] {
  return Object.values(state.incidents)
    .filter((i) => i !== undefined)
    .map((i) => ({
      component: i.component,
      cause: i.cause,
      openedAt: i.openedAt,
      failingSince: i.firstFailureAt,
      acked: (i.ackedUntil ?? 0) > now,
    }));
}
