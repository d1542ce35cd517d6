import * as z from "zod/mini";
import "../errors/zod-english";
import {
  type Cause,
  COMPONENTS,
  type Component,
  MANUAL_ACTIONS,
  type ManualAction,
  type Notification,
  type Remediation,
} from "./state";

export const operatorSchema = z.object({
  userId: z.number().check(z.int()),
  username: z.optional(z.string().check(z.maxLength(64))),
});
export type Operator = z.infer<typeof operatorSchema>;

const epochMs = z.number().check(z.nonnegative());

/**
 * What the receiver stores for the watchdog (one OBS object per command). `at`/`until` are epoch
 * ms. Each id is applied once.
 */
export const operatorCommandSchema = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(80)),
  kind: z.enum(["ack", "mute", "unmute", "manual-action"]),
  at: epochMs,
  by: operatorSchema,
  /** ack/mute: end of the pause; without it the config's default applies. */
  until: z.optional(epochMs),
  reason: z.optional(z.string().check(z.maxLength(200))),
  /** manual-action: what the operator had the receiver do. */
  action: z.optional(z.enum(MANUAL_ACTIONS)),
  jobId: z.optional(z.string().check(z.maxLength(80))),
  /** manual-action: ECS refused it after the command was written; nothing to count. */
  failed: z.optional(z.boolean()),
  /** ack: which incident; without it every open incident is acked. */
  incidentComponent: z.optional(z.enum(COMPONENTS)),
  /** ack from a button: incidentRef() of the incident it was drawn for; another one is not acked. */
  incidentRef: z.optional(z.string().check(z.maxLength(16))),
});
export type OperatorCommand = z.infer<typeof operatorCommandSchema>;

export type AuditType =
  | "incident-opened"
  | "incident-resolved"
  | "cause-changed"
  | "remediation-requested"
  | "needs-human"
  | "budget-exhausted"
  | "flapping-started"
  | "flapping-ended"
  | "ack"
  | "ack-expired"
  | "mute"
  | "mute-expired"
  | "unmute"
  | "manual-action"
  | "command-ignored"
  | "state-repaired"
  | "notification-dropped";

export interface AuditEvent {
  type: AuditType;
  component?: Component;
  incidentId?: string;
  /** Why, in one sentence: also what a dry run prints. */
  detail: string;
  by?: Operator;
  /** Reboots and rebootstraps: what was done and its idempotency key, to rebuild the budget. */
  action?: Remediation | ManualAction;
  key?: string;
}

export type Action =
  | {
      kind: "notify";
      notification: Notification;
      /** True when this id was handed out before and is still undelivered (outbox retry). */
      resend: boolean;
      reason: string;
    }
  | {
      kind: "remediate";
      action: Remediation;
      incidentId: string;
      idempotencyKey: string;
      reason: string;
    }
  | { kind: "audit"; event: AuditEvent };

export type Outcome =
  | { kind: "notified"; notificationId: string; messageId?: number }
  | { kind: "notify-failed"; notificationId: string; error: string }
  | { kind: "remediated"; idempotencyKey: string; action: Remediation; jobId?: string }
  | { kind: "remediate-failed"; idempotencyKey: string; action: Remediation; error: string };

/** One component's reading of this cycle's observations. */
export type Verdict =
  | { kind: "ok"; detail: string }
  | {
      kind: "fail";
      cause: Cause;
      detail: string;
      hint?: string;
      /**
       * When the failure began, if before this check: a polling stall is seen only once updates
       * have waited for the whole window, and its incident lasts from when they started waiting.
       */
      since?: number;
    }
  /**
   * Neither a failure nor a success: booting, inside a grace window, not probed, … `unwell`: the
   * target was seen not ready (booting, or failing inside a grace window), so an ok streak ends.
   */
  | { kind: "skip"; detail: string; unwell?: true };

export type Verdicts = Record<Component, Verdict>;
