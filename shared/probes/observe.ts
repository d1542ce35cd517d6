import type { Compute } from "../cloud/compute";
import type { BoxConfig, Config } from "../config";
import type { Logger } from "../runtime/logger";
import { PROBES, type TimeoutKey } from "./catalog";
import { directGatewayProbe, type GatewayProbe } from "./gateway-port";
import { safeDetail } from "./http";
import { runParallelProbes } from "./registry";
import { probeServer } from "./server";
import type { GatewayResult, Observations, ProbeError, ServerResult } from "./types";

export type ProbeSettings = Pick<Config["probes"], TimeoutKey | "retryDelay">;

export interface ObserveDeps {
  probes: ProbeSettings;
  /** Bot API root for the gateway's bot (the alert config's `apiRoot`). */
  telegramApiRoot: string;
  /** Lazy: loading the ECS SDK costs ~85 ms, so it is built only when the server is probed. */
  compute: () => Promise<Compute>;
  /** Each probe's result at debug level (results never hold secrets). */
  logger?: Logger;
  /** How the gateway is asked; default: directly, from this process. */
  gateway?: GatewayProbe;
}

export interface ObservePlan {
  /** Show the ECS server even when the gateway is ok (every Nth cycle). */
  serverDue: boolean;
  /** Run the tiny MaaS chat completion this cycle (every `completionEvery`). */
  completionDue: boolean;
}

/**
 * One box's probes for one cycle. The gateway and the parallel probes (registry.ts) run at once;
 * the server probe starts with them when due, or as soon as the gateway turns out not ok. Never
 * throws.
 */
export async function observe(
  box: BoxConfig,
  deps: ObserveDeps,
  plan: ObservePlan,
): Promise<Observations> {
  const { probes } = deps;
  const probeGateway =
    deps.gateway ??
    directGatewayProbe({ timeoutMs: probes.gatewayTimeout, retryDelayMs: probes.retryDelay });
  const gatewayRun = probeGateway(box);
  const serverRun = plan.serverDue
    ? showServer(box, deps)
    : gatewayRun.then((gateway) => (needsServer(gateway) ? showServer(box, deps) : undefined));
  const [gateway, parallel, server] = await Promise.all([
    gatewayRun,
    runParallelProbes(box, deps, plan),
    serverRun,
  ]);
  const observations: Observations = { gateway, ...parallel, watchdogErrors: [] };
  if (server !== undefined) observations.server = server;
  log(deps.logger, box.name, observations);
  return observations;
}

/** The probe function failing says nothing about the box, but the server's status still may. */
function needsServer(gateway: GatewayResult | ProbeError): boolean {
  return gateway.status !== "ok";
}

async function showServer(box: BoxConfig, deps: ObserveDeps): Promise<ServerResult | ProbeError> {
  let compute: Compute;
  try {
    compute = await deps.compute();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { status: "error", detail: safeDetail(`ECS client unavailable: ${reason}`) };
  }
  return probeServer(compute, box.serverId, {
    timeoutMs: deps.probes.serverTimeout,
    retryDelayMs: deps.probes.retryDelay,
  });
}

function log(logger: Logger | undefined, box: string, obs: Observations): void {
  if (logger === undefined) return;
  for (const probe of PROBES) {
    const result = obs[probe];
    if (result === undefined) continue;
    logger.debug("probe", {
      box,
      probe,
      status: result.status,
      latencyMs: "latencyMs" in result ? result.latencyMs : undefined,
      detail: result.detail,
    });
  }
}
