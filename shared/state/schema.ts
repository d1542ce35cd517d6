import * as z from "zod/mini";
import "../errors/zod-english";
import { boxStateSchema, STATE_VERSION } from "../policy/state";
import type { AuditType, OperatorCommand, operatorSchema } from "../policy/types";

/** The object stored at `<prefix>/<box>/state.json`: the policy's state plus the runner's own. */
export const storedStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  savedAt: z.number().check(z.nonnegative()),
  policy: boxStateSchema,
  probes: z.object({
    /** When MaaS last answered a real chat completion check (they cost tokens). */
    lastCompletionAt: z.optional(z.number().check(z.nonnegative())),
  }),
});
export type StoredState = z.infer<typeof storedStateSchema>;

const whole = z.number().check(z.int());
const instant = z.number().check(z.int(), z.nonnegative());
const note = z.string().check(z.maxLength(500));

/**
 * `<prefix>/_alert-channel.json`: what the watchdog learnt about the alert chat that the config
 * does not say. Telegram moves a group that becomes a supergroup to a new id on its own; the
 * receiver accepts that id and the notifier sends there. A permanent failure (chat not found,
 * bot kicked or blocked, alert token revoked) stays here until a send works again, for
 * diagnose and /status.
 */
export const alertChannelSchema = z.object({
  version: z.literal(1),
  /** The alert chat's current id when Telegram migrated it away from alerts.chatId. */
  chatId: z.optional(whole),
  migratedFrom: z.optional(z.union([whole, z.string().check(z.maxLength(64))])),
  migratedAt: z.optional(instant),
  failure: z.optional(z.object({ at: instant, status: whole, error: note })),
});
export type AlertChannel = z.infer<typeof alertChannelSchema>;

/**
 * The id Telegram moved the configured alert chat to, if it did. A record made for another
 * alerts.chatId (the operator has since pointed the config elsewhere) no longer applies.
 */
export function movedAlertChat(
  channel: AlertChannel | undefined,
  configured: number | string,
): number | undefined {
  if (channel?.chatId === undefined || channel.migratedFrom === undefined) return undefined;
  return String(channel.migratedFrom) === String(configured) ? channel.chatId : undefined;
}

/** One line of the append-only audit log: who did what, why, and how it ended. */
export interface StoredEvent {
  at: number;
  box: string;
  type:
    | AuditType
    | "remediation-done"
    | "remediation-failed"
    | "notified"
    | "notify-failed"
    | "state-reset"
    | "watchdog-error"
    | "alert-chat-migrated"
    | "alert-channel-failed"
    | "alert-channel-restored";
  detail: string;
  component?: string;
  incidentId?: string;
  by?: z.infer<typeof operatorSchema>;
  jobId?: string;
  requestId?: string;
  /** Reboots and rebootstraps: the action and its idempotency key (the budget is rebuilt from them). */
  action?: string;
  key?: string;
}

/** An operator command waiting in OBS, with the object key it came from (to delete it later). */
export interface PendingCommand {
  key: string;
  command: OperatorCommand;
}
