import * as z from "zod/mini";
import "../errors/zod-english";

/**
 * The policy's memory of one box, stored as JSON in OBS between cycles. Plain data only (epoch
 * milliseconds, no Dates or Maps), versioned, and bounded in size: every list has a cap below.
 */

export const COMPONENTS = ["gateway", "maas", "telegram", "watchdog"] as const;
export type Component = (typeof COMPONENTS)[number];

export const CAUSES = [
  // gateway: the box
  "down",
  "crash-loop",
  "ingress-stalled",
  "server-shutoff",
  "server-error",
  "server-deleted",
  // gateway: a human (systemd gave up on it: exit 78)
  "unit-failed",
  // gateway: alert only
  "misconfigured",
  "degraded",
  // maas
  "auth",
  "not-found",
  "rate-limited",
  "maas-down",
  // telegram
  "token-revoked",
  "telegram-down",
  // watchdog
  "network",
  "probe-unavailable",
] as const;
export type Cause = (typeof CAUSES)[number];

// The actions are listed once, in the catalog.
import { MANUAL_ACTIONS, REMEDIATIONS } from "./catalog";

export { MANUAL_ACTIONS, type ManualAction, REMEDIATIONS, type Remediation } from "./catalog";

export const NOTIFICATION_TYPES = [
  "opened",
  "update",
  "reminder",
  "resolved",
  "flapping",
  "needs-human",
  "budget-exhausted",
  "state-reset",
  "watchdog-network",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const BUTTONS = ["ack", "mute", "reboot", "status"] as const;
export type Button = (typeof BUTTONS)[number];

/** Caps that keep the stored state small whatever happens. */
export const LIMITS = {
  /** Legacy id list (before seenCommands); read once, then emptied. */
  processedCommands: 50,
  /**
   * Command ids remembered with their time. When full, the oldest is forgotten and the horizon
   * moves up to it: no command older than the horizon is applied, so a forgotten id cannot be
   * replayed however many commands came since.
   */
  seenCommands: 200,
  /** How far ahead of the watchdog's clock a stored time may be (two clocks never agree). */
  clockSkewMs: 2 * 60_000,
  /** Above this, old updates/reminders are dropped, then undelivered opened+resolved pairs. */
  outboxSoft: 12,
  /** Above this, anything but the "opened" of a still-open incident is dropped. */
  outboxHard: 20,
  historyPerKind: 20,
  restarts: 20,
  /** Opens remembered for flapping, per component (the largest `flapping.opens` allowed). */
  opensPerComponent: 20,
  steps: 8,
  text: 300,
  line: 200,
  lines: 8,
} as const;

/**
 * Ack and mute last at least a minute and at most a week: longer means "fix the config". The
 * receiver refuses other durations and the watchdog re-checks every command it reads.
 */
export const PAUSE_LIMITS = { minMs: 60_000, maxMs: 7 * 86_400_000 } as const;

const time = z.number().check(z.nonnegative());
const count = z.number().check(z.int(), z.nonnegative());
const integer = z.number().check(z.int());
/** A string of at most `max` characters. */
const text = (max: number) => z.string().check(z.maxLength(max));

export const counterSchema = z.object({
  consecutiveFailures: count,
  consecutiveSuccesses: count,
  firstFailureAt: z.optional(time),
  lastOkAt: z.optional(time),
  /** The last verdict: "ok", a cause, or "skipped". */
  lastStatus: z.optional(text(40)),
});
export type Counter = z.infer<typeof counterSchema>;

export const stepSchema = z.object({
  action: z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS]),
  at: time,
  key: z.string(),
  status: z.enum(["requested", "done", "failed"]),
  attempts: count,
  jobId: z.optional(z.string()),
  error: z.optional(text(LIMITS.text)),
  /** Set for manual actions: who did it. Automatic steps have none. */
  by: z.optional(z.string()),
});
export type Step = z.infer<typeof stepSchema>;

export const incidentSchema = z.object({
  id: z.string(),
  component: z.enum(COMPONENTS),
  cause: z.enum(CAUSES),
  openedAt: time,
  firstFailureAt: time,
  detail: text(LIMITS.text),
  hint: z.optional(text(LIMITS.text)),
  /** Id of the notification that announces it ("opened" or "watchdog-network"), once created. */
  headNoticeId: z.optional(z.string()),
  /** Set when the announcing notification was delivered: only then reminders start. */
  announcedAt: z.optional(time),
  messageId: z.optional(integer),
  /** Opened while its failure was flapping: told quietly, no reminders or cause updates. */
  quiet: z.optional(z.boolean()),
  ackedUntil: z.optional(time),
  ackedBy: z.optional(z.string()),
  lastReminderAt: z.optional(time),
  reminderCount: count,
  /** Sequence for update notification ids and remediation idempotency keys. */
  seq: count,
  steps: z.array(stepSchema).check(z.maxLength(LIMITS.steps)),
  needsHumanAt: z.optional(time),
});
export type Incident = z.infer<typeof incidentSchema>;

export const notificationSchema = z.object({
  /** Idempotency key: one notification per transition. */
  id: z.string(),
  type: z.enum(NOTIFICATION_TYPES),
  component: z.enum(COMPONENTS),
  incidentId: z.optional(z.string()),
  severity: z.enum(SEVERITIES),
  title: text(LIMITS.line),
  /** Plain text facts; rendering (HTML) is the notifier's job. */
  lines: z.array(text(LIMITS.line)).check(z.maxLength(LIMITS.lines)),
  /** Incident whose message this one replies to. */
  replyTo: z.optional(z.string()),
  /** Telegram message id to reply to, filled in once the incident's first message was delivered. */
  replyToMessageId: z.optional(integer),
  buttons: z.optional(z.array(z.enum(BUTTONS))),
  /**
   * Sent with or without sound whatever alerts.quietTypes says: the opened alert of an incident
   * in a flap group is quiet, "it stays down" after a flap is loud.
   */
  quiet: z.optional(z.boolean()),
  /**
   * "resolved": what the incident's first message becomes (state and duration, no buttons), so
   * a stale Ack cannot be pressed there. `messageId` is that message, once known.
   */
  edit: z.optional(
    z.object({
      messageId: z.optional(integer),
      title: text(LIMITS.line),
      lines: z.array(text(LIMITS.line)).check(z.maxLength(LIMITS.lines)),
    }),
  ),
});
export type Notification = z.infer<typeof notificationSchema>;

export const outboxEntrySchema = z.object({
  notification: notificationSchema,
  createdAt: time,
  /** How often decide() handed it out; > 0 means the next emission is a resend. */
  sends: count,
  reason: text(LIMITS.text),
  lastError: z.optional(text(LIMITS.text)),
});
export type OutboxEntry = z.infer<typeof outboxEntrySchema>;

export const historyEntrySchema = z.object({
  action: z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS]),
  at: time,
  key: z.string(),
  by: z.optional(z.string()),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const openRecordSchema = z.object({
  component: z.enum(COMPONENTS),
  cause: z.enum(CAUSES),
  at: time,
  incidentId: z.string().check(z.maxLength(120)),
});
export type OpenRecord = z.infer<typeof openRecordSchema>;

/** One entry per component: a component added to COMPONENTS gets its key here by itself. */
const perComponent = <T extends z.ZodMiniType>(schema: T) =>
  z.object(Object.fromEntries(COMPONENTS.map((c) => [c, schema])) as Record<Component, T>);

/** The shape of the stored state; shared/state/migrate.ts brings older objects up to it. */
export const STATE_VERSION = 2;

export const boxStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  box: z.string().check(z.minLength(1)),
  /** Cycles decided so far (the probe runner shows the server every Nth one). */
  cycle: count,
  counters: perComponent(counterSchema),
  incidents: perComponent(z.optional(incidentSchema)),
  remediation: z.object({
    /** Consecutive counted gateway failures whose cause is the box (down, stalled, shut off). */
    streak: count,
    graceUntil: z.optional(time),
    graceAction: z.optional(z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS])),
    /** Key of the action that set the grace, so a failed request can take it back. */
    graceKey: z.optional(z.string()),
    /** The ingress-stall clock the last request reset; a refused request puts it back. */
    stallSince: z.optional(time),
    budgetExhausted: z.optional(z.object({ kind: z.enum(["reboots", "rebootstraps"]), at: time })),
  }),
  /** Reboots and rebootstraps (automatic and manual) within the budget window. */
  history: z.array(historyEntrySchema).check(z.maxLength(LIMITS.historyPerKind * 2)),
  /**
   * Recent opens with their cause, oldest first: flapping is the same failure recurring, so it is
   * counted per component and cause.
   */
  openLog: z
    .array(openRecordSchema)
    .check(z.maxLength(LIMITS.opensPerComponent * COMPONENTS.length)),
  flapping: perComponent(
    z.optional(
      z.object({
        since: time,
        /** The recurring failure; absent in states saved before flapping was counted per cause. */
        cause: z.optional(z.enum(CAUSES)),
        noticeId: z.optional(z.string()),
        messageId: z.optional(integer),
      }),
    ),
  ),
  mute: z.optional(z.object({ until: time, reason: text(LIMITS.text), by: z.string(), at: time })),
  /**
   * The ingress-stall clock: since when Telegram has reported pending updates without the count
   * falling (a fall means the gateway confirmed some), and the count it reported last.
   */
  ingress: z.object({ pendingSince: z.optional(time), lastCount: z.optional(count) }),
  /** What the watchdog saw of systemd restarting the gateway (restarts.ts); absent until then. */
  selfRestarts: z.optional(
    z.object({
      /** The gateway's start time at its last ready check (probe's startedAt). */
      startedAt: z.optional(time),
      lastReadyAt: z.optional(time),
      /** The current run of not-ready checks: since when, whether one was refused. */
      outageSince: z.optional(time),
      outageRefused: z.optional(z.boolean()),
      /** The last time the gateway answered HTTP at all (booting counts): a sign of life. */
      answeredAt: z.optional(time),
      /** Restarts it came back from by itself, within the warning period. */
      times: z.array(time).check(z.maxLength(LIMITS.restarts)),
      /** The open "restarting itself" warning. */
      warning: z.optional(
        z.object({
          id: z.string(),
          openedAt: time,
          count: count,
          noticeId: z.optional(z.string()),
        }),
      ),
    }),
  ),
  outbox: z.array(outboxEntrySchema),
  processedCommands: z.array(z.string()).check(z.maxLength(LIMITS.processedCommands)),
  /** Applied or refused command ids with their `at`, kept for as long as a replay could apply. */
  seenCommands: z.optional(
    z
      .array(z.object({ id: z.string().check(z.maxLength(80)), at: time }))
      .check(z.maxLength(LIMITS.seenCommands)),
  ),
  /** Commands dated before this are refused (their ids may have been forgotten). */
  commandHorizon: z.optional(time),
});
export type BoxState = z.infer<typeof boxStateSchema>;

function byComponent<T>(make: () => T): Record<Component, T> {
  return Object.fromEntries(COMPONENTS.map((c) => [c, make()])) as Record<Component, T>;
}

function emptyCounter(): Counter {
  return { consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

export function initialState(box: string): BoxState {
  return {
    version: STATE_VERSION,
    box,
    cycle: 0,
    counters: byComponent(emptyCounter),
    incidents: {},
    remediation: { streak: 0 },
    history: [],
    openLog: [],
    flapping: {},
    ingress: {},
    outbox: [],
    processedCommands: [],
  };
}
