import type { LatencyMeasured } from "./cycle-latency";
import type { MonthMeasured } from "./month";
import { PRICES } from "./prices";
import { type Metrics, metric } from "./report";

/** A one-minute TIMER over 30 days. */
const CYCLES_PER_MONTH = 30 * 24 * 60;
const MAX_OBS_PER_CYCLE = 3;
const MAX_TOKENS_PER_DAY = 2_000;

/**
 * One box for a month at the default settings, priced from counts the other groups measured:
 * the deployed function's warm invocation time and OBS requests per healthy cycle (local
 * FunctionGraph and OBS views), the tokens of the hourly completion (local MaaS usage), and how
 * often the real cycle asks for a completion and what it sends in a month (the simulated month).
 */
export function costPerBoxMonth(latency: LatencyMeasured, month: MonthMeasured): Metrics {
  const fg = PRICES.functionGraph;
  const billedMs =
    Math.ceil(latency.invocationMs / fg.billingGranularityMs) * fg.billingGranularityMs;
  const gbSeconds = (fg.memoryMb / 1024) * (billedMs / 1000) * CYCLES_PER_MONTH;
  const { promptTokens, completionTokens, calls } = latency.completion;
  const perCompletion = calls > 0 ? (promptTokens + completionTokens) / calls : Number.NaN;
  const tokensPerDay = perCompletion * month.completionsPerDay;
  const inputPerDay = calls > 0 ? (promptTokens / calls) * month.completionsPerDay : 0;
  const outputPerDay = calls > 0 ? (completionTokens / calls) * month.completionsPerDay : 0;
  const healthyMessagesPerMonth = latency.healthyMessages * CYCLES_PER_MONTH;

  const usd = {
    fgRequests: (CYCLES_PER_MONTH / 1e6) * fg.usdPerMillionRequests,
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
  const freeTier =
    CYCLES_PER_MONTH <= fg.freeRequestsPerMonth && gbSeconds <= fg.freeGbSecondsPerMonth;
  const afterFreeTier = list - (freeTier ? usd.fgRequests + usd.fgDuration : 0);

  return {
    cost_fg_invocations_per_box_month: metric(
      CYCLES_PER_MONTH,
      "count",
      fg.freeRequestsPerMonth,
      `one TIMER invocation a minute; free tier ${fg.freeRequestsPerMonth.toLocaleString("en-US")} requests/month (bench/prices.ts)`,
    ),
    cost_fg_gb_s_per_box_month: metric(
      gbSeconds,
      "GB-s",
      fg.freeGbSecondsPerMonth,
      `${fg.memoryMb} MB × ${billedMs} ms (median warm invocation) × ${CYCLES_PER_MONTH.toLocaleString("en-US")}; free tier ${fg.freeGbSecondsPerMonth.toLocaleString("en-US")} GB-s/month`,
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
  };
}
