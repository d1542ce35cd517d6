import type { ParallelProbe } from "../../shared/probes/registry";
import type {
  GatewayResult,
  GatewayStatus,
  MaasResult,
  MaasStatus,
  Observations,
  ProbeResults,
  ServerResult,
  ServerStatus,
  TelegramResult,
  TelegramStatus,
} from "../../shared/probes/types";

/**
 * What the probes find, built for tests of the policy, the cycle and the receiver: one result
 * builder per probe and a healthy cycle. A probe added to ProbeResults is a compile error in
 * HEALTHY until it has a healthy result, so every test's "all fine" cycle includes it.
 */

export function gatewayResult(
  status: GatewayStatus = "ok",
  extra: Partial<GatewayResult> = {},
): GatewayResult {
  return { status, latencyMs: 5, detail: `gateway ${status}`, failing: [], ...extra };
}

export function maasResult(status: MaasStatus = "ok", extra: Partial<MaasResult> = {}): MaasResult {
  return { status, latencyMs: 5, detail: `maas ${status}`, checked: "models", ...extra };
}

export function telegramResult(
  status: TelegramStatus = "ok",
  extra: Partial<TelegramResult> = {},
): TelegramResult {
  return { status, latencyMs: 5, detail: `telegram ${status}`, pendingUpdateCount: 0, ...extra };
}

/** The server as ECS shows it; its detail is the bare status, as a short ECS answer reads. */
export function serverResult(
  status: ServerStatus = "ACTIVE",
  extra: Partial<ServerResult> = {},
): ServerResult {
  return { status, latencyMs: 5, detail: status, ...extra };
}

/** Each probe that runs every cycle (the server is shown only when due), healthy. */
const HEALTHY = {
  gateway: gatewayResult,
  maas: maasResult,
  telegram: telegramResult,
} satisfies { [P in ParallelProbe | "gateway"]: () => ProbeResults[P] };

/** A cycle where every probe that runs each cycle is healthy, with `parts` replacing any. */
export function observations(parts: Partial<Observations> = {}): Observations {
  const healthy = Object.fromEntries(
    Object.entries(HEALTHY).map(([probe, result]) => [probe, result()]),
  ) as Pick<ProbeResults, keyof typeof HEALTHY>;
  return { ...healthy, watchdogErrors: [], ...parts };
}
