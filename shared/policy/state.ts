import { z } from "zod";

/**
 * The policy's memory of one box, stored as JSON in OBS between cycles. Plain data only (epoch
 * milliseconds, no Dates or Maps), versioned, and bounded in size: every list has a cap below.
 */

export const COMPONENTS = ["gateway", "maas", "telegram", "watchdog"] as const;
export type Component = (typeof COMPONENTS)[number];

export const CAUSES = [
  // gateway: the box
  "down",
  "ingress-stalled",
  "server-shutoff",
  "server-error",
  "server-deleted",
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
] as const;
export type Cause = (typeof CAUSES)[number];

export const REMEDIATIONS = ["start", "soft-reboot", "hard-reboot", "rebootstrap"] as const;
export type Remediation = (typeof REMEDIATIONS)[number];

/** What an operator did by hand through the receiver. */
export const MANUAL_ACTIONS = ["reboot", "rebootstrap"] as const;
export type ManualAction = (typeof MANUAL_ACTIONS)[number];

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
  processedCommands: 50,
  /** Above this, old updates/reminders are dropped, then undelivered opened+resolved pairs. */
  outboxSoft: 12,
  /** Above this, anything but the "opened" of a still-open incident is dropped. */
  outboxHard: 20,
  historyPerKind: 20,
  steps: 8,
  text: 300,
  line: 200,
  lines: 8,
} as const;

const time = z.number().nonnegative();
const count = z.number().int().nonnegative();

export const counterSchema = z.object({
  consecutiveFailures: count,
  consecutiveSuccesses: count,
  firstFailureAt: time.optional(),
  lastOkAt: time.optional(),
  /** The last verdict: "ok", a cause, or "skipped". */
  lastStatus: z.string().max(40).optional(),
});
export type Counter = z.infer<typeof counterSchema>;

export const stepSchema = z.object({
  action: z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS]),
  at: time,
  key: z.string(),
  status: z.enum(["requested", "done", "failed"]),
  attempts: count,
  jobId: z.string().optional(),
  error: z.string().max(LIMITS.text).optional(),
  /** Set for manual actions: who did it. Automatic steps have none. */
  by: z.string().optional(),
});
export type Step = z.infer<typeof stepSchema>;

export const incidentSchema = z.object({
  id: z.string(),
  component: z.enum(COMPONENTS),
  cause: z.enum(CAUSES),
  openedAt: time,
  firstFailureAt: time,
  detail: z.string().max(LIMITS.text),
  hint: z.string().max(LIMITS.text).optional(),
  /** Id of the notification that announces it ("opened" or "watchdog-network"), once created. */
  headNoticeId: z.string().optional(),
  /** Set when the announcing notification was delivered: only then reminders start. */
  announcedAt: time.optional(),
  messageId: z.number().int().optional(),
  /** Opened while its component was flapping: no per-flap messages. */
  quiet: z.boolean().optional(),
  ackedUntil: time.optional(),
  ackedBy: z.string().optional(),
  lastReminderAt: time.optional(),
  reminderCount: count,
  /** Sequence for update notification ids and remediation idempotency keys. */
  seq: count,
  steps: z.array(stepSchema).max(LIMITS.steps),
  needsHumanAt: time.optional(),
});
export type Incident = z.infer<typeof incidentSchema>;

export const notificationSchema = z.object({
  /** Idempotency key: one notification per transition. */
  id: z.string(),
  type: z.enum(NOTIFICATION_TYPES),
  component: z.enum(COMPONENTS),
  incidentId: z.string().optional(),
  severity: z.enum(SEVERITIES),
  title: z.string().max(LIMITS.line),
  /** Plain text facts; rendering (HTML) is the notifier's job. */
  lines: z.array(z.string().max(LIMITS.line)).max(LIMITS.lines),
  /** Incident whose message this one replies to. */
  replyTo: z.string().optional(),
  /** Telegram message id to reply to, filled in once the incident's first message was delivered. */
  replyToMessageId: z.number().int().optional(),
  buttons: z.array(z.enum(BUTTONS)).optional(),
});
export type Notification = z.infer<typeof notificationSchema>;

export const outboxEntrySchema = z.object({
  notification: notificationSchema,
  createdAt: time,
  /** How often decide() handed it out; > 0 means the next emission is a resend. */
  sends: count,
  reason: z.string().max(LIMITS.text),
  lastError: z.string().max(LIMITS.text).optional(),
});
export type OutboxEntry = z.infer<typeof outboxEntrySchema>;

export const historyEntrySchema = z.object({
  action: z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS]),
  at: time,
  key: z.string(),
  by: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

const perComponent = <T extends z.ZodType>(schema: T) =>
  z.object({ gateway: schema, maas: schema, telegram: schema, watchdog: schema });

export const boxStateSchema = z.object({
  version: z.literal(1),
  box: z.string().min(1),
  /** Cycles decided so far (the probe runner shows the server every Nth one). */
  cycle: count,
  counters: perComponent(counterSchema),
  incidents: perComponent(incidentSchema.optional()),
  remediation: z.object({
    /** Consecutive counted gateway failures whose cause is the box (down, stalled, shut off). */
    streak: count,
    graceUntil: time.optional(),
    graceAction: z.enum([...REMEDIATIONS, ...MANUAL_ACTIONS]).optional(),
    /** Key of the action that set the grace, so a failed request can take it back. */
    graceKey: z.string().optional(),
    budgetExhausted: z.object({ kind: z.enum(["reboots", "rebootstraps"]), at: time }).optional(),
  }),
  /** Reboots and rebootstraps (automatic and manual) within the budget window. */
  history: z.array(historyEntrySchema).max(LIMITS.historyPerKind * 2),
  /** Recent incident opens per component, for flapping. */
  opens: perComponent(z.array(time).max(20)),
  flapping: perComponent(
    z
      .object({
        since: time,
        noticeId: z.string().optional(),
        messageId: z.number().int().optional(),
      })
      .optional(),
  ),
  mute: z
    .object({ until: time, reason: z.string().max(LIMITS.text), by: z.string(), at: time })
    .optional(),
  ingress: z.object({ pendingSince: time.optional() }),
  outbox: z.array(outboxEntrySchema),
  processedCommands: z.array(z.string()).max(LIMITS.processedCommands),
});
export type BoxState = z.infer<typeof boxStateSchema>;

function emptyCounter(): Counter {
  return { consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

export function initialState(box: string): BoxState {
  return {
    version: 1,
    box,
    cycle: 0,
    counters: {
      gateway: emptyCounter(),
      maas: emptyCounter(),
      telegram: emptyCounter(),
      watchdog: emptyCounter(),
    },
    incidents: { gateway: undefined, maas: undefined, telegram: undefined, watchdog: undefined },
    remediation: { streak: 0 },
    history: [],
    opens: { gateway: [], maas: [], telegram: [], watchdog: [] },
    flapping: { gateway: undefined, maas: undefined, telegram: undefined, watchdog: undefined },
    ingress: {},
    outbox: [],
    processedCommands: [],
  };
}
