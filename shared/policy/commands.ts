import { audit, type Cycle } from "./context";
import { addStep, recordHistory, startGrace } from "./remediation";
import { COMPONENTS, type Incident, LIMITS } from "./state";
import { actionLabel, formatTime, operatorName, truncate } from "./text";
import type { OperatorCommand } from "./types";

/** Applies operator commands oldest first, each id once (the ids seen are remembered, bounded). */
export function applyCommands(cycle: Cycle, commands: readonly OperatorCommand[]): void {
  const { state } = cycle;
  const ordered = [...commands].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  for (const command of ordered) {
    if (state.processedCommands.includes(command.id)) continue;
    state.processedCommands = [...state.processedCommands, command.id].slice(
      -LIMITS.processedCommands,
    );
    applyCommand(cycle, command);
  }
}

function applyCommand(cycle: Cycle, command: OperatorCommand): void {
  const handlers = { ack, mute, unmute, "manual-action": manualAction } as const;
  handlers[command.kind](cycle, command);
}

function ack(cycle: Cycle, command: OperatorCommand): void {
  const { state, config } = cycle;
  const until = command.until ?? command.at + config.ackDefault;
  const targets = COMPONENTS.filter(
    (c) => command.incidentComponent === undefined || command.incidentComponent === c,
  )
    .map((c) => state.incidents[c])
    .filter((incident): incident is Incident => incident !== undefined);
  if (targets.length === 0) {
    ignored(cycle, command, "no open incident to ack");
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
  });
}

function ignored(cycle: Cycle, command: OperatorCommand, why: string): void {
  audit(cycle, {
    type: "command-ignored",
    detail: `${command.kind} ${command.id}: ${why}`,
    by: command.by,
  });
}
