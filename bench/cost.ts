import type { LatencyMeasured } from "./cycle-latency";
import type { MonthMeasured } from "./month";
import { PRICES } from "./prices";
import { type Metrics, metric } from "./report";

/** A one-minute TIMER over 30 days. */
const CYCLES_PER_MONTH = 30 * 24 * 60;
const MAX_OBS_PER_CYCLE = 3;
const MAX_TOKENS_PER_DAY = 2_000;
/** The whole bill of clawwatch's own parts for one box (issue 11). */
const MAX_TOTAL_USD = 1;
/**
 * Receiver invocations a month: a model, not a measurement (operators' commands and buttons,
 * ten a day is a busy box); each priced like a watchdog cycle (`/status` runs one).
 */
const RECEIVER_CALLS_PER_MONTH = 300;
/** The gateway-probe function's memory, as infra/deploy/probe.ts deploys it. */
const PROBE_MEMORY_MB = 128;

/**
 * One box for a month at the default settings, priced from counts the other groups measured:
 * the deployed function's warm invocation time and OBS requests per healthy cycle (local
 * FunctionGraph and OBS views), the tokens of the hourly completion (local MaaS usage), and how
 * often the real cycle asks for a completion and what it sends in a month (the simulated month).
 */
export function costPerBoxMonth(latency: LatencyMeasured, month: MonthMeasured): Metrics {
  const fg = PRICES.functionGraph;
  const billed = (ms: number) => Math.ceil(ms / fg.billingGranularityMs) * fg.billingGranularityMs;
  const billedMs = billed(latency.invocationMs);
  const probeBilledMs = billed(latency.probeInvocationMs);
  const watchdogGbSeconds = (fg.memoryMb / 1024) * (billedMs / 1000) * CYCLES_PER_MONTH;
  // One probe invocation per box and cycle; the receiver now and then.
  const probeGbSeconds = (PROBE_MEMORY_MB / 1024) * (probeBilledMs / 1000) * CYCLES_PER_MONTH;
  const receiverGbSeconds = (fg.memoryMb / 1024) * (billedMs / 1000) * RECEIVER_CALLS_PER_MONTH;
  const gbSeconds = watchdogGbSeconds + probeGbSeconds + receiverGbSeconds;
  const requests = 2 * CYCLES_PER_MONTH + RECEIVER_CALLS_PER_MONTH;
  const { promptTokens, completionTokens, calls } = latency.completion;
  const perCompletion = calls > 0 ? (promptTokens + completionTokens) / calls : Number.NaN;
  const tokensPerDay = perCompletion * month.completionsPerDay;
  const inputPerDay = calls > 0 ? (promptTokens / calls) * month.completionsPerDay : 0;
  const outputPerDay = calls > 0 ? (completionTokens / calls) * month.completionsPerDay : 0;
  const healthyMessagesPerMonth = latency.healthyMessages * CYCLES_PER_MONTH;

  const usd = {
    fgRequests: (requests / 1e6) * fg.usdPerMillionRequests,
    fgDuration: gbSeconds * fg.usdPerGbSecond,
    obsRequests: (month.obsRequestsPerMonth / 1000) * PRICES.obs.usdPerThousandRequests,
    // state.json is a few KB, billed as the 64 KB minimum; the crash month's audit objects too.
    obsStorage: (PRICES.obs.minBillableObjectBytes / 1024 ** 3) * PRICES.obs.usdPerGbMonth,
    maas:
      30 *
      ((inputPerDay / 1000) * PRICES.maas.usdPerThousandInputTokens +
        (outputPerDay / 1000) * PRICES.maas.usdPerThousandOutputTokens),
    telegram: month.crashMonthMessages * PRICES.telegram.usdPerMessage,
  };
  const list = Object.values(usd).reduce((a, b) => a + b, 0);
  const freeTier = requests <= fg.freeRequestsPerMonth && gbSeconds <= fg.freeGbSecondsPerMonth;
  const afterFreeTier = list - (freeTier ? usd.fgRequests + usd.fgDuration : 0);
  // Before issue 11 the VPC-attached watchdog needed a public NAT gateway and its EIP; now no
  // function needs public access from inside the VPC, so the networking costs nothing.
  const net = PRICES.network;
  const natBefore = 30 * net.natGatewaySmallUsdPerDay + net.eipUsdPerMonth;
  const networkNow = 0;
  const total = afterFreeTier + networkNow;

  return {
    cost_fg_invocations_per_box_month: metric(
      requests,
      "count",
      fg.freeRequestsPerMonth,
      `watchdog TIMER once a minute + one gateway-probe invoke per cycle + ${RECEIVER_CALLS_PER_MONTH} receiver calls (a model); free tier ${fg.freeRequestsPerMonth.toLocaleString("en-US")} requests/month (bench/prices.ts)`,
    ),
    cost_fg_gb_s_per_box_month: metric(
      gbSeconds,
      "GB-s",
      fg.freeGbSecondsPerMonth,
      `watchdog ${fg.memoryMb} MB × ${billedMs} ms + probe ${PROBE_MEMORY_MB} MB × ${probeBilledMs} ms (median warm invocations) × ${CYCLES_PER_MONTH.toLocaleString("en-US")}, receiver ${RECEIVER_CALLS_PER_MONTH} × ${billedMs} ms; free tier ${fg.freeGbSecondsPerMonth.toLocaleString("en-US")} GB-s/month`,
    ),
    cost_obs_requests_per_healthy_cycle: metric(
      latency.obsRequestsPerCycle,
      "count",
      MAX_OBS_PER_CYCLE,
      "local OBS `requests` view over the warm healthy cycles",
    ),
    cost_obs_requests_per_box_month: metric(
      month.obsRequestsPerMonth,
      "count",
      null,
      "simulated crash month, each store call counted as obs-store.ts issues it (events are one PUT each)",
    ),
    cost_maas_tokens_per_day: metric(
      tokensPerDay,
      "tokens",
      MAX_TOKENS_PER_DAY,
      `${perCompletion} tokens per completion (local MaaS usage: ceil(chars/4); a real tokenizer adds the chat template, ~10 more) × ${month.completionsPerDay.toFixed(2)} completions/day (simulated month with 5 % loss, retries included)`,
    ),
    cost_telegram_messages_per_box_month: metric(
      healthyMessagesPerMonth,
      "count",
      null,
      `healthy month; the month with 20 crashes sent ${month.crashMonthMessages} (Bot API: no charge)`,
    ),
    cost_usd_per_box_month_list: metric(
      list,
      "USD",
      null,
      `without any free tier: FunctionGraph requests $${usd.fgRequests.toFixed(4)} + duration $${usd.fgDuration.toFixed(4)}, OBS requests $${usd.obsRequests.toFixed(4)} + storage $${usd.obsStorage.toFixed(6)}, MaaS $${usd.maas.toFixed(4)}`,
    ),
    cost_usd_per_box_month: metric(
      afterFreeTier,
      "USD",
      null,
      freeTier
        ? "FunctionGraph inside its free tier; OBS and MaaS at list price"
        : "FunctionGraph exceeds its free tier: billed in full here",
    ),
    cost_network_usd_per_box_month_before: metric(
      natBefore,
      "USD",
      null,
      `the NAT gateway (30 × $${net.natGatewaySmallUsdPerDay}/day, small) + EIP ($${net.eipUsdPerMonth}/month) a VPC-attached watchdog needed; placeholders, not verified (bench/prices.ts)`,
    ),
    cost_total_usd_per_box_month: metric(
      total,
      "USD",
      MAX_TOTAL_USD,
      `everything clawwatch's own parts cost per box-month with the free tier: three functions, OBS, MaaS tokens, networking $${networkNow} (only the gateway-probe function is in the VPC and needs no internet: no NAT gateway, no EIP; before: $${natBefore.toFixed(2)})`,
    ),
  };
}
