import * as z from "zod/mini";
import "../errors/zod-english";
import { type GraceKey, LADDER_RUNGS } from "../policy/catalog";

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
export const duration = z.pipe(
  z.union([z.number(), z.string()], { error: `not a duration: ${DURATION_HELP}` }),
  z.transform((value: number | string, ctx) => {
    const ms = typeof value === "number" ? value : parseDuration(value);
    if (ms === undefined || !Number.isInteger(ms) || ms < 0) {
      // zod/mini's transform context has no addIssue: push the issue classic zod's addIssue made.
      ctx.issues.push({
        code: "custom",
        message: `${JSON.stringify(value)} is not a duration: ${DURATION_HELP}`,
        input: value,
      });
      return z.NEVER;
    }
    return ms;
  }),
);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export { LADDER_RUNGS, type LadderRung } from "../policy/catalog";

/** One grace period per key the action catalog names (shared/policy/catalog.ts), no more. */
const graceShape = {
  start: z._default(duration, 3 * MINUTE),
  softReboot: z._default(duration, 5 * MINUTE),
  hardReboot: z._default(duration, 5 * MINUTE),
  rebootstrap: z._default(duration, 15 * MINUTE),
} satisfies Record<GraceKey, unknown>;

/** An integer from `min` to `max` (checked in classic zod's .int().min().max() order). */
function intIn(min: number, max: number) {
  return z.number().check(z.int(), z.gte(min), z.lte(max));
}

export const policySchema = z.strictObject({
  /** Consecutive failed checks before an incident opens. */
  failureThreshold: z._default(intIn(1, 100), 3),
  /** Consecutive ok checks before an open incident resolves. */
  successThreshold: z._default(intIn(1, 100), 2),
  /**
   * Failures that cannot be transient (MaaS 401/404, a revoked Telegram token, a misconfigured
   * gateway) open their incident after this many checks; retrying a wrong key changes nothing.
   */
  deterministicFailureThreshold: z._default(intIn(1, 100), 1),
  /** After each action, failures do not count until the box had time to boot. */
  grace: z.prefault(z.strictObject(graceShape), {}),
  /** Automatic and manual actions share one budget per rolling window. */
  budget: z.prefault(
    z.strictObject({
      window: z._default(duration, 24 * HOUR),
      /** Soft and hard reboots together. */
      reboots: z._default(intIn(0, 20), 3),
      rebootstraps: z._default(intIn(0, 20), 1),
    }),
    {},
  ),
  /**
   * The automatic rungs for an ACTIVE server whose gateway is down, in order; after the last one
   * only a human can help. Drop "rebootstrap" for a box without bootstrap user_data.
   */
  ladder: z._default(
    z.array(z.enum(LADDER_RUNGS)).check(
      z.maxLength(LADDER_RUNGS.length),
      z.refine((rungs) => new Set(rungs).size === rungs.length, "list each rung once"),
    ),
    [...LADDER_RUNGS],
  ),
  /** An ack without a duration lasts this long. */
  ackDefault: z._default(duration, 1 * HOUR),
  /** A mute without a duration lasts this long. */
  muteDefault: z._default(duration, 1 * HOUR),
  reminders: z.prefault(
    z.strictObject({
      first: z._default(duration, 30 * MINUTE),
      backoff: z._default(z.number().check(z.gte(1), z.lte(10)), 2),
      max: z._default(duration, 4 * HOUR),
    }),
    {},
  ),
  /**
   * `opens` incidents of one component within `window` switch it to flapping: one message, then
   * no per-flap messages until no incident opened for a whole `window`.
   */
  flapping: z.prefault(
    z.strictObject({
      opens: z._default(intIn(2, 20), 4),
      window: z._default(duration, 2 * HOUR),
    }),
    {},
  ),
  /**
   * The box's own repair path: systemd restarts a gateway that exits or is killed
   * (Restart=always, RestartSec=5), and it is ready again 25–35 s later on 2 cores.
   */
  selfRestart: z.prefault(
    z.object({
      /**
       * A gateway outage must last this long before its incident opens (and so before the first
       * action): RestartSec 5 s + a 25–35 s start, with room for a loaded box. At the default
       * 1-minute period the third failed check comes 2 min after the first anyway; this holds when
       * checks come faster (an in-invocation confirmation re-probes within 20 s).
       */
      window: z._default(duration, 90_000),
      /** This many restarts the gateway came back from by itself within `period`: one warning. */
      warnAfter: z._default(intIn(1, 20), 3),
      period: z._default(duration, 1 * HOUR),
      /** How far two readings of the gateway's start time may differ without being a restart. */
      uptimeSlack: z._default(duration, 10_000),
    }),
    {},
  ),
  /**
   * The ingress stall. Telegram's pending_update_count also counts updates the gateway fetched
   * and has not confirmed yet (the next getUpdates offset confirms them), so a count above 0 is
   * no stall by itself; only a count that never falls is. grammY's runner (OpenClaw's
   * extensions/telegram monitor: `sink: { concurrency: resolveAgentMaxConcurrent(cfg) }`) calls
   * getUpdates only when a slot is free, and asks for at most as many updates as are free, so a
   * gateway whose slots are all in long agent turns holds up to `ingressConcurrency` updates
   * unconfirmed until a turn ends. Hence: a count that has not fallen for `ingressStallAfter`
   * and exceeds `ingressConcurrency` is a stall (more waits than the gateway can be working on);
   * a smaller count is one only once it has not fallen for `ingressLongestTurn`.
   * (OpenClaw 2026.9.6's isolated polling spool confirms every update within ~0.1 s even while
   * busy, measured; a count that does not fall means polling stopped.)
   */
  ingressStallAfter: z._default(duration, 2 * MINUTE),
  /** OpenClaw's agents.defaults.maxConcurrent (DEFAULT_AGENT_MAX_CONCURRENT = 4). */
  ingressConcurrency: z._default(intIn(1, 1000), 4),
  /**
   * The longest an agent turn may hold a fetched update: OpenClaw's channel ingress retries a
   * handler after 300 s ("claim→adoption stalled … after 300000ms"); with margin, 10 m.
   */
  ingressLongestTurn: z._default(duration, 10 * MINUTE),
  /** The ECS server is shown every Nth cycle even when the gateway is ok (probe runner). */
  serverCheckEvery: z._default(intIn(1, 1000), 10),
});

export type PolicyConfig = z.output<typeof policySchema>;
export type PolicyConfigInput = z.input<typeof policySchema>;

export const defaultPolicyConfig: PolicyConfig = policySchema.parse({});
