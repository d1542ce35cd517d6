import type { BoxConfig } from "../config";
import { probeMaas } from "./maas";
import type { ObserveDeps, ObservePlan } from "./observe";
import { probeTelegram } from "./telegram";
import type { ProbeName, ProbeResults } from "./types";

/**
 * How each probe is called. The gateway, and the server it runs on, are asked in sequence (the
 * server when due or when the gateway is not ok: observe.ts); every other probe runs in parallel
 * with them and is listed here, so a probe added to ProbeResults is a compile error until it is.
 */
export type GatewaySide = "gateway" | "server";
export type ParallelProbe = Exclude<ProbeName, GatewaySide>;

type ProbeCall<P extends ProbeName> = (
  box: BoxConfig,
  deps: ObserveDeps,
  plan: ObservePlan,
) => Promise<ProbeResults[P]>;

export const PARALLEL_PROBES = {
  maas: (box, { probes }, plan) =>
    probeMaas({
      baseUrl: box.maas.baseUrl,
      apiKey: box.maas.apiKey,
      model: box.maas.model,
      timeoutMs: probes.maasTimeout,
      retryDelayMs: probes.retryDelay,
      completion: plan.completionDue,
    }),
  telegram: (box, { probes, telegramApiRoot }) =>
    probeTelegram({
      apiRoot: telegramApiRoot,
      botToken: box.telegram.botToken,
      timeoutMs: probes.telegramTimeout,
      retryDelayMs: probes.retryDelay,
    }),
} satisfies { [P in ParallelProbe]: ProbeCall<P> };

/** Every parallel probe's result; never throws (each probe returns its failure as data). */
export async function runParallelProbes(
  box: BoxConfig,
  deps: ObserveDeps,
  plan: ObservePlan,
): Promise<Pick<ProbeResults, ParallelProbe>> {
  const names = Object.keys(PARALLEL_PROBES) as ParallelProbe[];
  const results = await Promise.all(names.map((name) => PARALLEL_PROBES[name](box, deps, plan)));
  // Object.keys loses the key type; the satisfies above guarantees one result per parallel probe.
  return Object.fromEntries(names.map((name, i) => [name, results[i]])) as Pick<
    ProbeResults,
    ParallelProbe
  >;
}
