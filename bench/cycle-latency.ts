import { join } from "node:path";
import { invoke } from "../infra/deploy/functions";
import { deployWatchdogLocally } from "../infra/local/product";
import { probesSchema } from "../shared/config/schema";
import type { CycleReport } from "../shared/watchdog/cycle";
import type { FleetReport } from "../shared/watchdog/fleet";
import {
  alertMessages,
  type BenchCloud,
  invocations,
  LATENCY,
  maasTotals,
  obsRequests,
} from "./bench-cloud";
import { type Metrics, median, metric } from "./report";

const FUNCTION = "clawwatch-watchdog";
const PROBE_FUNCTION = "clawwatch-gateway-probe";
/** Issue 11: the healthy cycle with the probe function's invoke in it, against the same floor. */
const TARGET_RATIO_WITH_INVOKE = 1.2;
/** Warm healthy cycles measured after the cold first one. */
const HEALTHY = 12;
const TARGET_RATIO = 1.15;

/** What the cost metrics reuse: counts measured on the deployed function. */
export interface LatencyMeasured {
  /** Median duration of a warm healthy invocation, as the local FunctionGraph bills it. */
  invocationMs: number;
  /** The same for the gateway-probe function the watchdog invokes once per box and cycle. */
  probeInvocationMs: number;
  obsRequestsPerCycle: number;
  /** Tokens of the one hourly completion the first cycle ran. */
  completion: { promptTokens: number; completionTokens: number; calls: number };
  /** Alert-bot messages during the healthy cycles (none is expected). */
  healthyMessages: number;
}

/**
 * The watchdog deployed to the local FunctionGraph with the default config for one box, under
 * issue 7's latencies, invoked through the FunctionGraph SDK like a manual `cycle`. The floor is
 * what no implementation can beat: the slowest probe (MaaS /models; the probes run in parallel)
 * plus one OBS read (state GET and commands LIST run in parallel) plus one OBS write.
 */
export async function measureCycleLatency(
  bench: BenchCloud,
): Promise<{ metrics: Metrics; measured: LatencyMeasured }> {
  const { cloud } = bench;
  const e = await bench.boxes(1);
  const { target } = await deployWatchdogLocally(e, { outDir: join(bench.dir, "dist") });
  const run = () => invoke<FleetReport>(target, FUNCTION, { command: "cycle" });
  const lastInvocation = async () => (await invocations(cloud, FUNCTION)).at(-1);
  const lastProbe = async () => (await invocations(cloud, PROBE_FUNCTION)).at(-1);

  await cloud.control("maas", "clear-usage");
  const first = await run();
  const cold = await lastInvocation();
  const completion = await maasTotals(cloud);

  const messagesBefore = await alertMessages(cloud);
  await cloud.control("obs", "clear-requests");
  const cycles: CycleReport[] = [];
  const invocationMs: number[] = [];
  const probeMs: number[] = [];
  for (let i = 0; i < HEALTHY; i++) {
    const report = await run();
    const box = report.boxes[0];
    if (!box) throw new Error("the watchdog reported no box");
    if (box.errors.length > 0 || box.observations?.gateway.status !== "ok") {
      throw new Error(
        `cycle ${i + 1} was not healthy: ${JSON.stringify(box.errors)} ${box.observations?.gateway.detail ?? ""}`,
      );
    }
    cycles.push(box);
    invocationMs.push((await lastInvocation())?.durationMs ?? Number.NaN);
    probeMs.push((await lastProbe())?.durationMs ?? Number.NaN);
  }
  const obsPerCycle = (await obsRequests(cloud)) / HEALTHY;
  const healthyMessages = (await alertMessages(cloud)) - messagesBefore;

  const probes = probesSchema.parse({});
  const serverId = e.boxes[0]?.serverId;
  await cloud.control("ecs", "hang", { serverId });
  let hung: CycleReport | undefined;
  let hungInvocation: number | undefined;
  try {
    hung = (await run()).boxes[0];
    hungInvocation = (await lastInvocation())?.durationMs;
  } finally {
    await cloud.control("ecs", "resume", { serverId });
  }

  const floor = Math.max(LATENCY.gatewayMs, LATENCY.maasMs, LATENCY.telegramMs) + 2 * LATENCY.obsMs;
  const cycleMs = median(cycles.map((c) => c.durationMs));
  const invokeMs = median(invocationMs);
  const probeInvokeMs = median(probeMs);
  const probeMedians = (["gateway", "maas", "telegram"] as const)
    .map((p) => `${p} ${median(cycles.map((c) => latencyOf(c.observations?.[p])))} ms`)
    .join(", ");
  const hangFloor = 2 * probes.gatewayTimeout + probes.retryDelay;
  const firstBox = first.boxes[0];

  const metrics: Metrics = {
    cycle_floor_ms: metric(
      floor,
      "ms",
      null,
      `max(gateway ${LATENCY.gatewayMs}, MaaS ${LATENCY.maasMs}, Telegram ${LATENCY.telegramMs}) + OBS read ${LATENCY.obsMs} + OBS write ${LATENCY.obsMs}`,
    ),
    cycle_healthy_ms: metric(
      cycleMs,
      "ms",
      null,
      `median FleetReport durationMs of ${HEALTHY} warm cycles; probe latencies (median): ${probeMedians}`,
    ),
    cycle_healthy_floor_ratio: metric(
      cycleMs / floor,
      "x",
      TARGET_RATIO,
      "the cycle's own duration ÷ floor",
    ),
    cycle_healthy_with_probe_invoke_floor_ratio: metric(
      cycleMs / floor,
      "x",
      TARGET_RATIO_WITH_INVOKE,
      `the cycle's duration, the gateway seen through the gateway-probe function (median probe invocation ${probeInvokeMs} ms, its own /readyz included), ÷ floor; issue 11 target`,
    ),
    cycle_probe_invocation_ms: metric(
      probeInvokeMs,
      "ms",
      null,
      `median duration of the gateway-probe function's invocations in the same ${HEALTHY} cycles (local FunctionGraph)`,
    ),
    cycle_healthy_invocation_ms: metric(
      invokeMs,
      "ms",
      null,
      `median duration of the same ${HEALTHY} invocations in the local FunctionGraph (handler start to result)`,
    ),
    cycle_healthy_invocation_floor_ratio: metric(
      invokeMs / floor,
      "x",
      TARGET_RATIO,
      "the invocation's duration ÷ floor",
    ),
    cycle_cold_invocation_ms: metric(
      cold?.durationMs ?? null,
      "ms",
      null,
      `first invocation of a new instance (coldStart ${String(cold?.coldStart)}): loads the bundle, shows the ECS server (loads the ECS chunk) and runs the hourly completion; cycle ${firstBox?.durationMs ?? "?"} ms`,
    ),
    cycle_hung_gateway_ms: metric(
      hung?.durationMs ?? null,
      "ms",
      Math.round(hangFloor * 1.1),
      `gateway SIGSTOPped (ecs hang): floor = gatewayTimeout ${probes.gatewayTimeout} + retryDelay ${probes.retryDelay} + gatewayTimeout ${probes.gatewayTimeout} = ${hangFloor} ms, target floor + 10 %; gateway verdict ${hung?.observations?.gateway.status ?? "?"}, invocation ${hungInvocation ?? "?"} ms`,
    ),
  };
  return {
    metrics,
    measured: {
      invocationMs: invokeMs,
      probeInvocationMs: probeInvokeMs,
      obsRequestsPerCycle: obsPerCycle,
      completion: {
        promptTokens: completion.promptTokens,
        completionTokens: completion.completionTokens,
        calls: completion.chat,
      },
      healthyMessages,
    },
  };
}

function latencyOf(result: object | undefined): number {
  return result && "latencyMs" in result && typeof result.latencyMs === "number"
    ? result.latencyMs
    : Number.NaN;
}
