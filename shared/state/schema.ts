import * as z from "zod/mini";
import "../errors/zod-english";
import { boxStateSchema } from "../policy/state";
import type { AuditType, OperatorCommand, operatorSchema } from "../policy/types";

/** The object stored at `<prefix>/<box>/state.json`: the policy's state plus the runner's own. */
export const storedStateSchema = z.object({
  version: z.literal(1),
  savedAt: z.number().check(z.nonnegative()),
  policy: boxStateSchema,
  probes: z.object({
    /** When MaaS last answered a real chat completion check (they cost tokens). */
    lastCompletionAt: z.optional(z.number().check(z.nonnegative())),
  }),
});
export type StoredState = z.infer<typeof storedStateSchema>;

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
    | "watchdog-error";
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
