import type { PolicyConfig } from "../config/policy-schema";
import { fitsOneMessage, type RenderedMessage, renderReply } from "../notify/render";
import { probedComponents } from "../policy/components";
import { budgetUsed } from "../policy/remediation";
import { type BoxState, COMPONENTS, type Incident } from "../policy/state";
import { formatDuration, formatTime, operatorName } from "../policy/text";
import { PROBE_INFO, PROBES, type Tone, toneOf } from "../probes/catalog";
import type { Observations, ProbeError, ProbeResult } from "../probes/types";
import type { AlertChannel, StoredEvent } from "../state/schema";
import { clip as clipText } from "../text/clip";
import type { CycleReport } from "../watchdog/cycle";

/**
 * Pure rendering of the receiver's replies: plain-text lines that renderReply escapes into
 * Telegram HTML. Times are UTC and derived from `now`, never from a clock.
 */

const HOUR = 3_600_000;
const DETAIL_MAX = 90;

/** Everything /status knows about one box; any part may be missing when its source failed. */
export interface BoxStatus {
  box: string;
  now: number;
  /** The dry-run diagnose; absent when it failed or ran out of time (see `problem`). */
  report?: CycleReport;
  problem?: string;
  /** The stored policy state, for mute, acks, grace and budget. */
  state?: BoxState;
  /** Recent audit events, newest first, covering at least the last 24 h when available. */
  events?: readonly StoredEvent[];
}

/** /status in one message (clipped by renderReply when it does not fit). */
export function renderStatus(
  statuses: readonly BoxStatus[],
  policy: PolicyConfig,
): RenderedMessage {
  return renderReply(fullStatus(statuses, policy, []));
}

function fullStatus(
  statuses: readonly BoxStatus[],
  policy: PolicyConfig,
  notes: readonly string[],
): { title: string; lines: string[] } {
  const only = statuses.length === 1 ? statuses[0] : undefined;
  const title = only ? `📋 ${only.box} · status` : `📋 Status of ${statuses.length} boxes`;
  const lines = [...notes];
  if (only)
    return {
      title,
      lines: [...lines, ...(notes.length > 0 ? [""] : []), ...statusLines(only, policy)],
    };
  for (const status of statuses) {
    if (lines.length > 0) lines.push("");
    lines.push(`▸ ${status.box}`, ...statusLines(status, policy));
  }
  return { title, lines };
}

/**
 * /status as Telegram can take it: one message when everything fits in 4,096 characters; else
 * one compact line per box (with "/status <box>" for the detail), over as many messages as it
 * takes, so no box is ever cut off. The alert chat's own trouble comes first.
 */
export function renderStatusMessages(
  statuses: readonly BoxStatus[],
  policy: PolicyConfig,
  channel?: AlertChannel,
): RenderedMessage[] {
  const notes = alertChannelLines(channel);
  const { title, lines } = fullStatus(statuses, policy, notes);
  if (statuses.length === 1 || fitsOneMessage(title, lines)) return [renderReply({ title, lines })];
  const compact = [
    ...notes,
    ...statuses.map(compactLine),
    "",
    "Send /status <box> for one box's detail.",
  ];
  const messages: string[][] = [[]];
  for (const line of compact) {
    const current = messages.at(-1) as string[];
    // Measured with the longest title a part can get ("… (99/99)").
    if (current.length > 0 && !fitsOneMessage(`${title} (99/99)`, [...current, line])) {
      messages.push([line]);
    } else current.push(line);
  }
  return messages.map((part, i) =>
    renderReply({
      title: messages.length > 1 ? `${title} (${i + 1}/${messages.length})` : title,
      lines: part,
    }),
  );
}

/** "▸ prod: 🔴 gateway down for 7 min · maas ok · telegram ok" */
function compactLine(status: BoxStatus): string {
  const observations = status.report?.observations;
  const open = status.report?.openIncidents ?? [];
  const incidents = open.map(
    (i) =>
      `🔴 ${i.component} ${i.cause} for ${formatDuration(status.now - (i.failingSince ?? i.openedAt))}`,
  );
  if (!observations) {
    return `▸ ${status.box}: ⚠️ no fresh check${incidents.length > 0 ? ` · ${incidents.join(" · ")}` : ""}`;
  }
  const probes = PROBES.filter((name) => PROBE_INFO[name].row === "always").flatMap((name) => {
    const result = observations[name];
    return result === undefined ? [] : [`${statusIcon(result.status)} ${name} ${result.status}`];
  });
  return `▸ ${status.box}: ${[...incidents, ...probes].join(" · ")}`;
}

/** What /status says about the alert chat itself, from the watchdog's record. */
export function alertChannelLines(channel: AlertChannel | undefined): string[] {
  const lines: string[] = [];
  if (channel?.failure) {
    lines.push(
      `⚠️ alert chat failing since ${formatTime(channel.failure.at)}: ${clip(channel.failure.error, 200)}`,
    );
  }
  if (channel?.chatId !== undefined) {
    lines.push(
      `ℹ️ the alert chat moved to ${channel.chatId} (from ${channel.migratedFrom ?? "?"}): set alerts.chatId to ${channel.chatId}`,
    );
  }
  return lines;
}

export function statusLines(status: BoxStatus, policy: PolicyConfig): string[] {
  const { report, state, now } = status;
  const lines: string[] = [];
  const observations = report?.observations;
  if (observations) {
    lines.push(...probeLines(observations));
  } else {
    lines.push(`⚠️ no fresh check: ${status.problem ?? "diagnose gave no observations"}`);
    if (state) lines.push(...storedVerdictLines(state));
  }
  lines.push(...incidentLines(status));
  if (state) lines.push(...pauseLines(state, now, policy));
  lines.push(...lastActionLines(status.events ?? [], now));
  lines.push(`24 h ${sparkline(status.events ?? [], now, openComponents(status))} now`);
  for (const error of report?.errors ?? []) lines.push(`⚠️ ${clip(error)}`);
  return lines;
}

type AnyProbe = ProbeResult<string> | ProbeError;

/** One row per probe: "always" ones say "not checked" when they did not run. */
function probeLines(observations: Observations): string[] {
  return PROBES.flatMap((name) => {
    const result = observations[name];
    if (result === undefined && PROBE_INFO[name].row === "when-checked") return [];
    return [probeLine(name, result)];
  });
}

export function probeLine(name: string, result: AnyProbe | undefined): string {
  if (!result) return `▫️ ${name}: not checked`;
  const latency = "latencyMs" in result ? ` · ${Math.round(result.latencyMs)} ms` : "";
  // The server probe's detail often just repeats its status.
  const repeats = result.detail.trim().endsWith(result.status);
  const detail = result.detail && !repeats ? ` · ${clip(result.detail)}` : "";
  return `${statusIcon(result.status)} ${name}: ${result.status}${latency}${detail}`;
}

const ICONS: Record<Tone, string> = { ok: "✅", waiting: "⏳", warning: "🟠", failing: "🔴" };

function statusIcon(status: string): string {
  return ICONS[toneOf(status)];
}

/** When no fresh probe came back: what the watchdog saw last, from the stored counters. */
function storedVerdictLines(state: BoxState): string[] {
  return probedComponents().map(({ component }) => {
    const counter = state.counters[component];
    const last = counter.lastStatus ?? "unknown";
    return `${statusIcon(last)} ${component}: ${last} at the last check`;
  });
}

function incidentLines(status: BoxStatus): string[] {
  const { state, report, now } = status;
  if (state) {
    const open = COMPONENTS.map((c) => state.incidents[c]).filter(
      (i): i is Incident => i !== undefined,
    );
    if (open.length === 0) return ["No open incident."];
    return open.map((incident) => {
      const acked =
        incident.ackedUntil !== undefined && incident.ackedUntil > now
          ? `, acked until ${clock(incident.ackedUntil, now)}${incident.ackedBy ? ` by ${incident.ackedBy}` : ""}`
          : "";
      return `🔴 open: ${incident.component} ${incident.cause} for ${formatDuration(now - incident.firstFailureAt)}${acked}`;
    });
  }
  const open = report?.openIncidents ?? [];
  if (!report) return [];
  if (open.length === 0) return ["No open incident."];
  return open.map(
    (i) =>
      `🔴 open: ${i.component} ${i.cause} for ${formatDuration(now - (i.failingSince ?? i.openedAt))}${i.acked ? ", acked" : ""}`,
  );
}

function pauseLines(state: BoxState, now: number, policy: PolicyConfig): string[] {
  const lines: string[] = [];
  if (state.mute && state.mute.until > now) {
    lines.push(
      `🔕 muted until ${clock(state.mute.until, now)} by ${state.mute.by} (${clip(state.mute.reason, 60)})`,
    );
  }
  const grace = state.remediation.graceUntil;
  if (grace !== undefined && grace > now) {
    lines.push(
      `⏳ grace until ${clock(grace, now)} after ${state.remediation.graceAction ?? "an action"}`,
    );
  }
  const reboots = budgetUsed(state, "reboots", now, policy);
  const rebootstraps = budgetUsed(state, "rebootstraps", now, policy);
  lines.push(
    `Budget (${formatDuration(policy.budget.window)}): reboots ${reboots}/${policy.budget.reboots}, rebootstraps ${rebootstraps}/${policy.budget.rebootstraps}`,
  );
  return lines;
}

const ACTION_TYPES: ReadonlySet<StoredEvent["type"]> = new Set([
  "remediation-done",
  "remediation-failed",
  "manual-action",
]);

function lastActionLines(events: readonly StoredEvent[], now: number): string[] {
  const actions = events.filter((e) => ACTION_TYPES.has(e.type)).slice(0, 3);
  if (actions.length === 0) return ["Last actions: none recorded."];
  return [
    "Last actions:",
    ...actions.map((e) => `· ${clock(e.at, now)} ${clip(e.detail, 70)}${byText(e)}`),
  ];
}

function openComponents(status: BoxStatus): string[] {
  if (status.state) return COMPONENTS.filter((c) => status.state?.incidents[c] !== undefined);
  return status.report?.openIncidents.map((i) => i.component) ?? [];
}

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * One character per hour, oldest first: "▁" when no incident was open that hour, higher bars for
 * a larger share of the hour with one open. Built from the audit log's opened/resolved events;
 * an incident still open with no "opened" event in the window counts from the window's start.
 */
export function sparkline(
  events: readonly StoredEvent[],
  now: number,
  openNow: readonly string[] = [],
  hours = 24,
): string {
  const start = now - hours * HOUR;
  const intervals: [number, number][] = [];
  const opened = new Map<string, number>();
  const chronological = [...events].filter((e) => e.at >= start && e.at <= now);
  chronological.sort((a, b) => a.at - b.at);
  for (const event of chronological) {
    const key = event.component ?? event.incidentId ?? "?";
    if (event.type === "incident-opened") {
      if (!opened.has(key)) opened.set(key, event.at);
    } else if (event.type === "incident-resolved") {
      intervals.push([opened.get(key) ?? start, event.at]);
      opened.delete(key);
    }
  }
  for (const component of openNow) if (!opened.has(component)) opened.set(component, start);
  for (const at of opened.values()) intervals.push([at, now]);

  let line = "";
  for (let hour = 0; hour < hours; hour++) {
    const from = start + hour * HOUR;
    const to = from + HOUR;
    let covered = 0;
    for (const [a, b] of intervals) covered += Math.max(0, Math.min(b, to) - Math.max(a, from));
    const share = Math.min(1, covered / HOUR);
    const level = share === 0 ? 0 : Math.min(BARS.length - 1, 1 + Math.floor(share * 6.999));
    line += BARS[level];
  }
  return line;
}

const HISTORY_TYPES: ReadonlySet<StoredEvent["type"]> = new Set([
  "incident-opened",
  "incident-resolved",
  "cause-changed",
  "remediation-done",
  "remediation-failed",
  "manual-action",
  "needs-human",
  "budget-exhausted",
  "flapping-started",
  "ack",
  "mute",
  "unmute",
  "state-reset",
]);

/** The newest incidents and actions, one line each. */
export function historyLines(events: readonly StoredEvent[], now: number, max = 12): string[] {
  const shown = events.filter((e) => HISTORY_TYPES.has(e.type)).slice(0, max);
  if (shown.length === 0) return ["Nothing recorded in the last 7 days."];
  return shown.map((e) => {
    const component = e.component ? ` ${e.component}` : "";
    return `${clock(e.at, now)} ${e.type}${component}: ${clip(e.detail, 80)}${byText(e)}`;
  });
}

export function renderHistory(
  histories: readonly { box: string; events: readonly StoredEvent[]; problem?: string }[],
  now: number,
): RenderedMessage {
  const sections = histories.map(({ box, events, problem }) => ({
    box,
    lines: problem ? [`⚠️ ${problem}`] : historyLines(events, now),
  }));
  const only = sections.length === 1 ? sections[0] : undefined;
  if (only) return renderReply({ title: `🗒 ${only.box} · history`, lines: only.lines });
  const lines: string[] = [];
  for (const section of sections) {
    if (lines.length > 0) lines.push("");
    lines.push(`▸ ${section.box}`, ...section.lines);
  }
  return renderReply({ title: "🗒 History", lines });
}

export function renderHelp(boxes: readonly string[], policy: PolicyConfig): RenderedMessage {
  const box = boxes.length > 1 ? " <box>" : "";
  const optionalBox = boxes.length > 1 ? " [box]" : "";
  return renderReply({
    title: "clawwatch commands",
    lines: [
      `/status${optionalBox} — check now: each component, open incidents, last actions, 24 h`,
      `/ack${box} [duration] — no reminders or automatic actions (default ${formatDuration(policy.ackDefault)})`,
      `/mute${box} <duration> [reason] — silence everything but "resolved"`,
      `/unmute${box} — end a mute`,
      `/reboot${box} — soft reboot (asks to confirm)`,
      `/rebootstrap${box} — reinstall the system disk and re-run the bootstrap; the data disk is kept (asks to confirm)`,
      `/history${optionalBox} — recent incidents and actions`,
      "Durations: 30m, 2h, 1h30m, 1d.",
      ...(boxes.length > 1 ? [`Boxes: ${boxes.join(", ")}.`] : []),
    ],
  });
}

/** "12:03" today, "11-24 12:03" on other days (UTC). */
export function clock(at: number, now: number): string {
  // Times come from OBS objects: one outside what a Date can hold must not break the reply.
  if (!isDateTime(at) || !isDateTime(now)) return "(invalid time)";
  const iso = new Date(at).toISOString();
  const time = iso.slice(11, 16);
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10)
    ? `${time} UTC`
    : `${iso.slice(5, 10)} ${time} UTC`;
}

function isDateTime(at: number): boolean {
  return Number.isFinite(at) && Math.abs(at) <= 8.64e15;
}

function byText(event: StoredEvent): string {
  return event.by ? ` (${operatorName(event.by)})` : "";
}

function clip(text: string, max = DETAIL_MAX): string {
  return clipText(text.replace(/\s+/g, " ").trim(), max);
}
