import type { Observations } from "../probes/types";
import { formatSpan } from "../text/duration";
import { audit, type Cycle, note } from "./context";
import { enqueue } from "./notifications";
import { type BoxState, type Component, LIMITS, type Notification } from "./state";
import { actionLabel, formatDuration, formatTime } from "./text";
import type { Verdict } from "./types";
import { watchdogNetworkDown } from "./verdicts";

/**
 * The gateway's own repair path, as the watchdog sees it from outside. The bootstrap's unit has
 * `Restart=always`, `RestartSec=5`, `RestartPreventExitStatus=78`: systemd brings a crashed or
 * killed gateway back in ~5 s + its 25–35 s start, and leaves it down after exit 78. The
 * watchdog cannot ask systemd (no box agent), so it reads what /readyz shows:
 * - a restart it came back from by itself: the process start time (`startedAt`, from the
 *   authenticated /readyz `uptimeMs`) moved on between two ready checks with no action taken in
 *   between; without an uptime, a run of refused checks that ended ready by itself. Such restarts
 *   open no incident; `warnAfter` of them within `period` give one warning (OOM every few hours).
 * - an outage systemd does not heal: still failing past the restart window (incidents.ts waits
 *   for it before opening). Refused (nothing listens) while it answered in between = a crash loop.
 *   Refused and never a sign of life = it dies before it listens, or the unit failed (exit 78):
 *   from outside the two look the same, so both climb the ladder; the first reboot also re-runs
 *   the bootstrap's repair. If nothing has listened since that reboot either, more reboots will
 *   not help: "unit failed (config?)", a human's job.
 */

type SelfRestarts = NonNullable<BoxState["selfRestarts"]>;

function recordOf(state: BoxState): SelfRestarts {
  state.selfRestarts ??= { times: [] };
  return state.selfRestarts;
}

/** Keeps what the checks show of the gateway's restarts; raises and ends the warning. */
export function observeRestarts(cycle: Cycle, obs: Observations): void {
  const { state, now, config } = cycle;
  const record = recordOf(state);
  record.times = record.times.filter((at) => at <= now && now - at < config.selfRestart.period);
  if (!watchdogNetworkDown(obs)) see(cycle, record, obs);
  if (record.warning) {
    if (record.times.length === 0) endWarning(cycle, record);
    else record.warning.count = Math.max(record.warning.count, record.times.length);
  } else if (record.times.length >= config.selfRestart.warnAfter) openWarning(cycle, record);
}

function see(cycle: Cycle, record: SelfRestarts, obs: Observations): void {
  const { state, now, config } = cycle;
  const gateway = obs.gateway;
  // Nothing was seen this cycle: neither an answer nor an outage.
  if (gateway.status === "error") return;
  if (gateway.status !== "down" || gateway.httpStatus !== undefined) record.answeredAt = now;
  if (gateway.status !== "ok") {
    record.outageSince ??= now;
    if (gateway.refused) record.outageRefused = true;
    return;
  }
  const slack = config.selfRestart.uptimeSlack;
  // A start time from the future is a wrong clock or a wrong answer: not believed.
  const startedAt =
    gateway.startedAt !== undefined && gateway.startedAt >= 0 && gateway.startedAt <= now + slack
      ? gateway.startedAt
      : undefined;
  const restartedAt = restartSeen(record, startedAt, slack);
  if (restartedAt !== undefined) {
    if (actedSince(state, record.lastReadyAt ?? restartedAt)) {
      note(cycle, "gateway: restarted, by an action of the watchdog or an operator");
    } else {
      addRestart(cycle, record, Math.min(restartedAt, now));
    }
  }
  record.startedAt = startedAt;
  record.lastReadyAt = now;
  record.outageSince = undefined;
  record.outageRefused = undefined;
}

function restartSeen(
  record: SelfRestarts,
  startedAt: number | undefined,
  slack: number,
): number | undefined {
  if (startedAt !== undefined && record.startedAt !== undefined) {
    return startedAt > record.startedAt + slack ? startedAt : undefined;
  }
  // No uptime to compare: nothing listened, then it was ready again without help.
  return record.outageRefused && record.outageSince !== undefined ? record.outageSince : undefined;
}

/** Any reboot, rebootstrap or start (automatic or manual) since `since` explains a restart. */
function actedSince(state: BoxState, since: number): boolean {
  const steps = state.incidents.gateway?.steps ?? [];
  return (
    state.history.some((entry) => entry.at >= since) ||
    steps.some((step) => step.at >= since && step.status !== "failed")
  );
}

function addRestart(cycle: Cycle, record: SelfRestarts, at: number): void {
  record.times = [...record.times, at].sort((a, b) => a - b).slice(-LIMITS.restarts);
  note(cycle, `gateway: restarted by itself at ${formatTime(at)} (systemd); no action`);
}

function openWarning(cycle: Cycle, record: SelfRestarts): void {
  const { state, now, config } = cycle;
  const id = `${state.box}.gateway-restarts.${now}`;
  const count = record.times.length;
  const period = formatSpan(config.selfRestart.period);
  const notice: Notification = {
    id: `${id}:opened`,
    type: "opened",
    component: "gateway",
    incidentId: id,
    severity: "warning",
    title: `gateway restarted itself ${count} times in ${period} on ${state.box}`,
    lines: [
      `Back by itself each time (systemd Restart=always), so no action was taken. Restarts at ${record.times.map(hhmm).join(", ")} UTC.`,
      "Frequent restarts often mean it runs out of memory: on the box, journalctl -u openclaw-gateway and dmesg | grep -i oom.",
    ],
    buttons: ["mute", "status"],
  };
  record.warning = { id, openedAt: now, count };
  const detail = `${count} self-restarts within ${period}: ${record.times.map(hhmm).join(", ")} UTC`;
  if (enqueue(state, now, notice, detail)) record.warning.noticeId = notice.id;
  audit(cycle, { type: "incident-opened", component: "gateway", incidentId: id, detail });
}

function endWarning(cycle: Cycle, record: SelfRestarts): void {
  const { state, now, config } = cycle;
  const warning = record.warning;
  if (!warning) return;
  record.warning = undefined;
  const period = formatSpan(config.selfRestart.period);
  const detail = `no self-restart for ${period} (${warning.count} before)`;
  audit(cycle, {
    type: "incident-resolved",
    component: "gateway",
    incidentId: warning.id,
    detail,
  });
  if (warning.noticeId === undefined) return;
  enqueue(
    state,
    now,
    {
      id: `${warning.id}:resolved`,
      type: "resolved",
      component: "gateway",
      incidentId: warning.id,
      severity: "info",
      title: `gateway stable again on ${state.box}`,
      lines: [`No restart for ${period}; ${warning.count} restarts before.`],
      replyTo: warning.id,
    },
    detail,
  );
}

/** "14:05": the time of day (UTC) of one restart, for a list of them. */
function hhmm(at: number): string {
  return new Date(at).toISOString().slice(11, 16);
}

/**
 * Names a refused gateway's failure from what was seen since the outage began: a crash loop when
 * it answered in between, "unit failed" when nothing has listened since the last reboot either.
 * Hung (no answer) and 5xx stay "down". Runs after observeRestarts, before counting.
 */
export function classifyGateway(cycle: Cycle, verdict: Verdict, obs: Observations): Verdict {
  if (verdict.kind !== "fail" || verdict.cause !== "down" || !refused(obs)) {
    return verdict;
  }
  const { state, now, config } = cycle;
  const record = recordOf(state);
  const since = record.outageSince ?? now;
  const failedSince = unitFailedSince(cycle);
  if (failedSince !== undefined) {
    return {
      kind: "fail",
      cause: "unit-failed",
      detail: `nothing has listened since the ${failedSince} (down ${formatDuration(now - since)}): ${obs.gateway.detail}`,
    };
  }
  if (record.answeredAt !== undefined && record.answeredAt >= since) {
    return {
      kind: "fail",
      cause: "crash-loop",
      detail: `it answered at ${formatTime(record.answeredAt)} and died again (down since ${formatTime(since)}): ${obs.gateway.detail}`,
    };
  }
  if (now - since < config.selfRestart.window) return verdict;
  return {
    ...verdict,
    detail: `nothing has listened for ${formatDuration(now - since)}, longer than a systemd restart: it dies before it listens, or its unit failed (exit 78: a config problem). ${obs.gateway.detail}`,
  };
}

/**
 * The action after which nothing listened, when the ladder would now take its next rung (or the
 * incident already says unit failed). Undefined while there is no such evidence.
 */
function unitFailedSince(cycle: Cycle): string | undefined {
  const { state, now, config } = cycle;
  const incident = state.incidents.gateway;
  const step = incident?.steps.filter((s) => s.status !== "failed" && s.action !== "start").at(-1);
  if (!incident || !step) return undefined;
  const { graceUntil } = state.remediation;
  if (graceUntil !== undefined && now < graceUntil) return undefined;
  const answeredAt = state.selfRestarts?.answeredAt;
  if (answeredAt !== undefined && answeredAt >= step.at) return undefined;
  const due = state.remediation.streak + 1 >= config.failureThreshold;
  if (incident.cause !== "unit-failed" && !due) return undefined;
  return `${actionLabel(step.action)} at ${formatTime(step.at)}`;
}

/**
 * A gateway outage opens its incident only once it outlasted a systemd restart (see
 * `selfRestart.window`): until then, it may be back by itself. Hangs wait too: it costs nothing
 * at the default period, where the third failed check comes 2 min after the first.
 */
export function heldForRestart(cycle: Cycle, component: Component, verdict: Verdict): boolean {
  if (component !== "gateway" || verdict.kind !== "fail") return false;
  if (verdict.cause !== "down" && verdict.cause !== "crash-loop") return false;
  const { state, now, config } = cycle;
  const first = Math.min(
    state.counters.gateway.firstFailureAt ?? now,
    state.selfRestarts?.outageSince ?? now,
  );
  if (now - first >= config.selfRestart.window) return false;
  note(
    cycle,
    `gateway: down for ${formatDuration(now - first)}; waiting out a systemd restart (${formatSpan(config.selfRestart.window)}) before opening an incident`,
  );
  return true;
}

function refused(obs: Observations): boolean {
  return obs.gateway.status !== "error" && obs.gateway.refused === true;
}
