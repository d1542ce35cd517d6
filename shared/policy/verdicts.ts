import type { PolicyConfig } from "../config/policy-schema";
import type { GatewayResult, Observations, ProbeError, ServerStatus } from "../probes/types";
import { isProbeError } from "../probes/types";
import type { BoxState } from "./state";
import { actionLabel, formatDuration, formatTime, truncate } from "./text";
import type { Verdict, Verdicts } from "./types";

/**
 * The cloud is changing the server (ECS Statuses, ecs_08_0002): restarting, rebuilding, being
 * created, live migrated ("MIGRATING"), or having its flavor changed, rolled back or verified
 * ("RESIZE", "REVERT_RESIZE", "VERIFY_RESIZE"). Its gateway may be away meanwhile; acting on it
 * would fight the cloud's own operation.
 */
export const BOOTING_SERVER: readonly ServerStatus[] = [
  "REBOOT",
  "HARD_REBOOT",
  "REBUILD",
  "BUILD",
  "MIGRATING",
  "RESIZE",
  "REVERT_RESIZE",
  "VERIFY_RESIZE",
];

/**
 * MaaS and Telegram sit on the public internet; the gateway is reached through the VPC by the
 * gateway-probe function. Both public probes unreachable at once is the watchdog's own network
 * (say, it was given VPC access and so lost the public one), not the box.
 */
export function watchdogNetworkDown(obs: Observations): boolean {
  return obs.maas?.unreachable === true && obs.telegram?.unreachable === true;
}

/** The probe runner shows the ECS server every Nth cycle even when the gateway is ok. */
export function serverCheckDue(state: BoxState, config: PolicyConfig): boolean {
  return state.cycle % config.serverCheckEvery === 0;
}

/** The ingress-stall clock: pending updates on a ready gateway, and since when they have not fallen. */
export type IngressClock = BoxState["ingress"];

export interface Evaluation {
  verdicts: Verdicts;
  ingress: IngressClock;
}

export function evaluate(
  state: BoxState,
  obs: Observations,
  now: number,
  config: PolicyConfig,
): Evaluation {
  const networkDown = watchdogNetworkDown(obs);
  const ingress = nextIngress(state, obs, now);
  const gateway = networkDown
    ? skipUnlessOk(obs.gateway)
    : withGrace(whileBooting(gatewayVerdict(obs, now, ingress, config), obs), state, now);
  return {
    verdicts: {
      gateway,
      maas: networkDown ? skipForNetwork() : maasVerdict(obs),
      telegram: networkDown ? skipForNetwork() : telegramVerdict(obs),
      watchdog: watchdogVerdict(obs, networkDown),
    },
    ingress,
  };
}

function skipForNetwork(): Verdict {
  return { kind: "skip", detail: "not counted: the watchdog's own network is down" };
}

function skipUnlessOk(gateway: GatewayResult | ProbeError): Verdict {
  if (gateway.status === "ok") return { kind: "ok", detail: gateway.detail };
  return { kind: "skip", detail: "not counted: the watchdog's own network is down" };
}

function gatewayVerdict(
  obs: Observations,
  now: number,
  ingress: IngressClock,
  config: PolicyConfig,
): Verdict {
  const gateway = obs.gateway;
  switch (gateway.status) {
    case "error":
      // The watchdog could not look (the probe function failed): the box is not to blame.
      return {
        kind: "skip",
        detail: `not counted: the gateway probe did not run (${gateway.detail})`,
      };
    case "ok":
      return ingressVerdict(obs, now, ingress, config);
    case "booting":
      return { kind: "skip", detail: `booting: ${gateway.detail}`, unwell: true };
    case "degraded":
      return {
        kind: "fail",
        cause: "degraded",
        detail: `failing: ${gateway.failing.join(", ") || "unknown"} (${gateway.detail})`,
      };
    case "misconfigured":
      return { kind: "fail", cause: "misconfigured", detail: gateway.detail };
    case "down":
      return downVerdict(obs);
  }
}

/** Only a gateway that does not answer at all makes the server's own status the story. */
function downVerdict(obs: Observations): Verdict {
  const server = obs.server;
  const detail = obs.gateway.detail;
  if (!server || isProbeError(server)) return { kind: "fail", cause: "down", detail };
  if (server.status === "SHUTOFF") {
    return { kind: "fail", cause: "server-shutoff", detail: `server SHUTOFF; gateway: ${detail}` };
  }
  if (server.status === "ERROR") {
    return { kind: "fail", cause: "server-error", detail: `server ERROR: ${server.detail}` };
  }
  if (server.status === "DELETED") {
    return { kind: "fail", cause: "server-deleted", detail: `server DELETED: ${server.detail}` };
  }
  return { kind: "fail", cause: "down", detail };
}

/** A server the cloud is changing (BOOTING_SERVER) is booting, whatever its gateway says now. */
function whileBooting(verdict: Verdict, obs: Observations): Verdict {
  const server = obs.server;
  if (verdict.kind !== "fail" || !server || isProbeError(server)) return verdict;
  if (!BOOTING_SERVER.includes(server.status)) return verdict;
  return {
    kind: "skip",
    detail: `server ${server.status}: booting (${truncate(verdict.detail, 120)})`,
    unwell: true,
  };
}

/**
 * A stall needs evidence that the gateway stopped consuming, not just pending updates: the count
 * has not fallen for the window, and the window depends on whether the count fits in what a busy
 * gateway holds unconfirmed (see PolicyConfig.ingressStallAfter).
 */
function ingressVerdict(
  obs: Observations,
  now: number,
  ingress: IngressClock,
  config: PolicyConfig,
): Verdict {
  const since = ingress.pendingSince;
  if (since === undefined) return { kind: "ok", detail: obs.gateway.detail };
  const telegram = obs.telegram;
  const pending = telegram?.status === "ok" ? (telegram.pendingUpdateCount ?? 0) : 0;
  const held = now - since;
  const busyLooking = pending <= config.ingressConcurrency;
  const window = busyLooking
    ? Math.max(config.ingressStallAfter, config.ingressLongestTurn)
    : config.ingressStallAfter;
  if (held < window) return { kind: "ok", detail: obs.gateway.detail };
  if (pending === 0) {
    // Stall suspected, but Telegram could not confirm it this cycle: neither good nor bad news.
    return { kind: "skip", detail: "Telegram updates were pending; not confirmed this cycle" };
  }
  const why = busyLooking
    ? `longer than an agent turn may take (${formatDuration(config.ingressLongestTurn)})`
    : `more than the gateway's ${config.ingressConcurrency} concurrent turns can hold`;
  return {
    kind: "fail",
    cause: "ingress-stalled",
    since,
    detail: `${pending} Telegram update(s) pending, none confirmed for ${formatDuration(held)} (${why}) while /readyz says ready`,
  };
}

/**
 * The stall clock runs only while the gateway is ready and Telegram reports pending updates. A
 * count lower than the last one means the gateway confirmed updates: it consumes, so the clock
 * starts again. An unknown count (Telegram not probed or failing) leaves the clock as it was.
 */
function nextIngress(state: BoxState, obs: Observations, now: number): IngressClock {
  // Not looked at this cycle: the stall clock neither starts again nor runs on evidence.
  if (obs.gateway.status === "error") return { ...state.ingress };
  if (obs.gateway.status !== "ok") return {};
  const telegram = obs.telegram;
  if (telegram?.status !== "ok" || telegram.pendingUpdateCount === undefined) {
    return { ...state.ingress };
  }
  const count = telegram.pendingUpdateCount;
  if (count <= 0) return {};
  const { pendingSince, lastCount } = state.ingress;
  const fell = lastCount !== undefined && count < lastCount;
  return {
    pendingSince: pendingSince === undefined || fell ? now : pendingSince,
    lastCount: count,
  };
}

/**
 * Failures inside the window after an action are the boot the action caused, not news. They still
 * end an ok streak: a gateway that answers once between crashes has not recovered.
 */
function withGrace(verdict: Verdict, state: BoxState, now: number): Verdict {
  const { graceUntil, graceAction } = state.remediation;
  if (verdict.kind !== "fail" || graceUntil === undefined || now >= graceUntil) return verdict;
  const after = graceAction ? ` after ${actionLabel(graceAction)}` : "";
  return {
    kind: "skip",
    detail: `not counted: grace${after} until ${formatTime(graceUntil)} (${verdict.cause}: ${truncate(verdict.detail, 120)})`,
    unwell: true,
  };
}

function maasVerdict(obs: Observations): Verdict {
  const maas = obs.maas;
  if (!maas) return { kind: "skip", detail: "not probed this cycle" };
  if (maas.status === "ok") return { kind: "ok", detail: maas.detail };
  const cause = maas.status === "down" ? "maas-down" : maas.status;
  return maas.hint
    ? { kind: "fail", cause, detail: maas.detail, hint: maas.hint }
    : { kind: "fail", cause, detail: maas.detail };
}

function telegramVerdict(obs: Observations): Verdict {
  const telegram = obs.telegram;
  if (!telegram) return { kind: "skip", detail: "not probed this cycle" };
  if (telegram.status === "ok") return { kind: "ok", detail: telegram.detail };
  const cause = telegram.status === "down" ? "telegram-down" : "token-revoked";
  return { kind: "fail", cause, detail: telegram.detail };
}

function watchdogVerdict(obs: Observations, networkDown: boolean): Verdict {
  if (networkDown) {
    return {
      kind: "fail",
      cause: "network",
      detail: `MaaS: ${obs.maas?.detail ?? "?"}; Telegram: ${obs.telegram?.detail ?? "?"}`,
    };
  }
  if (isProbeError(obs.gateway)) {
    return { kind: "fail", cause: "probe-unavailable", detail: obs.gateway.detail };
  }
  const external = [obs.maas, obs.telegram].filter((r) => r !== undefined);
  if (external.some((r) => r.unreachable !== true)) {
    return { kind: "ok", detail: "the internet is reachable from the function" };
  }
  return { kind: "skip", detail: "not enough external probes this cycle to judge" };
}
