import type { PolicyConfig } from "../config/policy-schema";
import { audit, type Cycle } from "./context";
import { addStep, recordHistory, startGrace } from "./remediation";
import { type BoxState, COMPONENTS, type Incident, LIMITS, PAUSE_LIMITS } from "./state";
import {
  actionLabel,
  formatDuration,
  formatTime,
  incidentRef,
  operatorName,
  truncate,
} from "./text";
import type { OperatorCommand } from "./types";

/**
 * Applies operator commands oldest first, each id once. Commands come from OBS, which the
 * watchdog does not own, so each is re-checked here as the receiver checked it: dated no later
 * than now (plus clock skew), not older than the window in which its id is remembered, and a
 * pause of the length the receiver allows. A refused command is audited and has no effect.
 */
export function applyCommands(cycle: Cycle, commands: readonly OperatorCommand[]): void {
  const { state, now } = cycle;
  forgetOldIds(state, now, cycle.config);
  const ordered = [...commands].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  for (const command of ordered) {
    if (isSeen(state, command.id)) continue;
    const refusal = refusalOf(cycle, command);
    remember(state, command.id, Math.min(command.at, now));
    if (refusal) ignored(cycle, command, refusal);
    else applyCommand(cycle, command);
  }
}

/** A command older than this is refused; its id is remembered at least this long. */
export function commandMaxAge(config: PolicyConfig): number {
  return Math.max(config.budget.window, DAY);
}

const DAY = 86_400_000;

function refusalOf(cycle: Cycle, command: OperatorCommand): string | undefined {
  const { state, now, config } = cycle;
  if (command.at > now + LIMITS.clockSkewMs) {
    return `dated ${formatDuration(command.at - now)} in the future (the receiver's clock or a forged object)`;
  }
  if (now - command.at > commandMaxAge(config)) {
    return `older than ${formatDuration(commandMaxAge(config))}`;
  }
  if (state.commandHorizon !== undefined && command.at <= state.commandHorizon) {
    return "older than the oldest command id still remembered";
  }
  if ((command.kind === "ack" || command.kind === "mute") && command.until !== undefined) {
    const length = command.until - command.at;
    if (length < PAUSE_LIMITS.minMs || length > PAUSE_LIMITS.maxMs) {
      return `a ${command.kind} of ${formatDuration(Math.max(0, length))} is outside ${formatDuration(PAUSE_LIMITS.minMs)} to ${formatDuration(PAUSE_LIMITS.maxMs)}`;
    }
  }
  return undefined;
}

function isSeen(state: BoxState, id: string): boolean {
  return (
    state.processedCommands.includes(id) || (state.seenCommands ?? []).some((c) => c.id === id)
  );
}

/**
 * Drops ids whose commands would now be refused by age anyway, and moves the legacy id list
 * (no times) into the timed one, dated now so each is kept for a whole window.
 */
function forgetOldIds(state: BoxState, now: number, config: PolicyConfig): void {
  const legacy = state.processedCommands.map((id) => ({ id, at: now }));
  state.processedCommands = [];
  const keepFrom = now - commandMaxAge(config) - LIMITS.clockSkewMs;
  const seen = [...(state.seenCommands ?? []), ...legacy].filter((c) => c.at >= keepFrom);
  state.seenCommands = seen;
  trim(state);
}

function remember(state: BoxState, id: string, at: number): void {
  state.seenCommands = [...(state.seenCommands ?? []), { id, at }];
  trim(state);
}

/** Keeps the list bounded: the oldest id goes, and the horizon moves up so it cannot replay. */
function trim(state: BoxState): void {
  const seen = [...(state.seenCommands ?? [])].sort((a, b) => a.at - b.at);
  while (seen.length > LIMITS.seenCommands) {
    const dropped = seen.shift();
    if (dropped) state.commandHorizon = Math.max(state.commandHorizon ?? 0, dropped.at);
  }
  state.seenCommands = seen;
}

function applyCommand(cycle: Cycle, command: OperatorCommand): void {
  const handlers = { ack, mute, unmute, "manual-action": manualAction } as const;
  handlers[command.kind](cycle, command);
}

function ack(cycle: Cycle, command: OperatorCommand): void {
  const { state, config } = cycle;
  const until = command.until ?? command.at + config.ackDefault;
  const open = COMPONENTS.filter(
    (c) => command.incidentComponent === undefined || command.incidentComponent === c,
  )
    .map((c) => state.incidents[c])
    .filter((incident): incident is Incident => incident !== undefined);
  // A button names its incident: pressed after that one ended, it must not ack the next one.
  const targets = open.filter(
    (incident) =>
      command.incidentRef === undefined || incidentRef(incident.id) === command.incidentRef,
  );
  if (targets.length === 0) {
    ignored(cycle, command, open.length > 0 ? "that incident is over" : "no open incident to ack");
    return;
  }
  for (const incident of targets) {
    incident.ackedUntil = until;
    incident.ackedBy = operatorName(command.by);
    audit(cycle, {
      type: "ack",
      component: incident.component,
      incidentId: incident.id,
      detail: `acked until ${formatTime(until)}: no reminders, no automatic actions`,
      by: command.by,
    });
  }
}

function mute(cycle: Cycle, command: OperatorCommand): void {
  const { state, config } = cycle;
  const until = command.until ?? command.at + config.muteDefault;
  const reason = truncate(command.reason ?? "no reason given", LIMITS.text);
  state.mute = { until, reason, by: operatorName(command.by), at: command.at };
  audit(cycle, {
    type: "mute",
    detail: `muted until ${formatTime(until)} (${reason}): only "resolved" is sent, no automatic actions`,
    by: command.by,
  });
}

function unmute(cycle: Cycle, command: OperatorCommand): void {
  const { state } = cycle;
  if (!state.mute) {
    ignored(cycle, command, "not muted");
    return;
  }
  state.mute = undefined;
  audit(cycle, {
    type: "unmute",
    detail: "notifications and automatic actions resume",
    by: command.by,
  });
}

/**
 * A reboot or rebootstrap done through the receiver: the box is booting (grace) and the action
 * counts against the same budget as automatic ones.
 */
function manualAction(cycle: Cycle, command: OperatorCommand): void {
  const { state, config } = cycle;
  const action = command.action;
  if (!action) {
    ignored(cycle, command, "manual-action without an action");
    return;
  }
  if (command.failed) {
    ignored(cycle, command, `the ${actionLabel(action)} was refused by ECS; nothing happened`);
    return;
  }
  const key = `manual:${command.id}`;
  const by = operatorName(command.by);
  recordHistory(state, { action, at: command.at, key, by });
  startGrace(state, action, command.at, key, config);
  state.remediation.streak = 0;
  state.ingress = {};
  const incident = state.incidents.gateway;
  if (incident) {
    addStep(incident, {
      action,
      at: command.at,
      key,
      status: "done",
      attempts: 1,
      by,
      ...(command.jobId ? { jobId: command.jobId } : {}),
    });
  }
  audit(cycle, {
    type: "manual-action",
    component: "gateway",
    ...(incident ? { incidentId: incident.id } : {}),
    detail: `${actionLabel(action)} by ${by}${command.jobId ? ` (job ${command.jobId})` : ""}; grace until ${formatTime(state.remediation.graceUntil ?? command.at)}`,
    by: command.by,
    action,
    key,
  });
}

function ignored(cycle: Cycle, command: OperatorCommand, why: string): void {
  audit(cycle, {
    type: "command-ignored",
    detail: `${command.kind} ${command.id}: ${why}`,
    by: command.by,
  });
}
