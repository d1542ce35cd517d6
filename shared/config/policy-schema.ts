import { z } from "zod";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_TEXT = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses "1h30m", "5m", "30s", "250ms", "2d" or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!DURATION_TEXT.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

const DURATION_HELP = 'use milliseconds or text like "30s", "5m", "1h30m"';

/** A duration in milliseconds, written as a number of ms or as text like "5m", "1h30m", "30s". */
export const duration = z
  .union([z.number(), z.string()], { error: `not a duration: ${DURATION_HELP}` })
  .transform((value, ctx) => {
    const ms = typeof value === "number" ? value : parseDuration(value);
    if (ms === undefined || !Number.isInteger(ms) || ms < 0) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(value)} is not a duration: ${DURATION_HELP}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const LADDER_RUNGS = ["soft-reboot", "hard-reboot", "rebootstrap"] as const;

export const policySchema = z.object({
  /** Consecutive failed checks before an incident opens. */
  failureThreshold: z.number().int().min(1).max(100).default(3),
  /** Consecutive ok checks before an open incident resolves. */
  successThreshold: z.number().int().min(1).max(100).default(2),
  /**
   * Failures that cannot be transient (MaaS 401/404, a revoked Telegram token, a misconfigured
   * gateway) open their incident after this many checks; retrying a wrong key changes nothing.
   */
  deterministicFailureThreshold: z.number().int().min(1).max(100).default(1),
  /** After each action, failures do not count until the box had time to boot. */
  grace: z
    .object({
      start: duration.default(3 * MINUTE),
      softReboot: duration.default(5 * MINUTE),
      hardReboot: duration.default(5 * MINUTE),
      rebootstrap: duration.default(15 * MINUTE),
    })
    .prefault({}),
  /** Automatic and manual actions share one budget per rolling window. */
  budget: z
    .object({
      window: duration.default(24 * HOUR),
      /** Soft and hard reboots together. */
      reboots: z.number().int().min(0).max(20).default(3),
      rebootstraps: z.number().int().min(0).max(20).default(1),
    })
    .prefault({}),
  /**
   * The automatic rungs for an ACTIVE server whose gateway is down, in order; after the last one
   * only a human can help. Drop "rebootstrap" for a box without bootstrap user_data.
   */
  ladder: z
    .array(z.enum(LADDER_RUNGS))
    .max(LADDER_RUNGS.length)
    .refine((rungs) => new Set(rungs).size === rungs.length, "list each rung once")
    .default([...LADDER_RUNGS]),
  /** An ack without a duration lasts this long. */
  ackDefault: duration.default(1 * HOUR),
  /** A mute without a duration lasts this long. */
  muteDefault: duration.default(1 * HOUR),
  reminders: z
    .object({
      first: duration.default(30 * MINUTE),
      backoff: z.number().min(1).max(10).default(2),
      max: duration.default(4 * HOUR),
    })
    .prefault({}),
  /**
   * `opens` incidents of one component within `window` switch it to flapping: one message, then
   * no per-flap messages until no incident opened for a whole `window`.
   */
  flapping: z
    .object({
      opens: z.number().int().min(2).max(20).default(4),
      window: duration.default(2 * HOUR),
    })
    .prefault({}),
  /** Telegram updates pending this long while the gateway is ready = the gateway stopped polling. */
  ingressStallAfter: duration.default(2 * MINUTE),
  /** The ECS server is shown every Nth cycle even when the gateway is ok (probe runner). */
  serverCheckEvery: z.number().int().min(1).max(1000).default(10),
});

export type PolicyConfig = z.output<typeof policySchema>;
export type PolicyConfigInput = z.input<typeof policySchema>;
export type LadderRung = (typeof LADDER_RUNGS)[number];

export const defaultPolicyConfig: PolicyConfig = policySchema.parse({});
