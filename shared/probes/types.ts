/**
 * What the probes report and the policy consumes: flat records, errors collected as data.
 * A down target is a result with a status, never an exception.
 */

export const GATEWAY_STATUSES = ["ok", "booting", "degraded", "down", "misconfigured"] as const;
export type GatewayStatus = (typeof GATEWAY_STATUSES)[number];

export const MAAS_STATUSES = ["ok", "auth", "not-found", "rate-limited", "down"] as const;
export type MaasStatus = (typeof MAAS_STATUSES)[number];

export const TELEGRAM_STATUSES = ["ok", "token-revoked", "down"] as const;
export type TelegramStatus = (typeof TELEGRAM_STATUSES)[number];

/**
 * Every `status` of ECS API Reference, Appendix "ECS Statuses" (ecs_08_0002,
 * https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_08_0002.html); what the policy makes of
 * each is the table in test/contract/sdk-models.test.ts.
 */
export const SERVER_STATUSES = [
  "ACTIVE",
  "SHUTOFF",
  "REBOOT",
  "HARD_REBOOT",
  "REBUILD",
  "BUILD",
  "MIGRATING",
  "RESIZE",
  "REVERT_RESIZE",
  "VERIFY_RESIZE",
  "ERROR",
  "DELETED",
  "SHELVED",
  "SHELVED_OFFLOADED",
  "UNKNOWN",
] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

export interface ProbeResult<S extends string> {
  status: S;
  latencyMs: number;
  /** Human text for the operator; never a token, key or full URL with credentials. */
  detail: string;
  /**
   * The failure was a network error (refused, reset, DNS, timeout). The policy reads "every
   * external probe unreachable at once" as the watchdog's own network, never as the box.
   */
  unreachable?: boolean;
}

export interface GatewayResult extends ProbeResult<GatewayStatus> {
  /** `failing` from /readyz (channels or startup steps); empty when ready or unknown. */
  failing: string[];
  httpStatus?: number;
  /**
   * The gateway's `uptimeMs` from /readyz (given to token holders, facts §3): how long this
   * process has run. A smaller value than the time since the last check is a restart the
   * watchdog did not see as an outage (systemd restarts a crashed gateway in ~5 s + its start).
   */
  uptimeMs?: number;
  /**
   * When this gateway process started, by the prober's clock (its answer time − `uptimeMs`), epoch
   * ms. Taken at the answer, so a slow MaaS or Telegram probe in the same cycle does not skew it.
   */
  startedAt?: number;
  /** Nothing listens on the port (connection refused): the process is gone, not hung. */
  refused?: boolean;
}

export interface MaasResult extends ProbeResult<MaasStatus> {
  /** What the operator should change, e.g. the base-URL hint for a 404. */
  hint?: string;
  checked: "models" | "completion";
}

export interface TelegramResult extends ProbeResult<TelegramStatus> {
  /** getWebhookInfo.pending_update_count: updates Telegram holds that nobody fetched yet. */
  pendingUpdateCount?: number;
  webhookUrl?: string;
}

export interface ServerResult extends ProbeResult<ServerStatus> {
  taskState?: string;
}

/**
 * The watchdog itself could not ask (ECS API error, throttling, own timeout). Never a box failure;
 * `unreachable` when the API could not be reached at all.
 */
export interface ProbeError {
  status: "error";
  detail: string;
  unreachable?: boolean;
}

export interface Observations {
  /**
   * A ProbeError when the gateway probe itself could not run (the probe function could not be
   * invoked, timed out or answered nonsense): a watchdog-side error, never a box failure.
   */
  gateway: GatewayResult | ProbeError;
  /** Absent when not probed this cycle. */
  maas?: MaasResult;
  telegram?: TelegramResult;
  /** Absent when not probed this cycle (gateway ok and not the Nth cycle). */
  server?: ServerResult | ProbeError;
  /** Watchdog-side problems ("OBS: …"): logged, never counted as box failures. */
  watchdogErrors: string[];
}

export function isProbeError<T extends { status: string }>(
  result: T | ProbeError | undefined,
): result is ProbeError {
  return result?.status === "error";
}
