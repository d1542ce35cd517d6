import type { ProbeName, ProbeResults } from "./types";

/**
 * What the rest of clawwatch needs to know about each probe, as data (no I/O: the receiver and
 * the config schema read it). `satisfies` makes a probe added to ProbeResults a compile error
 * here until it has its entry, and a status added to a probe one until it has its tone.
 */

/** How a status reads to an operator; /status shows it as an icon. */
export type Tone = "ok" | "waiting" | "warning" | "failing";

type StatusOf<P extends ProbeName> = ProbeResults[P]["status"];

export interface ProbeInfo<P extends ProbeName> {
  /** Default of the config's `probes.<name>Timeout`. */
  timeoutMs: number;
  /**
   * /status: "always" a row (and a part of the one-line summary), "not checked" when it did not
   * run; "when-checked" a row only when it ran.
   */
  row: "always" | "when-checked";
  tones: Record<StatusOf<P>, Tone>;
}

export const PROBE_INFO = {
  gateway: {
    timeoutMs: 5_000,
    row: "always",
    tones: {
      ok: "ok",
      booting: "waiting",
      degraded: "warning",
      misconfigured: "warning",
      down: "failing",
      error: "warning",
    },
  },
  maas: {
    timeoutMs: 10_000,
    row: "always",
    tones: {
      ok: "ok",
      auth: "failing",
      "not-found": "failing",
      "rate-limited": "warning",
      down: "failing",
    },
  },
  telegram: {
    timeoutMs: 5_000,
    row: "always",
    tones: { ok: "ok", "token-revoked": "failing", down: "failing" },
  },
  server: {
    timeoutMs: 8_000,
    row: "when-checked",
    tones: {
      ACTIVE: "ok",
      SHUTOFF: "failing",
      REBOOT: "waiting",
      HARD_REBOOT: "waiting",
      REBUILD: "waiting",
      BUILD: "waiting",
      MIGRATING: "waiting",
      RESIZE: "waiting",
      REVERT_RESIZE: "waiting",
      VERIFY_RESIZE: "waiting",
      ERROR: "failing",
      DELETED: "failing",
      // Shelved: stopped and held by the cloud; a start is not what the watchdog may do.
      SHELVED: "failing",
      SHELVED_OFFLOADED: "failing",
      UNKNOWN: "warning",
      error: "warning",
    },
  },
} as const satisfies { [P in ProbeName]: ProbeInfo<P> };

/** Every probe, in the order logs and /status list them. */
export const PROBES = Object.keys(PROBE_INFO) as ProbeName[];

/** The config key of a probe's time limit. */
export type TimeoutKey = `${ProbeName}Timeout`;

export function timeoutKey<P extends ProbeName>(probe: P): `${P}Timeout` {
  return `${probe}Timeout`;
}

/** A ProbeError: the watchdog could not ask, which says nothing bad about the target yet. */
const PROBE_ERROR_TONE: Tone = "warning";

/**
 * The tone of any probe's status, or of a stored verdict ("ok", a cause, "skipped"): a cause
 * named like a probe status reads like it, anything unknown as failing.
 */
export function toneOf(status: string): Tone {
  if (status === "error") return PROBE_ERROR_TONE;
  for (const probe of PROBES) {
    const tones: Partial<Record<string, Tone>> = PROBE_INFO[probe].tones;
    const tone = tones[status];
    if (tone !== undefined) return tone;
  }
  return "failing";
}
